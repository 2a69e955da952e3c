/**
 * The one-pass readings of regular heads (head-bytes.ts) and the line-by-line
 * parsers must read every head alike: where the one-pass reading answers
 * (a head, or a refusal that depends on what the fields mean), the
 * line-by-line parser answers the same; where that parser refuses a head in
 * words, the one-pass reading hands it over (null) or refuses it the same.
 */
import fc from 'fast-check';
import { parseRequestHeadByLines, readRequestHead, scanRegularRequestHead } from './request-head.js';
import { parseResponseHeadByLines, readResponseHead, scanRegularResponseHead, type ExpectedResponse } from './response-head.js';
import { HttpSyntaxError, listElements, parseContentLength } from './syntax.js';

// Cheap properties: more runs in the suite than the protocol fuzz's 200; `pnpm fuzz` sets FUZZ_RUNS for both.
const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = { numRuns, ...(seed !== undefined ? { seed } : {}) };
jest.setTimeout(Math.max(5_000, numRuns));

type Outcome = { kind: 'read'; value: unknown } | { kind: 'refused'; status: number; message: string } | { kind: 'handed over' };

function outcomeOf(read: () => unknown): Outcome {
  try {
    const value = read();
    return value === null ? { kind: 'handed over' } : { kind: 'read', value };
  } catch (error) {
    if (!(error instanceof HttpSyntaxError)) throw error;
    return { kind: 'refused', status: error.status, message: error.message };
  }
}

const latin1 = (text: string) => Buffer.from(text, 'latin1');

/** Pieces of heads, regular and not: separators, whitespace, controls, framing names in several cases, obs-text. */
const oddPieces = [' ', '\t', ':', ',', '\r', '\n', '\r\n', '\0', '\x01', '\x7f', '\xe9', '"', '(', 'a', 'A', '-', '0', '9', 'close', 'keep-alive', 'chunked', 'upgrade'];

/** An odd piece, or any single byte. */
const editPiece = fc.oneof(fc.constantFrom(...oddPieces), fc.integer({ min: 0, max: 255 }).map((byte) => String.fromCharCode(byte)));

function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(text, fc.array(fc.tuple(fc.nat(), fc.nat(3), editPiece), { minLength: 1, maxLength: 2 })).map(([base, edits]) => {
    let out = base;
    for (const [at, removed, piece] of edits) {
      const cut = out.length === 0 ? 0 : at % (out.length + 1);
      out = out.slice(0, cut) + piece + out.slice(cut + removed);
    }
    return out;
  });
}

const fieldName = fc.constantFrom(
  'Host',
  'host',
  'HOST',
  'Content-Length',
  'content-length',
  'Transfer-Encoding',
  'transfer-encoding',
  'Connection',
  'CONNECTION',
  'Upgrade',
  'Authorization',
  'Proxy-Authorization',
  'Accept',
  'X-Forwarded-For',
  'Cookie',
  'Keep-Alive',
  'Date',
  'Server',
  'Content-Lengthx',
  'Connectio',
);
const fieldValue = fc.constantFrom(
  'files.example.com',
  '0',
  '5',
  '5, 5',
  '5,6',
  '012',
  '1234567890123456',
  '',
  ' 5 ',
  'chunked',
  'gzip, chunked',
  'chunked, gzip',
  'keep-alive',
  'Keep-Alive',
  'close',
  'CLOSE',
  'Upgrade',
  'keep-alive, Upgrade',
  'close, x-forwarded-for',
  'websocket',
  'NTLM TlRMTVNT',
  'Negotiate abc',
  'Basic abc',
  'text/html;q=0.9, */*;q=0.8',
  'Fri, 04 Dec 2026 16:20:00 GMT',
  '\t tabbed \t',
);
const fieldLine = fc.tuple(fieldName, fc.constantFrom(': ', ':', ':\t', ' : '), fieldValue).map(([name, colon, value]) => `${name}${colon}${value}`);

function head(startLine: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return mutated(fc.tuple(startLine, fc.array(fieldLine, { maxLength: 10 })).map(([start, fields]) => [start, ...fields].join('\r\n')));
}

/** Heads of the kind nearly all traffic is: a plain start line, one Host, fields written `Name: value`; no edits. */
const cleanValue = fc.constantFrom('files.example.com', '0', '5', '1234', 'chunked', 'gzip, chunked', 'keep-alive', 'Keep-Alive', 'close', 'Upgrade', 'websocket', 'Basic abc', 'text/html;q=0.9, */*;q=0.8', 'Fri, 04 Dec 2026 16:20:00 GMT', '\xe9t\xe9');
const cleanField = fc.tuple(fc.constantFrom('Accept', 'Cookie', 'Date', 'Server', 'Content-Type', 'Connection', 'Content-Length', 'content-length', 'Transfer-Encoding', 'Upgrade', 'X-Forwarded-For', 'Keep-Alive'), cleanValue).map(([name, value]) => `${name}: ${value}`);
function cleanHead(startLine: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(startLine, fc.array(cleanField, { maxLength: 8 })).map(([start, fields]) => [start, 'Host: files.example.com', ...fields].join('\r\n'));
}

const requestLine = fc.constantFrom(
  'GET / HTTP/1.1',
  'GET /files/report.pdf?x=1 HTTP/1.1',
  'HEAD /a HTTP/1.0',
  'POST /upload HTTP/1.1',
  'PUT /f HTTP/1.1',
  'DELETE /f HTTP/1.1',
  'PROPFIND / HTTP/1.1',
  'M-SEARCH * HTTP/1.1',
  'CONNECT a:443 HTTP/1.1',
  'get / HTTP/1.1',
  'GET /\xe9 HTTP/1.1',
  'GET / HTTP/2.0',
  'GET  / HTTP/1.1',
  'GET / HTTP/1.1 ',
);
const statusLine = fc.constantFrom(
  'HTTP/1.1 200 OK',
  'HTTP/1.1 204 No Content',
  'HTTP/1.1 304 Not Modified',
  'HTTP/1.0 200 OK',
  'HTTP/1.1 100 Continue',
  'HTTP/1.1 101 Switching Protocols',
  'HTTP/1.1 404',
  'HTTP/1.1 200 \x01odd reason',
  'HTTP/1.1 2000 OK',
  'HTTP/2 200',
  'HTTP/1.1 20 OK',
);
const expected = fc.record({ method: fc.constantFrom('GET', 'HEAD', 'POST'), upgrade: fc.boolean() });

describe('one-pass and line-by-line readings of heads agree', () => {
  it('request heads', () => {
    fc.assert(
      fc.property(head(requestLine), (text) => {
        const data = latin1(`xx${text}\r\n\r\n`);
        const fast = outcomeOf(() => scanRegularRequestHead(data, 2, data.length - 4));
        const reference = outcomeOf(() => parseRequestHeadByLines(text));
        if (fast.kind !== 'handed over') expect(fast).toEqual(reference);
        expect(outcomeOf(() => readRequestHead(data, 2, data.length - 4))).toEqual(reference);
      }),
      settings,
    );
  });

  it('response heads', () => {
    fc.assert(
      fc.property(head(statusLine), expected, (text, request: ExpectedResponse) => {
        const data = latin1(`xx${text}\r\n\r\n`);
        const fast = outcomeOf(() => scanRegularResponseHead(data, 2, data.length - 4, request));
        const reference = outcomeOf(() => parseResponseHeadByLines(text, request));
        if (fast.kind !== 'handed over') expect(fast).toEqual(reference);
        expect(outcomeOf(() => readResponseHead(data, 2, data.length - 4, request))).toEqual(reference);
      }),
      settings,
    );
  });
});

describe('regular heads are read in one pass, as the line-by-line parser reads them', () => {
  const regularRequestLine = fc.constantFrom('GET / HTTP/1.1', 'GET /files/report.pdf?x=1 HTTP/1.1', 'HEAD /a HTTP/1.0', 'POST /upload HTTP/1.1', 'PUT /f HTTP/1.1', 'PROPFIND / HTTP/1.1');
  const regularStatusLine = fc.constantFrom('HTTP/1.1 200 OK', 'HTTP/1.1 204 No Content', 'HTTP/1.0 200 OK', 'HTTP/1.1 404', 'HTTP/1.1 100 Continue');

  it('request heads', () => {
    fc.assert(
      fc.property(cleanHead(regularRequestLine), (text) => {
        const data = latin1(`${text}\r\n\r\n`);
        const fast = outcomeOf(() => scanRegularRequestHead(data, 0, data.length - 4));
        expect(fast.kind).not.toBe('handed over');
        expect(fast).toEqual(outcomeOf(() => parseRequestHeadByLines(text)));
      }),
      settings,
    );
  });

  it('response heads', () => {
    fc.assert(
      fc.property(cleanHead(regularStatusLine), expected, (text, request: ExpectedResponse) => {
        const data = latin1(`${text}\r\n\r\n`);
        const fast = outcomeOf(() => scanRegularResponseHead(data, 0, data.length - 4, request));
        expect(fast.kind).not.toBe('handed over');
        expect(fast).toEqual(outcomeOf(() => parseResponseHeadByLines(text, request)));
      }),
      settings,
    );
  });
});

describe('near misses read alike both ways', () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v`).join('\r\n');
  it.each([
    'GET  HTTP/1.1\r\nHost: h',
    'GET / HTTP/1.2\r\nHost: h',
    'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +5',
    'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456',
    'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 123456789012345',
    'GET / HTTP/1.1\r\nHost: h\r\nConnection: closed',
    'GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alives',
    `GET / HTTP/1.1\r\nHost: h\r\n${fields(99)}`,
    `GET / HTTP/1.1\r\nHost: h\r\n${fields(100)}`,
  ])('request %j', (text) => {
    const data = latin1(`${text}\r\n\r\n`);
    expect(outcomeOf(() => readRequestHead(data, 0, data.length - 4))).toEqual(outcomeOf(() => parseRequestHeadByLines(text)));
  });

  const GET: ExpectedResponse = { method: 'GET', upgrade: false };
  it.each([
    'HTTP/1.2 200 OK\r\nContent-Length: 0',
    'HTTP/1.1 2:0 OK\r\nContent-Length: 0',
    'HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0',
    'HTTP/1.0 200 OK\r\nConnection: keep-alives\r\nContent-Length: 0',
    'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close',
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket',
  ])('response %j', (text) => {
    const data = latin1(`${text}\r\n\r\n`);
    expect(outcomeOf(() => readResponseHead(data, 0, data.length - 4, GET))).toEqual(outcomeOf(() => parseResponseHeadByLines(text, GET)));
  });

  it('one Content-Length is read as a list of it twice is', () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^[0-9]{0,17}$/), fc.string({ maxLength: 8 }), fc.constantFrom('+5', ' 5', '05', '5,5', '')), (value) => {
        expect(outcomeOf(() => parseContentLength([value], 'request'))).toEqual(outcomeOf(() => parseContentLength([value, value], 'request')));
      }),
      settings,
    );
  });

  it('a list without a comma is read as the same list with a trailing comma is', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom('keep-alive', ' Close ', '\tchunked', '', ' '), fc.string({ maxLength: 12 })), (value) => {
        fc.pre(!value.includes(','));
        expect(listElements(value)).toEqual(listElements(`${value},`));
      }),
      settings,
    );
  });
});

describe('the heads clients and file servers send are read in one pass', () => {
  it.each([
    ['wrk', 'GET /small.bin HTTP/1.1\r\nHost: 127.0.0.1:8443'],
    ['curl', 'GET /files/a.txt HTTP/1.1\r\nHost: files.example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*'],
    [
      'a browser',
      'GET /files/ HTTP/1.1\r\nHost: files.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: session=abc; theme=dark\r\nSec-Fetch-Mode: navigate',
    ],
    ['an upload', 'PUT /upload/big.iso HTTP/1.1\r\nHost: files.example.com\r\nContent-Length: 4700000000\r\nExpect: 100-continue'],
    ['a chunked upload', 'POST /upload HTTP/1.1\r\nHost: files.example.com\r\nTransfer-Encoding: chunked'],
    ['HTTP/1.0 without a Host', 'GET / HTTP/1.0'],
  ])('request from %s', (_client, text) => {
    const data = latin1(text);
    const head = scanRegularRequestHead(data, 0, data.length);
    expect(head).not.toBeNull();
    expect(head).toEqual(parseRequestHeadByLines(text));
  });

  const GET: ExpectedResponse = { method: 'GET', upgrade: false };
  it.each([
    [
      'nginx',
      'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 04 Dec 2026 16:20:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\nLast-Modified: Fri, 04 Dec 2026 16:10:00 GMT\r\nConnection: keep-alive\r\nETag: "6751a0b8-400"\r\nAccept-Ranges: bytes',
    ],
    ['Apache, chunked', 'HTTP/1.1 200 OK\r\nDate: Fri, 04 Dec 2026 16:20:00 GMT\r\nServer: Apache\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html;charset=UTF-8'],
    ['a server closing', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close'],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 3'],
    ['a status without a reason', 'HTTP/1.1 204'],
  ])('response from %s', (_server, text) => {
    const data = latin1(text);
    const head = scanRegularResponseHead(data, 0, data.length, GET);
    expect(head).not.toBeNull();
    expect(head).toEqual(parseResponseHeadByLines(text, GET));
  });
});
