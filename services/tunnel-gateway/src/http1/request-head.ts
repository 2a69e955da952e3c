import { isUntrustedForwardingField } from './forwarding-fields.js';
import { FieldLineScanner, startsWithText } from './head-bytes.js';
import { HttpSyntaxError, isToken, listElements, parseContentLength, parseFieldLine, splitHeadLines, type FieldLine } from './syntax.js';

/** How a message body is delimited (RFC 9112 §6.3). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'until-close' };

export interface RequestHead {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  fields: FieldLine[];
  body: BodyFraming;
  host: string | null;
  /** Upgrade plus `Connection: upgrade`: the upstream may switch the connection to another protocol. */
  upgrade: boolean;
  /** The connection ends after this request (Connection: close, or HTTP/1.0 without keep-alive). */
  last: boolean;
  /**
   * Authorization by NTLM or Negotiate: those authenticate the connection,
   * not the request, so the upstream connection must never serve another client.
   */
  connectionBoundAuth: boolean;
}

export const requestHeadLimits = {
  /** A head that has not ended within this many bytes is refused with 431. */
  maxBytes: 16 * 1024,
  maxFields: 100,
};

/**
 * Methods whose requests have no body here. A body on them is refused: an
 * upstream that ignores a GET body would read it as the next request, one
 * that never passed through this parser or its header rewriting.
 */
const bodylessMethods = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * Reads the request head in `data` from `start` to `end` (request line and
 * field lines, without the empty line that ends it) strictly: whatever two
 * HTTP parsers could read differently (RFC 9112 §11.2, request smuggling) is
 * refused rather than repaired. A regular head, nearly every one, is read
 * from the bytes in one pass (head-bytes.ts); any other goes through the
 * line-by-line parser, which refuses it in words or reads it the same (the
 * two are property-tested to agree).
 */
export function readRequestHead(data: Buffer, start: number, end: number): RequestHead {
  return scanRegularRequestHead(data, start, end) ?? parseRequestHeadByLines(data.toString('latin1', start, end));
}

/** readRequestHead for a head given as text (latin1: one character per byte). */
export function parseRequestHead(head: string): RequestHead {
  return readRequestHead(Buffer.from(head, 'latin1'), 0, head.length);
}

/**
 * A regular request head read from its bytes: an upper-case method, a target
 * of visible characters, HTTP/1.0 or HTTP/1.1, at most maxFields regular field
 * lines. Null for anything else (and CONNECT): the line-by-line parser decides
 * those. The fields mean the same either way (requestOf, which also throws the
 * refusals that depend on what they mean, such as two Host fields).
 */
export function scanRegularRequestHead(data: Buffer, start: number, end: number): RequestHead | null {
  let at = start;
  while (at < end && data[at]! >= 0x41 && data[at]! <= 0x5a) at++;
  if (at === start || at === end || data[at] !== 0x20) return null;
  const methodEnd = at++;
  const targetStart = at;
  while (at < end && isRequestTargetCode(data[at]!)) at++;
  if (at === targetStart || at === end || data[at] !== 0x20) return null;
  const targetEnd = at++;
  if (end - at < 8 || !startsWithText(data, at, 'HTTP/1.')) return null;
  const minor = data[at + 7];
  if (minor !== 0x30 && minor !== 0x31) return null;
  at += 8;
  const scanner = new FieldLineScanner(data, start, at, end);
  const method = scanner.text(start, methodEnd);
  if (method === 'CONNECT') return null;
  const fields: FieldLine[] = [];
  for (let step = scanner.next(); step !== 'end'; step = scanner.next()) {
    if (step === 'irregular' || scanner.count > requestHeadLimits.maxFields) return null;
    const name = scanner.name();
    fields.push({ name, key: name.toLowerCase(), value: scanner.value() });
  }
  return requestOf(method, scanner.text(targetStart, targetEnd), minor === 0x30, fields);
}

/** The reference reading of a request head: split into lines, the request line and every field line parsed and checked, every refusal named. */
export function parseRequestHeadByLines(head: string): RequestHead {
  const lines = splitHeadLines(head, 'request');
  const [requestLine = ''] = lines;
  const parts = requestLine.split(' ');
  if (parts.length !== 3) throw new HttpSyntaxError(400, `request line is not "method SP target SP version": ${JSON.stringify(requestLine.slice(0, 100))}`);
  const [method = '', target = '', versionText = ''] = parts;
  if (!isToken(method)) throw new HttpSyntaxError(400, `invalid method ${JSON.stringify(method.slice(0, 40))}`);
  // Methods are case-sensitive (RFC 9110 §9.1), but some servers read "head" as HEAD: the response framing
  // would then be guessed wrong here. Every registered method is upper case.
  if (/[a-z]/.test(method)) throw new HttpSyntaxError(400, `method ${JSON.stringify(method.slice(0, 40))} is not upper case`);
  // A TLS edge in front of a file server is no forward proxy; a tunnel through it would bypass every check here.
  if (method === 'CONNECT') throw new HttpSyntaxError(405, 'CONNECT is not supported');
  if (!isRequestTarget(target)) throw new HttpSyntaxError(400, 'invalid request target');
  const version = /^HTTP\/([0-9])\.([0-9])$/.exec(versionText);
  if (!version) throw new HttpSyntaxError(400, `invalid HTTP version ${JSON.stringify(versionText.slice(0, 20))}`);
  if (version[1] !== '1' || (version[2] !== '0' && version[2] !== '1')) throw new HttpSyntaxError(505, `HTTP version ${versionText.slice(5)} is not supported`);
  if (lines.length - 1 > requestHeadLimits.maxFields) throw new HttpSyntaxError(431, `more than ${requestHeadLimits.maxFields} header fields`);
  const fields: FieldLine[] = [];
  for (let i = 1; i < lines.length; i++) fields.push(parseFieldLine(lines[i]!, 'request header'));
  return requestOf(method, target, version[2] === '0', fields);
}

/** What a request's fields mean for relaying it (both readings end here), and the refusals that depend on their meaning. */
function requestOf(method: string, target: string, http10: boolean, fields: FieldLine[]): RequestHead {
  const contentLengths: string[] = [];
  const transferEncodings: string[] = [];
  const hosts: string[] = [];
  const connection: string[] = [];
  let hasUpgrade = false;
  let connectionBoundAuth = false;
  for (const field of fields) {
    switch (field.key) {
      case 'content-length':
        contentLengths.push(field.value);
        break;
      case 'transfer-encoding':
        transferEncodings.push(field.value);
        break;
      case 'host':
        hosts.push(field.value);
        break;
      case 'connection':
        connection.push(...listElements(field.value));
        break;
      case 'upgrade':
        hasUpgrade = true;
        break;
      case 'authorization':
      case 'proxy-authorization':
        if (/^(?:ntlm|negotiate)(?: |$)/i.test(field.value)) connectionBoundAuth = true;
        break;
    }
  }

  if (hosts.length > 1) throw new HttpSyntaxError(400, 'more than one Host header');
  if (hosts.length === 0 && !http10) throw new HttpSyntaxError(400, 'HTTP/1.1 request without a Host header');
  let body: BodyFraming = { kind: 'none' };
  if (transferEncodings.length > 0) {
    // RFC 9112 §6.1: both at once is how a front and a back end are made to disagree on where a request ends.
    if (contentLengths.length > 0) throw new HttpSyntaxError(400, 'both Transfer-Encoding and Content-Length');
    if (http10) throw new HttpSyntaxError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    const codings = transferEncodings.flatMap(listElements);
    if (codings[codings.length - 1] !== 'chunked' || codings.indexOf('chunked') !== codings.length - 1) {
      throw new HttpSyntaxError(400, `Transfer-Encoding must end with a single "chunked": ${JSON.stringify(transferEncodings.join(', ').slice(0, 100))}`);
    }
    body = { kind: 'chunked' };
  } else if (contentLengths.length > 0) {
    const length = parseContentLength(contentLengths, 'request');
    if (length > 0) body = { kind: 'length', length };
  }
  if (body.kind !== 'none' && bodylessMethods.has(method)) throw new HttpSyntaxError(400, `a ${method} request with a body`);
  const last = connection.includes('close') || (http10 && !connection.includes('keep-alive'));
  return { method, target, version: http10 ? '1.0' : '1.1', fields, body, host: hosts[0] ?? null, upgrade: hasUpgrade && connection.includes('upgrade'), last, connectionBoundAuth };
}

/** request-target: visible ASCII or obs-text, no controls or spaces (RFC 9112 §3.2). */
function isRequestTarget(target: string): boolean {
  if (target.length === 0) return false;
  for (let i = 0; i < target.length; i++) {
    if (!isRequestTargetCode(target.charCodeAt(i))) return false;
  }
  return true;
}

function isRequestTargetCode(c: number): boolean {
  return c > 0x20 && c !== 0x7f;
}

export interface ForwardedFor {
  /** The client's address as the TLS listener saw it. */
  clientAddress: string;
  /** The public port the client connected to. */
  port: number;
  /** How the client reached the gateway (X-Forwarded-Proto): HTTPS, or the plain HTTP port passing requests through; https when absent. */
  scheme?: 'https' | 'http';
}

/**
 * The head sent upstream: the request as received, minus client-supplied
 * forwarding fields, with one Content-Length (duplicates were checked equal)
 * and our X-Forwarded-For/-Proto/-Host/-Port.
 *
 * `keepUpstream`: the upstream connection is to outlive this request even if
 * the client's is not (it is kept for the next client): a `last` request goes
 * without its close option, an HTTP/1.0 one with `Connection: keep-alive`
 * (the version stays, so the response comes in a framing the client reads).
 */
export function rewriteRequestHead(head: RequestHead, forwarded: ForwardedFor, keepUpstream = false): string {
  const persist = keepUpstream && head.last;
  let text = `${head.method} ${head.target} HTTP/${head.version}\r\n`;
  let lengthWritten = false;
  let keepAliveAsked = false;
  for (const field of head.fields) {
    if (isUntrustedForwardingField(field.key)) continue;
    if (field.key === 'connection') {
      // A field named in Connection is removed by the next hop (RFC 9110 §7.6.1): "Connection: X-Forwarded-For" would delete ours.
      const options = field.value
        .split(',')
        .map((option) => option.trim())
        .filter((option) => option !== '' && !isUntrustedForwardingField(option.toLowerCase()) && !(persist && option.toLowerCase() === 'close'));
      if (persist && head.version === '1.0' && !keepAliveAsked) {
        if (!options.some((option) => option.toLowerCase() === 'keep-alive')) options.push('keep-alive');
        keepAliveAsked = true;
      }
      if (options.length > 0) text += `${field.name}: ${options.join(', ')}\r\n`;
      continue;
    }
    if (field.key === 'content-length') {
      if (lengthWritten) continue;
      lengthWritten = true;
      text += `${field.name}: ${head.body.kind === 'length' ? head.body.length : 0}\r\n`;
      continue;
    }
    text += `${field.name}: ${field.value}\r\n`;
  }
  if (persist && head.version === '1.0' && !keepAliveAsked) text += 'Connection: keep-alive\r\n';
  text += `X-Forwarded-For: ${forwarded.clientAddress}\r\nX-Forwarded-Proto: ${forwarded.scheme ?? 'https'}\r\n`;
  if (head.host !== null) text += `X-Forwarded-Host: ${head.host}\r\n`;
  return `${text}X-Forwarded-Port: ${forwarded.port}\r\n\r\n`;
}
