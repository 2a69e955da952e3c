import { RequestReader } from './request-reader.js';
import { HttpSyntaxError } from './syntax.js';

/** What a reader reported, in order: heads as "METHOD target", bodies as text, ends as "end", errors as "status message". */
function read(pieces: Buffer[]): { events: string[]; reader: RequestReader } {
  const events: string[] = [];
  let body = '';
  const reader = new RequestReader({
    head: (head) => events.push(`${head.method} ${head.target}`),
    body: (data) => (body += data.toString('latin1')),
    end: () => {
      if (body) events.push(`body ${JSON.stringify(body)}`);
      body = '';
      events.push('end');
    },
  });
  try {
    for (const piece of pieces) reader.push(piece);
  } catch (error) {
    if (!(error instanceof HttpSyntaxError)) throw error;
    events.push(`${error.status} ${error.message}`);
  }
  return { events, reader };
}

function splits(text: string): Buffer[][] {
  const bytes = Buffer.from(text, 'latin1');
  const ways: Buffer[][] = [[bytes]];
  for (let cut = 1; cut < bytes.length; cut++) ways.push([bytes.subarray(0, cut), bytes.subarray(cut)]);
  ways.push([...bytes].map((byte) => Buffer.from([byte])));
  return ways;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`;

describe('RequestReader', () => {
  it.each([
    { desc: 'one request without a body', input: get('/a'), events: ['GET /a', 'end'] },
    { desc: 'pipelined requests', input: get('/a') + get('/b') + get('/c'), events: ['GET /a', 'end', 'GET /b', 'end', 'GET /c', 'end'] },
    {
      desc: 'a length body between pipelined requests',
      input: `PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello${get('/b')}`,
      events: ['PUT /up', 'body "hello"', 'end', 'GET /b', 'end'],
    },
    {
      desc: 'a chunked body passed on with its framing',
      input: `POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${get('/b')}`,
      events: ['POST /c', 'body "3\\r\\nabc\\r\\n0\\r\\n\\r\\n"', 'end', 'GET /b', 'end'],
    },
    { desc: 'empty lines before a request line', input: `\r\n\r\n${get('/a')}`, events: ['GET /a', 'end'] },
    { desc: 'nothing after a request that closes the connection', input: get('/a', 'Connection: close\r\n') + get('/b'), events: ['GET /a', 'end'] },
    {
      desc: 'a smuggled request hidden behind Content-Length and chunked',
      input: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n',
      events: ['400 both Transfer-Encoding and Content-Length'],
    },
    { desc: 'a second request with a bad head after a good one', input: get('/a') + 'GET /b HTTP/1.1\r\nHost : h\r\n\r\n', events: ['GET /a', 'end', '400 request header: whitespace between a field name and its colon'] },
    { desc: 'a bare LF head, refused before its end arrives', input: 'GET / HTTP/1.1\nHost: h\n', events: ['400 request: a bare LF line ending'] },
    { desc: 'a bad chunk size', input: `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n`, events: ['POST /', '400 invalid chunk size "z"'] },
  ])('$desc, split at every offset', ({ input, events }) => {
    for (const pieces of splits(input)) expect(read(pieces).events).toEqual(events);
  });

  it('refuses a head over 16 KiB with 431, before it ends', () => {
    const { events } = read([Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(17_000)}`)]);
    expect(events).toEqual(['431 request head longer than 16384 bytes']);
  });

  it('accepts a head just under the limit spread over many pieces', () => {
    const text = get('/a', `X-Big: ${'a'.repeat(16_000)}\r\n`);
    const pieces = splits(text)[0]![0]!;
    const chunks: Buffer[] = [];
    for (let at = 0; at < pieces.length; at += 1000) chunks.push(pieces.subarray(at, at + 1000));
    expect(read(chunks).events).toEqual(['GET /a', 'end']);
  });

  it('takes a 16 KiB head one byte at a time (one TLS record each) and never rewrites handed-out body bytes', () => {
    const text = `PUT /a HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(16_000)}\r\nContent-Length: 6\r\n\r\nbodyAB`;
    const bytes = Buffer.from(text, 'latin1');
    const handedOut: Buffer[] = [];
    const reader = new RequestReader({ head: () => undefined, body: (data) => void handedOut.push(data), end: () => undefined });
    for (let at = 0; at < bytes.length - 2; at++) reader.push(bytes.subarray(at, at + 1));
    // The body's first bytes were handed out as a slice; later pieces must not land on top of them.
    reader.push(bytes.subarray(bytes.length - 2));
    expect(Buffer.concat(handedOut).toString('latin1')).toBe('bodyAB');
    expect(handedOut.map((piece) => piece.toString('latin1')).join('|')).toBe('b|o|d|y|AB');
  });

  it('stops after an error: later bytes are ignored', () => {
    const { reader } = read([Buffer.from('GET / HTTP/3.0\r\n\r\n')]);
    expect(() => reader.push(Buffer.from(get('/b')))).not.toThrow();
  });

  describe('upgrade', () => {
    const upgrade = get('/ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\n');

    it('holds the bytes after an upgrade request and hands them to the tunnel', () => {
      for (const pieces of splits(upgrade + 'frames\r\n\r\nmore')) {
        const { events, reader } = read(pieces);
        expect(events).toEqual(['GET /ws', 'end']);
        expect(reader.holding).toBe(true);
        expect(reader.takeHeld()?.toString()).toBe('frames\r\n\r\nmore');
      }
    });

    it('reads the held bytes as HTTP when the upgrade is refused, so they cannot bypass the checks', () => {
      const events: string[] = [];
      const reader = new RequestReader({ head: (head) => events.push(`${head.method} ${head.target}`), body: () => undefined, end: () => events.push('end') });
      reader.push(Buffer.from(upgrade + get('/next') + 'GET /bad HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\nHost: h\r\n\r\n'));
      expect(events).toEqual(['GET /ws', 'end']);
      expect(() => reader.resume()).toThrow(/both Transfer-Encoding and Content-Length/);
      expect(events).toEqual(['GET /ws', 'end', 'GET /next', 'end']);
    });

    it('has nothing held when nothing followed the upgrade request', () => {
      const { reader } = read([Buffer.from(upgrade)]);
      expect(reader.holding).toBe(true);
      expect(reader.takeHeld()).toBeNull();
    });
  });
});
