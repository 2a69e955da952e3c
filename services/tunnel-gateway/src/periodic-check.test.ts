import { PeriodicCheck } from './periodic-check.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PeriodicCheck', () => {
  it('checks every item each period while it is in the set, and stops with the last one', async () => {
    const seen: string[] = [];
    const check = new PeriodicCheck<string>((item) => seen.push(item));
    check.add('a', 20);
    check.add('b', 20);
    await sleep(75);
    expect(seen.filter((item) => item === 'a').length).toBeGreaterThanOrEqual(2);
    expect(seen.filter((item) => item === 'b').length).toBeGreaterThanOrEqual(2);
    check.delete('a');
    check.delete('b');
    const count = seen.length;
    await sleep(60);
    expect(seen.length).toBe(count);
    expect(check.size).toBe(0);
  });

  it('an item needing a shorter period than the running one is checked at its own', async () => {
    const times: number[] = [];
    const started = Date.now();
    const check = new PeriodicCheck<string>((item) => item === 'fast' && times.push(Date.now() - started));
    check.add('slow', 10_000);
    check.add('fast', 20);
    await sleep(80);
    check.clear();
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times[0]).toBeLessThan(1000);
  });

  it('lets a check delete items while the set is walked', async () => {
    const check = new PeriodicCheck<number>((item) => check.delete(item));
    for (let n = 0; n < 5; n++) check.add(n, 10);
    await sleep(40);
    expect(check.size).toBe(0);
  });
});
