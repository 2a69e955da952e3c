import { closingResponseHead } from './response-head.js';
import { ResponseObserver, type ExpectedResponse } from './response-observer.js';
import { HttpSyntaxError } from './syntax.js';

/** Feeds upstream bytes for `requests`; reports final statuses and completions, or the error. */
function observe(requests: ExpectedResponse[], pieces: Buffer[]): { events: string[]; observer: ResponseObserver<ExpectedResponse> } {
  const events: string[] = [];
  const observer = new ResponseObserver<ExpectedResponse>({
    final: (request, status) => events.push(`${request.method} ${status}`),
    complete: (request) => events.push(`${request.method} done`),
  });
  for (const request of requests) observer.expect(request);
  try {
    for (const piece of pieces) observer.push(piece);
  } catch (error) {
    if (!(error instanceof HttpSyntaxError)) throw error;
    events.push(`error ${error.message}`);
  }
  return { events, observer };
}

function splits(text: string): Buffer[][] {
  const bytes = Buffer.from(text, 'latin1');
  const ways: Buffer[][] = [[bytes]];
  for (let cut = 1; cut < bytes.length; cut++) ways.push([bytes.subarray(0, cut), bytes.subarray(cut)]);
  return ways;
}

const GET: ExpectedResponse = { method: 'GET', upgrade: false };
const HEAD: ExpectedResponse = { method: 'HEAD', upgrade: false };
const UPGRADE: ExpectedResponse = { method: 'GET', upgrade: true };
const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe('ResponseObserver', () => {
  it.each([
    { desc: 'pipelined length responses', requests: [GET, GET], input: ok('hello') + ok('second!'), events: ['GET 200', 'GET done', 'GET 200', 'GET done'], waiting: 0 },
    {
      desc: 'a chunked response then a length one',
      requests: [GET, GET],
      input: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${ok('x')}`,
      events: ['GET 200', 'GET done', 'GET 200', 'GET done'],
      waiting: 0,
    },
    { desc: 'a HEAD response carries no body despite its length', requests: [HEAD, GET], input: `HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n${ok('x')}`, events: ['HEAD 200', 'HEAD done', 'GET 200', 'GET done'], waiting: 0 },
    { desc: '204 and 304 carry no body', requests: [GET, GET], input: 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', events: ['GET 204', 'GET done', 'GET 304', 'GET done'], waiting: 0 },
    { desc: '100 Continue before the final response', requests: [GET], input: `HTTP/1.1 100 Continue\r\n\r\n${ok('done')}`, events: ['GET 200', 'GET done'], waiting: 0 },
    { desc: 'a response without length ends at close', requests: [GET], input: 'HTTP/1.0 200 OK\r\n\r\nsome body', events: ['GET 200'], waiting: 1 },
    { desc: 'a status line without a reason', requests: [GET], input: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', events: ['GET 200', 'GET done'], waiting: 0 },
    { desc: '101 to an upgrade becomes a tunnel', requests: [UPGRADE], input: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nHTTP/1.1 garbage', events: ['GET 101', 'GET done'], waiting: 0 },
    { desc: 'a refused upgrade is an ordinary response', requests: [UPGRADE, GET], input: ok('no') + ok('yes'), events: ['GET 200', 'GET done', 'GET 200', 'GET done'], waiting: 0 },
    { desc: '101 without an upgrade request', requests: [GET], input: 'HTTP/1.1 101 Switching Protocols\r\n\r\n', events: ['error upstream switched protocols without being asked'], waiting: 1 },
    { desc: 'a response to no request', requests: [], input: ok('x'), events: ['error upstream sent a response to no request'], waiting: 0 },
    { desc: 'a broken status line', requests: [GET], input: 'HTTP/1.1 2000 OK\r\n\r\n', events: ['error invalid status line "HTTP/1.1 2000 OK"'], waiting: 1 },
    { desc: 'a bad chunk in a response', requests: [GET], input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n', events: ['GET 200', 'error invalid chunk size "xyz"'], waiting: 1 },
  ])('$desc, split at every offset', ({ requests, input, events, waiting }) => {
    for (const pieces of splits(input)) {
      const seen = observe(requests, pieces);
      expect(seen.events).toEqual(events);
      expect(seen.observer.waiting).toBe(waiting);
    }
  });

  it('knows whether a response is under way', () => {
    const { observer } = observe([GET, GET], [Buffer.from(ok('done') + 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')]);
    expect(observer.midResponse).toBe(true);
    expect(observer.endsAtClose).toBe(false);
    observer.push(Buffer.from('defghij'));
    expect(observer.midResponse).toBe(false);
    expect(observer.waiting).toBe(0);
  });

  it.each([
    { desc: 'Connection: close', head: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0', closing: true },
    { desc: 'HTTP/1.0 without keep-alive', head: 'HTTP/1.0 200 OK\r\nContent-Length: 0', closing: true },
    { desc: 'HTTP/1.0 with keep-alive', head: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0', closing: false },
    { desc: 'HTTP/1.1 by default', head: 'HTTP/1.1 200 OK\r\nContent-Length: 0', closing: false },
  ])('knows the upstream announced its close: $desc', ({ head, closing }) => {
    expect(observe([GET], [Buffer.from(`${head}\r\n\r\n`)]).observer.upstreamClosing).toBe(closing);
  });

  it('says a response without length ends at close', () => {
    const { observer } = observe([GET], [Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc')]);
    expect(observer.endsAtClose).toBe(true);
  });

  const LAST: ExpectedResponse = { method: 'GET', upgrade: false, closeDownstream: true };
  it.each([
    {
      desc: 'keep-alive becomes close, Keep-Alive is dropped',
      input: 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello',
      output: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    },
    {
      desc: 'an HTTP/1.0 keep-alive answer, other options kept',
      input: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive, X-Trace\r\nX-Trace: 1\r\nContent-Length: 2\r\n\r\nhi',
      output: 'HTTP/1.0 200 OK\r\nX-Trace: 1\r\nContent-Length: 2\r\nConnection: close, X-Trace\r\n\r\nhi',
    },
    {
      desc: 'a head without Connection gets one; a 100 Continue before it is forwarded unchanged',
      input: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nServer: x\r\n\r\n',
      output: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nServer: x\r\nConnection: close\r\n\r\n',
    },
  ])('tells a closing client Connection: close ($desc), split at every offset', ({ input, output }) => {
    for (const pieces of splits(input)) {
      const observer = new ResponseObserver<ExpectedResponse>({ final: () => undefined, complete: () => undefined });
      observer.expect(LAST);
      const out: Buffer[] = [];
      for (const piece of pieces) out.push(...(observer.push(piece) ?? [piece]));
      expect(Buffer.concat(out).toString('latin1')).toBe(output);
      expect(observer.waiting).toBe(0);
    }
  });

  it('forwards earlier pipelined responses unchanged and rewrites only the closing one', () => {
    const input = `${ok('one')}HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\ntwo`;
    for (const pieces of splits(input)) {
      const observer = new ResponseObserver<ExpectedResponse>({ final: () => undefined, complete: () => undefined });
      observer.expect(GET);
      observer.expect(LAST);
      const out: Buffer[] = [];
      for (const piece of pieces) out.push(...(observer.push(piece) ?? [piece]));
      expect(Buffer.concat(out).toString('latin1')).toBe(`${ok('one')}HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\ntwo`);
    }
  });

  it('leaves the chunk alone when nothing is rewritten', () => {
    const observer = new ResponseObserver<ExpectedResponse>({ final: () => undefined, complete: () => undefined });
    observer.expect(GET);
    expect(observer.push(Buffer.from('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Le'))).toBeNull();
    expect(observer.push(Buffer.from('ngth: 0\r\n\r\n'))).toBeNull();
    expect(observer.waiting).toBe(0);
  });

  it.each([
    { head: 'HTTP/1.1 200 OK\r\nConnection: close', expected: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n' },
    { head: 'HTTP/1.1 200 OK\r\nconnection: KEEP-ALIVE\r\nkeep-alive: max=100\r\nDate: x', expected: 'HTTP/1.1 200 OK\r\nDate: x\r\nConnection: close\r\n\r\n' },
  ])('closingResponseHead($head)', ({ head, expected }) => {
    expect(closingResponseHead(head)).toBe(expected);
  });
});
