import { BodyFramer } from './body-framer.js';
import { closingResponseHead, readResponseHead, type ExpectedResponse } from './response-head.js';
import { HttpSyntaxError, findHeadEnd } from './syntax.js';

export type { ExpectedResponse };

export interface ResponseEvents<Request extends ExpectedResponse> {
  /** The final status of the oldest request is known (any status but 100–199, or 101 to an upgrade). */
  final(request: Request, status: number): void;
  /** The response to the oldest request ended; with 101 the connection is a tunnel from here on. */
  complete(request: Request): void;
}

export const responseHeadLimits = {
  /** Upstream heads may carry many cookies; larger is treated as a broken upstream. */
  maxBytes: 64 * 1024,
};

type ObserverState = 'head' | 'body' | 'tunnel';

/**
 * Follows the responses an upstream sends on one connection, changing nothing
 * but the final head of a `closeDownstream` request: the caller forwards every
 * byte as it came (or the pieces push returns). Heads are parsed for the
 * status and framing only; bodies are counted (chunked: per chunk), not
 * scanned. That is enough to know which request each response answers
 * (pipelining), whether an upgrade was accepted, and whether an upstream that
 * closes left a response unfinished.
 *
 * A response that cannot be delimited is thrown as HttpSyntaxError: the caller
 * treats the upstream as failed.
 */
export class ResponseObserver<Request extends ExpectedResponse> {
  private readonly queue: Request[] = [];
  private state: ObserverState = 'head';
  private pending: Buffer | null = null;
  private scanned = 0;
  private framer: BodyFramer | null = null;
  private untilClose = false;
  private closeAnnounced = false;
  /** `pending` holds the start of a head that is rewritten once complete: those bytes were not forwarded. */
  private pendingHeld = false;

  constructor(private readonly events: ResponseEvents<Request>) {}

  /** Requests sent upstream whose response has not ended. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The request whose response comes next (or is under way). */
  get oldest(): Request | undefined {
    return this.queue[0];
  }

  /** Part of a response (beyond 1xx interim ones) was seen and it has not ended. */
  get midResponse(): boolean {
    return this.state === 'body' || this.pending !== null;
  }

  /** The start of a head to rewrite is held: nothing of that response was forwarded yet. */
  get headHeld(): boolean {
    return this.pendingHeld;
  }

  /** The response in progress has no length and ends when the upstream closes. */
  get endsAtClose(): boolean {
    return this.state === 'body' && this.untilClose;
  }

  /** A final response said the upstream closes after it (Connection: close, or HTTP/1.0 without keep-alive). */
  get upstreamClosing(): boolean {
    return this.closeAnnounced;
  }

  get tunnel(): boolean {
    return this.state === 'tunnel';
  }

  expect(request: Request): void {
    this.queue.push(request);
  }

  /**
   * Keeps no reference to `data` after it returns. Returns null when `data`
   * is to be forwarded as it came, or else the pieces to forward instead
   * (slices of `data` and new buffers; none while a head to rewrite is
   * incomplete).
   */
  push(data: Buffer): Buffer[] | null {
    if (this.state === 'tunnel') return null;
    let pieces: Buffer[] | null = null;
    /** Bytes of `data` before this offset were forwarded already (or are in `pieces`). */
    let forwarded = 0;
    if (this.pending) {
      forwarded = this.pendingHeld ? 0 : this.pending.length;
      if (this.pendingHeld) pieces = [];
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
      this.pendingHeld = false;
    }
    let at = 0;
    while (at < data.length) {
      if (this.state === 'head') {
        const request = this.queue[0];
        if (!request) throw new HttpSyntaxError(400, 'upstream sent a response to no request');
        const end = findHeadEnd(data, at, at + this.scanned, 'response');
        if (end === -1 || end - at > responseHeadLimits.maxBytes) {
          if (data.length - at > responseHeadLimits.maxBytes) throw new HttpSyntaxError(400, `response head longer than ${responseHeadLimits.maxBytes} bytes`);
          // A copy: the caller's buffer is recycled once written (ReadBufferPool).
          this.pending = Buffer.from(data.subarray(at));
          this.scanned = data.length - at;
          if (request.closeDownstream) {
            // Held until complete: the head is rewritten as a whole.
            this.pendingHeld = true;
            pieces ??= [];
            if (at > forwarded) pieces.push(data.subarray(forwarded, at));
            return pieces;
          }
          break;
        }
        const { status, body, close } = readResponseHead(data, at, end - 4, request);
        const headStart = at;
        at = end;
        this.scanned = 0;
        if (status === 101) {
          this.events.final(request, status);
          this.state = 'tunnel';
          this.complete();
          break;
        }
        // 1xx interim responses (100 Continue, 103 Early Hints) precede the final one to the same request.
        if (status < 200) continue;
        this.events.final(request, status);
        if (request.closeDownstream) {
          pieces ??= [];
          if (headStart > forwarded) pieces.push(data.subarray(forwarded, headStart));
          pieces.push(Buffer.from(closingResponseHead(data.toString('latin1', headStart, end - 4)), 'latin1'));
          forwarded = end;
        }
        if (close) this.closeAnnounced = true;
        this.framer = new BodyFramer(body);
        this.untilClose = body.kind === 'until-close';
        this.state = 'body';
      }
      const framer = this.framer!;
      at += framer.take(data, at);
      if (framer.done) {
        this.state = 'head';
        this.framer = null;
        this.complete();
      }
    }
    if (pieces && forwarded < data.length) pieces.push(data.subarray(forwarded));
    return pieces;
  }

  private complete(): void {
    this.events.complete(this.queue.shift()!);
  }
}
