import { BodyFramer } from './body-framer.js';
import type { BodyFraming } from './request-head.js';
import { HttpSyntaxError, findHeadEnd, listElements, parseContentLength, parseFieldLine, splitHeadLines } from './syntax.js';

/** What the observer needs to know about a request to delimit its response. */
export interface ExpectedResponse {
  method: string;
  /** The request asked to switch protocols: a 101 is allowed and turns the connection into a tunnel. */
  upgrade: boolean;
  /**
   * The client asked for the connection to end with this request, but the
   * upstream was asked to keep its connection (for the next client): the final
   * response head must then tell the client `Connection: close`, not what the
   * upstream said about its own connection.
   */
  closeDownstream?: boolean;
}

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
        const headText = data.toString('latin1', at, end - 4);
        const { status, body, close } = parseResponseHead(headText, request);
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
          pieces.push(Buffer.from(closingResponseHead(headText), 'latin1'));
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

/**
 * A final response head (without its empty line) as it goes to a client that
 * asked for the connection to end: Connection says close, whatever the
 * upstream said about keeping its own connection (RFC 9112 §9.6: a server
 * that closes after the response says so); Keep-Alive, which only means
 * something on a persistent connection, is dropped; other connection options
 * stay.
 */
export function closingResponseHead(head: string): string {
  const lines = head.split('\r\n');
  const kept = [lines[0]!];
  const options: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).toLowerCase();
    if (key === 'keep-alive') continue;
    if (key === 'connection') {
      for (const option of line.slice(colon + 1).split(',')) {
        const name = option.trim();
        const lower = name.toLowerCase();
        if (name !== '' && lower !== 'keep-alive' && lower !== 'close') options.push(name);
      }
      continue;
    }
    kept.push(line);
  }
  kept.push(`Connection: ${['close', ...options].join(', ')}`);
  return `${kept.join('\r\n')}\r\n\r\n`;
}

/** Status and body framing of a response head (RFC 9112 §4, §6.3). */
export function parseResponseHead(head: string, request: ExpectedResponse): { status: number; body: BodyFraming; close: boolean } {
  const lines = splitHeadLines(head, 'response');
  const statusLine = /^HTTP\/1\.([01]) ([0-9]{3})(?: |$)/.exec(lines[0] ?? '');
  if (!statusLine) throw new HttpSyntaxError(400, `invalid status line ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  const status = Number(statusLine[2]);
  if (status === 101 && !request.upgrade) throw new HttpSyntaxError(400, 'upstream switched protocols without being asked');
  const contentLengths: string[] = [];
  const transferEncodings: string[] = [];
  const connection: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const field = parseFieldLine(lines[i]!, 'response header');
    if (field.key === 'content-length') contentLengths.push(field.value);
    else if (field.key === 'transfer-encoding') transferEncodings.push(field.value);
    else if (field.key === 'connection') connection.push(...listElements(field.value));
  }
  const close = connection.includes('close') || (statusLine[1] === '0' && !connection.includes('keep-alive'));
  return { status, body: responseBody(status, request, contentLengths, transferEncodings), close };
}

function responseBody(status: number, request: ExpectedResponse, contentLengths: string[], transferEncodings: string[]): BodyFraming {
  if (request.method === 'HEAD' || status < 200 || status === 204 || status === 304) return { kind: 'none' };
  if (transferEncodings.length > 0) {
    const codings = transferEncodings.flatMap(listElements);
    return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'until-close' };
  }
  if (contentLengths.length > 0) {
    const length = parseContentLength(contentLengths, 'response');
    return length > 0 ? { kind: 'length', length } : { kind: 'none' };
  }
  return { kind: 'until-close' };
}
