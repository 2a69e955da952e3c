import { performance } from 'node:perf_hooks';

/**
 * A set of items checked by one interval while the set is not empty: the
 * gateway's per-connection deadlines (TLS handshake, request head, upstream
 * connect, idle). At a thousand handshakes a second, a timer per deadline per
 * connection showed in the rate; a field compared every period does not.
 * `check` gets performance.now() (a clock that never steps), so a wall-clock
 * correction cannot move deadlines. A deadline fires up to a period late.
 */
export class PeriodicCheck<Item> {
  private readonly items = new Set<Item>();
  private timer: NodeJS.Timeout | null = null;
  private periodMs = 0;

  constructor(private readonly check: (item: Item, now: number) => void) {}

  get size(): number {
    return this.items.size;
  }

  /** Checks `item` at least every `periodMs` from now on (a shorter period than the running one restarts the interval). */
  add(item: Item, periodMs: number): void {
    this.items.add(item);
    if (this.timer && periodMs >= this.periodMs) return;
    this.stop();
    this.periodMs = periodMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      // `check` may delete items (and so end the interval); a Set allows that while iterating.
      for (const checked of this.items) this.check(checked, now);
    }, periodMs);
    this.timer.unref();
  }

  delete(item: Item): void {
    this.items.delete(item);
    if (this.items.size === 0) this.stop();
  }

  values(): IterableIterator<Item> {
    return this.items.values();
  }

  clear(): void {
    this.items.clear();
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
