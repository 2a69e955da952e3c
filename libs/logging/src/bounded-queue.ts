/**
 * A FIFO ring buffer that never grows past its capacity: pushing into a full
 * queue drops the oldest item. Logging must not run a process out of memory
 * while RabbitMQ is away, and the newest records are the ones an operator
 * needs to see what happened.
 */
export class BoundedQueue<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Appends; returns how many items were dropped to make room (0 or 1). */
  push(item: T): number {
    if (this.size === this.capacity) {
      this.items[this.head] = item;
      this.head = (this.head + 1) % this.capacity;
      return 1;
    }
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return 0;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  /**
   * Puts items back at the front, in their order, ahead of everything queued
   * (records whose delivery was not confirmed are older than the queued ones).
   * If that overflows, the oldest go first; returns how many were dropped.
   */
  unshiftAll(items: readonly T[]): number {
    let dropped = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.size === this.capacity) {
        // Full: everything still to put back is older than the front, so it is the part to drop.
        dropped += i + 1;
        break;
      }
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.items[this.head] = items[i];
      this.size++;
    }
    return dropped;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.head + i) % this.capacity] as T);
    return out;
  }
}
