import type { BodyFraming } from './request-head.js';
import { FieldLineScanner, startsWithText } from './head-bytes.js';
import { HttpSyntaxError, listElements, parseContentLength, parseFieldLine, splitHeadLines } from './syntax.js';

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

/** What the relay reads in a response head. */
export interface ResponseHead {
  status: number;
  body: BodyFraming;
  /** The upstream closes its connection after this response. */
  close: boolean;
}

/**
 * Status and body framing of the response head in `data` from `start` to
 * `end` (without its empty line). Heads with nothing irregular, nearly all of
 * them, are read from the bytes in one pass; any other goes through the
 * line-by-line parser, which refuses it in words or reads it the same (the two
 * are property-tested to agree).
 */
export function readResponseHead(data: Buffer, start: number, end: number, request: ExpectedResponse): ResponseHead {
  return scanRegularResponseHead(data, start, end, request) ?? parseResponseHeadByLines(data.toString('latin1', start, end), request);
}

/** The reference reading of a response head: split into lines, every field line parsed and checked, every refusal named. */
export function parseResponseHeadByLines(head: string, request: ExpectedResponse): ResponseHead {
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

/**
 * A regular response head read from its bytes (see head-bytes.ts): a status
 * line `HTTP/1.x NNN` and regular field lines. Null for anything else, and
 * for a 101: the line-by-line parser decides those. Refusals that depend on
 * what the framing fields say (a bad Content-Length) are thrown as that
 * parser throws them (responseBody).
 */
export function scanRegularResponseHead(data: Buffer, start: number, end: number, request: ExpectedResponse): ResponseHead | null {
  if (end - start < 12 || !startsWithText(data, start, 'HTTP/1.')) return null;
  const minor = data[start + 7];
  if ((minor !== 0x30 && minor !== 0x31) || data[start + 8] !== 0x20) return null;
  const status = digitAt(data, start + 9) * 100 + digitAt(data, start + 10) * 10 + digitAt(data, start + 11);
  if (!(status >= 0) || status === 101) return null;
  let at = start + 12;
  if (at < end && data[at] !== 0x20 && data[at] !== 0x0d) return null;
  // The rest of the status line: anything but a NUL or a line end that is not CRLF.
  for (; at < end; at++) {
    const c = data[at];
    if (c === 0x0d) break;
    if (c === 0x0a || c === 0x00) return null;
  }
  let contentLengths: string[] | null = null;
  let transferEncodings: string[] | null = null;
  let connection: string[] | null = null;
  const fields = new FieldLineScanner(data, start, at, end);
  for (let step = fields.next(); step !== 'end'; step = fields.next()) {
    if (step === 'irregular') return null;
    if (fields.named('content-length')) (contentLengths ??= []).push(fields.value());
    else if (fields.named('transfer-encoding')) (transferEncodings ??= []).push(fields.value());
    else if (fields.named('connection')) (connection ??= []).push(...listElements(fields.value()));
  }
  const close = connection?.includes('close') || (minor === 0x30 && !connection?.includes('keep-alive'));
  return { status, body: responseBody(status, request, contentLengths ?? [], transferEncodings ?? []), close };
}

/** The decimal digit at `index`, or NaN. */
function digitAt(data: Buffer, index: number): number {
  const digit = data[index]! - 0x30;
  return digit >= 0 && digit <= 9 ? digit : NaN;
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
