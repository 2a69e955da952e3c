import { BodyFramer } from './body-framer.js';
import { readRequestHead, requestHeadLimits, type RequestHead } from './request-head.js';
import { HttpSyntaxError, findHeadEnd } from './syntax.js';

/** Receives the pieces of the requests a client sends, in order. */
export interface RequestSink {
  head(head: RequestHead): void;
  /** A slice of the caller's buffer: body bytes exactly as received (chunked framing included). */
  body(data: Buffer): void;
  end(head: RequestHead): void;
}

type ReaderState = 'head' | 'body' | 'holding' | 'stopped';

/**
 * Splits the byte stream from a client into requests: each head is parsed
 * (strictly, see readRequestHead) and each body is framed by BodyFramer, so
 * body bytes pass through as slices of the received buffers.
 *
 * After a request that asks for an upgrade the reader holds what follows: if
 * the upstream switches protocols those bytes belong to the new protocol
 * (takeHeld), if it refuses they are the next request and must be parsed like
 * any other (resume), never passed on unread. After a request that ends the
 * connection, later bytes are dropped: the upstream will not answer them.
 *
 * A syntax error is thrown as HttpSyntaxError; the reader stops there.
 */
export class RequestReader {
  private state: ReaderState = 'head';
  /** Bytes of a head not yet complete, or bytes held after an upgrade request. */
  private pending: Buffer | null = null;
  /** How far into `pending` the head end was already looked for. */
  private scanned = 0;
  private current: RequestHead | null = null;
  private framer: BodyFramer | null = null;
  /** Own buffer that `pending` lives in while a head arrives piece by piece, and how much of it is used. */
  private store: Buffer | null = null;
  private storeUsed = 0;

  constructor(private readonly sink: RequestSink) {}

  /** True while part of a request head has arrived and the rest has not (the caller bounds how long that may take). */
  get headInProgress(): boolean {
    return this.state === 'head' && this.pending !== null;
  }

  /** True while bytes are held for an upgrade decision: the caller stops reading the client meanwhile. */
  get holding(): boolean {
    return this.state === 'holding';
  }

  push(data: Buffer): void {
    if (this.state === 'stopped') return;
    if (this.pending) data = this.appendToPending(data);
    if (this.state === 'holding') {
      this.pending = data;
      return;
    }
    try {
      this.read(data);
    } catch (error) {
      this.state = 'stopped';
      this.pending = null;
      throw error;
    }
  }

  /** The upstream refused the upgrade: what was held is read as HTTP. */
  resume(): void {
    if (this.state !== 'holding') return;
    this.state = 'head';
    const held = this.pending;
    this.pending = null;
    if (held) this.push(held);
  }

  /** The upstream switched protocols: the held bytes belong to the tunnel; nothing more is read. */
  takeHeld(): Buffer | null {
    const held = this.pending;
    this.pending = null;
    this.state = 'stopped';
    return held;
  }

  /**
   * `pending` followed by `data`, contiguous. A head sent in tiny pieces (one
   * byte per TLS record) would cost quadratic copying with a concat per piece;
   * the store grows by doubling instead. Bytes are only ever appended behind
   * everything used so far, so slices of the store already handed to the sink
   * (body bytes queued in a socket write) are never overwritten.
   */
  private appendToPending(data: Buffer): Buffer {
    const pending = this.pending!;
    this.pending = null;
    const store = this.store;
    if (store && pending.buffer === store.buffer && pending.byteOffset + pending.length === this.storeUsed && store.length - this.storeUsed >= data.length) {
      data.copy(store, this.storeUsed);
      this.storeUsed += data.length;
      return store.subarray(pending.byteOffset, this.storeUsed);
    }
    const next = Buffer.allocUnsafeSlow(Math.max(4096, 2 * (pending.length + data.length)));
    pending.copy(next, 0);
    data.copy(next, pending.length);
    this.store = next;
    this.storeUsed = pending.length + data.length;
    return next.subarray(0, this.storeUsed);
  }

  private read(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.state === 'head') {
        if (this.scanned === 0) {
          // RFC 9112 §2.2: empty lines before a request line are ignored (some clients send CRLF after a body).
          while (at + 1 < data.length && data[at] === 0x0d && data[at + 1] === 0x0a) at += 2;
          if (at === data.length) return;
          if (at === data.length - 1 && data[at] === 0x0d) {
            this.pending = data.subarray(at);
            return;
          }
        }
        const end = findHeadEnd(data, at, at + this.scanned, 'request');
        if (end === -1 || end - at > requestHeadLimits.maxBytes) {
          if (data.length - at > requestHeadLimits.maxBytes) throw new HttpSyntaxError(431, `request head longer than ${requestHeadLimits.maxBytes} bytes`);
          this.pending = data.subarray(at);
          this.scanned = data.length - at;
          return;
        }
        const head = readRequestHead(data, at, end - 4);
        at = end;
        this.scanned = 0;
        this.current = head;
        this.sink.head(head);
        // A message without a body ends with its head: the body step below sees a framer already done.
        this.framer = new BodyFramer(head.body);
        this.state = 'body';
      }
      if (this.state === 'body') {
        const framer = this.framer!;
        const n = framer.take(data, at);
        if (n > 0) this.sink.body(at === 0 && n === data.length ? data : data.subarray(at, at + n));
        at += n;
        if (framer.done) this.endMessage();
      }
      if (this.state === 'holding') {
        if (at < data.length) this.pending = data.subarray(at);
        return;
      }
      if (this.state === 'stopped') return;
    }
  }

  private endMessage(): void {
    const head = this.current!;
    this.framer = null;
    this.current = null;
    this.state = head.upgrade ? 'holding' : head.last ? 'stopped' : 'head';
    this.sink.end(head);
  }
}
