import { BoundedQueue } from './bounded-queue.js';

type Step = ['push', number] | ['shift'] | ['unshiftAll', number[]];

describe('BoundedQueue', () => {
  it.each<{ desc: string; capacity: number; steps: Step[]; contents: number[]; dropped: number }>([
    { desc: 'keeps order below capacity', capacity: 3, steps: [['push', 1], ['push', 2]], contents: [1, 2], dropped: 0 },
    { desc: 'drops the oldest when full', capacity: 3, steps: [['push', 1], ['push', 2], ['push', 3], ['push', 4], ['push', 5]], contents: [3, 4, 5], dropped: 2 },
    { desc: 'wraps around after shifts', capacity: 2, steps: [['push', 1], ['shift'], ['push', 2], ['push', 3]], contents: [2, 3], dropped: 0 },
    { desc: 'puts items back at the front in order', capacity: 5, steps: [['push', 3], ['unshiftAll', [1, 2]]], contents: [1, 2, 3], dropped: 0 },
    { desc: 'put-back overflow drops the oldest put-back items', capacity: 3, steps: [['push', 4], ['push', 5], ['unshiftAll', [1, 2, 3]]], contents: [3, 4, 5], dropped: 2 },
    { desc: 'put-back into a full queue drops them all', capacity: 2, steps: [['push', 3], ['push', 4], ['unshiftAll', [1, 2]]], contents: [3, 4], dropped: 2 },
  ])('$desc', ({ capacity, steps, contents, dropped }) => {
    const queue = new BoundedQueue<number>(capacity);
    let droppedSeen = 0;
    for (const step of steps) {
      if (step[0] === 'push') droppedSeen += queue.push(step[1]);
      else if (step[0] === 'shift') queue.shift();
      else droppedSeen += queue.unshiftAll(step[1]);
    }
    expect(queue.toArray()).toEqual(contents);
    expect(queue.length).toBe(contents.length);
    expect(droppedSeen).toBe(dropped);
  });

  it.each([0, -1, 1.5])('refuses capacity %p', (capacity) => {
    expect(() => new BoundedQueue(capacity)).toThrow(RangeError);
  });
});
