import type { Request, Response } from 'express';
import type { LogFilter } from './filter.js';
import type { LogStore, StoredRow } from './store.js';

export interface FollowOptions {
  /** A comment line this often keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs?: number;
}

/** One SSE event; a body with line breaks (a foreign, pretty-printed record) becomes several data lines. */
export function sseEvent(row: StoredRow): string {
  const data = row.body.includes('\n') ? row.body.split(/\r?\n/).join('\ndata: ') : row.body;
  return `id: ${row.seq}\nevent: record\ndata: ${data}\n\n`;
}

/** Reads Last-Event-ID (a seq this stream sent) so a reconnecting EventSource misses nothing. */
export function lastEventId(req: Request): number | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header.trim())) return undefined;
  return Number(header);
}

/**
 * Streams matching records as Server-Sent Events: optionally the `tail` most
 * recent first (oldest of them first), then every new record as it is stored,
 * in ingest order. Each event's id is the record's seq; a client that
 * reconnects with Last-Event-ID continues right after it. A slow client is
 * not sent more until its socket drains; it catches up from the store.
 */
export function follow(store: LogStore, filter: LogFilter, tail: number, req: Request, res: Response, options: FollowOptions = {}): void {
  const resumeAfter = lastEventId(req);
  res.status(200);
  res.set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  res.write('retry: 2000\n\n');

  let cursor = resumeAfter ?? store.latestSeq();
  if (resumeAfter === undefined && tail > 0) {
    const recent = store.query(filter, tail).rows.reverse();
    for (const row of recent) res.write(sseEvent(row));
  }

  let closed = false;
  let waitingForDrain = false;
  let scheduled = false;
  const pageSize = 500;

  const send = () => {
    scheduled = false;
    if (closed || waitingForDrain) return;
    for (;;) {
      const rows = store.after(filter, cursor, pageSize);
      for (const row of rows) {
        cursor = row.seq;
        if (!res.write(sseEvent(row))) {
          waitingForDrain = true;
          res.once('drain', () => {
            waitingForDrain = false;
            schedule();
          });
          return;
        }
      }
      if (rows.length < pageSize) return;
    }
  };
  // Coalesce: several batches stored in a row cost one query per follower.
  const schedule = () => {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(send);
  };

  const unsubscribe = store.onStored(schedule);
  const heartbeat = setInterval(() => {
    if (!waitingForDrain) res.write(': keep-alive\n\n');
  }, options.heartbeatMs ?? 15_000);
  const cleanup = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
  };
  req.on('close', cleanup);
  res.on('close', cleanup);
  // Records stored between subscribing and now (or after Last-Event-ID) go out at once.
  schedule();
}
