import type { Level, Logger } from 'pino';

/**
 * Records written a moment later, in batches: for the one record per event on
 * a hot path (the gateway's "HTTPS connection opened", one per handshake).
 *
 * Why: serializing a record between two TLS handshakes costs several times
 * what it costs in a loop, because the handshake has pushed the logger's code
 * and data out of the CPU caches; measured, writing that record at once cost
 * about 40 µs per connection, written in batches about half of it. The
 * record keeps the time it was logged at, and every other record written
 * through a logger of this library first writes the deferred ones before it,
 * so the output keeps the order in which things happened.
 */
interface DeferredRecord {
  logger: Logger;
  level: Level;
  fields: object;
  msg: string;
  loggedAt: number;
}

/** The longest a deferred record waits. */
export const deferredRecordDelayMs = 20;

let queue: DeferredRecord[] = [];
let timer: NodeJS.Timeout | null = null;
let writing = false;
/** While a deferred record is serialized: when it was logged (read by the loggers' timestamp function). */
let deferredLoggedAt: number | null = null;

/** Logs `fields` and `msg` at `level` within deferredRecordDelayMs, stamped with the time of this call. */
export function logDeferred(logger: Logger, level: Level, fields: object, msg: string): void {
  if (!logger.isLevelEnabled(level)) return;
  queue.push({ logger, level, fields, msg, loggedAt: Date.now() });
  if (!timer) {
    timer = setTimeout(writeDeferredRecords, deferredRecordDelayMs);
    // A process that has nothing else to do may exit; its exit handler writes the queue.
    timer.unref();
  }
}

/** Writes every deferred record now (before another record, on exit, in tests). */
export function writeDeferredRecords(): void {
  if (writing || queue.length === 0) return;
  writing = true;
  const batch = queue;
  queue = [];
  if (timer) clearTimeout(timer);
  timer = null;
  try {
    for (const record of batch) {
      deferredLoggedAt = record.loggedAt;
      try {
        record.logger[record.level](record.fields, record.msg);
      } catch {
        // A record that cannot be serialized (a getter that throws…) costs only itself, not the batch.
      }
    }
  } finally {
    deferredLoggedAt = null;
    writing = false;
  }
}

/** Deferred records waiting to be written. */
export function deferredRecordCount(): number {
  return queue.length;
}

/** pino timestamp: the deferred record's own time while one is written, else now. */
export function isoTimestamp(): string {
  return `,"time":"${new Date(deferredLoggedAt ?? Date.now()).toISOString()}"`;
}
