import { BoundedQueue } from './bounded-queue.js';
import type { OpenLink, PublishLink } from './publish-link.js';

/** How long closing the broker link may take before the shipper lets go of it. */
const linkCloseTimeoutMs = 1000;

const newline = Buffer.from('\n');

export interface ShippedRecord {
  routingKey: string;
  content: Buffer;
  recordId?: string;
}

export interface ShipperEvents {
  /** The first failure after a working link (or the very first attempt failing); records are buffered from now on. */
  onInterrupted?(error: unknown): void;
  onConnected?(): void;
  /** Records were dropped from the full buffer; reported once the backlog has been sent. */
  onDropped?(count: number): void;
}

export interface ShipperOptions extends ShipperEvents {
  open: OpenLink;
  /** Records kept while the broker is away or slow (oldest dropped beyond it). */
  capacity?: number;
  /** Published records awaiting the broker's confirm. */
  maxInFlight?: number;
  /** Records per message at most: a backlog goes out as JSON lines, many records a message. */
  maxBatchRecords?: number;
  maxBatchBytes?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

export interface ShipperStats {
  connected: boolean;
  buffered: number;
  inFlight: number;
  published: number;
  dropped: number;
}

/**
 * Sends log records to the broker without ever blocking or throwing into the
 * code that logs: ship() only queues. Records stay queued until the broker
 * confirms them; when the link dies, unconfirmed ones go back to the front
 * and are sent again after reconnecting (the log-service drops the duplicates
 * by record id).
 */
export class LogShipper {
  private readonly queue: BoundedQueue<ShippedRecord>;
  /** Published messages awaiting the broker's confirm, each with its records, in publish order. */
  private readonly inFlight = new Map<number, ShippedRecord[]>();
  private inFlightRecords = 0;
  private readonly maxInFlight: number;
  private readonly maxBatchRecords: number;
  private readonly maxBatchBytes: number;
  private link: PublishLink | undefined;
  /** Bumped whenever a link is gone, so late callbacks of an old link are ignored. */
  private generation = 0;
  private publishSeq = 0;
  private connecting = false;
  private waitingForDrain = false;
  private pumpScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** Whether the current outage has been reported (once per outage). */
  private interruptionReported = false;
  private closed = false;
  private droppedUnreported = 0;
  private readonly counters = { published: 0, dropped: 0 };
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ShipperOptions) {
    this.queue = new BoundedQueue(options.capacity ?? 10_000);
    this.maxInFlight = options.maxInFlight ?? 2_000;
    this.maxBatchRecords = options.maxBatchRecords ?? 200;
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
    this.connect();
  }

  ship(record: ShippedRecord): void {
    if (this.closed) return;
    this.countDropped(this.queue.push(record));
    this.schedulePump();
  }

  stats(): ShipperStats {
    return {
      connected: this.link !== undefined,
      buffered: this.queue.length,
      inFlight: this.inFlightRecords,
      published: this.counters.published,
      dropped: this.counters.dropped,
    };
  }

  /** Resolves once every queued record is confirmed, or after timeoutMs; true when everything was sent. */
  async flush(timeoutMs = 5_000): Promise<boolean> {
    if (this.isIdle()) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Sends what it can within timeoutMs, then closes the link (waiting at most linkCloseTimeoutMs for that); later records are ignored. */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.closed) return;
    await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.retryTimer);
    const link = this.link;
    this.link = undefined;
    this.generation++;
    // A broker that does not answer the close (overloaded, or gone without a reset) must not keep the process from exiting.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([link?.close().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, linkCloseTimeoutMs)))]);
    clearTimeout(timer);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  private countDropped(count: number): void {
    if (count === 0) return;
    this.counters.dropped += count;
    this.droppedUnreported += count;
  }

  private connect(): void {
    if (this.closed || this.connecting || this.link) return;
    this.connecting = true;
    let opening: Promise<PublishLink>;
    try {
      opening = this.options.open();
    } catch (error) {
      opening = Promise.reject(error);
    }
    opening.then(
      (link) => {
        this.connecting = false;
        if (this.closed) {
          link.close().catch(() => undefined);
          return;
        }
        this.link = link;
        const generation = ++this.generation;
        this.attempt = 0;
        this.interruptionReported = false;
        this.waitingForDrain = false;
        link.onDrain(() => {
          if (generation !== this.generation) return;
          this.waitingForDrain = false;
          this.schedulePump();
        });
        link.onClosed((error) => this.lost(generation, error));
        this.safely(() => this.options.onConnected?.());
        this.schedulePump();
      },
      (error: unknown) => {
        this.connecting = false;
        this.reportInterruption(error);
        this.scheduleRetry();
      },
    );
  }

  private lost(generation: number, error: unknown): void {
    if (generation !== this.generation || this.closed) return;
    this.generation++;
    this.link = undefined;
    this.waitingForDrain = false;
    // Unconfirmed records may or may not have reached the broker: send them again.
    const unconfirmed = [...this.inFlight.values()].flat();
    this.inFlight.clear();
    this.inFlightRecords = 0;
    this.countDropped(this.queue.unshiftAll(unconfirmed));
    this.reportInterruption(error);
    this.scheduleRetry();
  }

  private reportInterruption(error: unknown): void {
    if (this.interruptionReported) return;
    this.interruptionReported = true;
    this.safely(() => this.options.onInterrupted?.(error));
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const initial = this.options.backoffInitialMs ?? 200;
    const max = this.options.backoffMaxMs ?? 10_000;
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.attempt, 30));
    const delay = Math.round(initial / 2 + (this.options.random ?? Math.random)() * (ceiling - initial / 2));
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
    // A pending reconnect alone must not keep a finished process alive.
    this.retryTimer.unref();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Takes what is queued (up to a batch), groups it by routing key, and
   * publishes one message per key: the records as JSON lines. Under light load
   * that is one record a message; a backlog costs the broker and the consumer
   * one message per batch instead of one per record.
   */
  private nextMessages(): ShippedRecord[][] {
    const byKey = new Map<string, ShippedRecord[]>();
    let bytes = 0;
    let taken = 0;
    const room = Math.min(this.maxBatchRecords, this.maxInFlight - this.inFlightRecords);
    while (taken < room && this.queue.length > 0 && (taken === 0 || bytes < this.maxBatchBytes)) {
      const record = this.queue.shift() as ShippedRecord;
      taken++;
      bytes += record.content.length + 1;
      const group = byKey.get(record.routingKey);
      if (group) group.push(record);
      else byKey.set(record.routingKey, [record]);
    }
    return [...byKey.values()];
  }

  private pump(): void {
    const link = this.link;
    if (link && !this.waitingForDrain) {
      const generation = this.generation;
      while (this.inFlightRecords < this.maxInFlight && this.queue.length > 0) {
        // Every taken record is in flight before anything is published, so a failure part-way puts them all back.
        const messages = this.nextMessages().map((records) => {
          const seq = ++this.publishSeq;
          this.inFlight.set(seq, records);
          this.inFlightRecords += records.length;
          return { seq, records };
        });
        for (const { seq, records } of messages) {
          const first = records[0] as ShippedRecord;
          const content = records.length === 1 ? first.content : Buffer.concat(records.flatMap((record) => [record.content, newline]).slice(0, -1));
          let writable: boolean;
          try {
            writable = link.publish(first.routingKey, content, first.recordId, (error) => this.confirmed(generation, seq, error));
          } catch (error) {
            // The channel died under us; its close event may not have come yet.
            this.lost(generation, error);
            link.close().catch(() => undefined);
            return;
          }
          if (!writable) this.waitingForDrain = true;
        }
        if (this.waitingForDrain) break;
      }
    }
    this.settle();
  }

  private confirmed(generation: number, seq: number, error: unknown): void {
    if (generation !== this.generation) return;
    if (error) {
      // A refusal (nack) or the channel closing: either way this link is not to
      // be trusted; reconnecting puts every unconfirmed record back in order.
      const link = this.link;
      this.lost(generation, error);
      link?.close().catch(() => undefined);
      return;
    }
    const records = this.inFlight.get(seq);
    if (!records) return;
    this.inFlight.delete(seq);
    this.inFlightRecords -= records.length;
    this.counters.published += records.length;
    this.schedulePump();
  }

  /** Once the backlog is out: the counted warning about drops, and anyone waiting in flush(). */
  private settle(): void {
    if (!this.isIdle() || !this.link) return;
    if (this.droppedUnreported > 0) {
      const count = this.droppedUnreported;
      this.droppedUnreported = 0;
      this.safely(() => this.options.onDropped?.(count));
      // onDropped usually logs, which queues one more record; flush() waits for that one too.
      if (!this.isIdle()) return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private safely(callback: () => void): void {
    try {
      callback();
    } catch {
      // A listener's failure must not break shipping.
    }
  }
}
