import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { curl, randomStream, tlsExchange } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

const bigBody = randomBytes(48 * 1024 * 1024);
const dripPieces = 10;
/** The stack's idle limit for client connections (controlIdleMs). */
const idleMs = 2000;

/** What the upstream received: one entry per request it parsed. */
const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }> = [];

function recordingUpstream(): http.Server {
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = req.url ?? '';
    if (url.startsWith('/echo')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url, headers: req.headers }));
      return;
    }
    if (url === '/upload') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(JSON.stringify({ size, sha256: hash.digest('hex'), transferEncoding: req.headers['transfer-encoding'] ?? null })));
      return;
    }
    if (url === '/big') {
      res.setHeader('content-length', bigBody.length);
      // In pieces of odd sizes, so that upstream reads, TLS records and client reads never line up.
      let at = 0;
      const next = () => {
        while (at < bigBody.length) {
          const piece = bigBody.subarray(at, at + 100_003);
          at += piece.length;
          if (!res.write(piece)) return res.once('drain', next);
        }
        res.end();
      };
      next();
      return;
    }
    if (url === '/truncated') {
      // Promises 1000 bytes, sends 100, then the upstream connection dies.
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(100), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    if (url === '/drip') {
      // 10 pieces, one every 300 ms: a response that takes longer than the idle limit, never idle for it.
      res.writeHead(200, { 'content-length': String(dripPieces * 1000) });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('d'.repeat(1000));
        if (++sent === dripPieces) {
          clearInterval(timer);
          res.end();
        }
      }, 300);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url === '/no-content') {
      res.statusCode = 204;
      res.end();
      return;
    }
    if (url === '/early-close') {
      // Answers an upload at once without reading it, then the connection dies while the client still sends.
      res.writeHead(401, { 'content-length': '0' });
      res.end(() => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    if (url === '/not-modified') {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  // Short, so that tests can see the upstream closing an idle connection.
  server.keepAliveTimeout = 300;
  return server;
}

let stack: Stack;
let upstream: http.Server;

beforeAll(async () => {
  upstream = recordingUpstream();
  // A short handshake limit, which also bounds how long a request head may take to arrive.
  // A short idle limit, so that tests can see it end a connection and see activity keep one open.
  stack = await startStack({
    webUpstream: upstream,
    settings: (settings) => ({ ...settings, timeouts: { ...settings.timeouts, handshakeMs: 3000, controlIdleMs: idleMs } }),
  });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(() => {
  seen.length = 0;
});

const exchange = (pieces: string[], enough?: (received: string) => boolean, gapMs?: number) => tlsExchange(stack, pieces, enough, gapMs);

// Bodies here are JSON without a final newline, so a status line may follow one directly.
const statusLines = (received: string) => received.match(/HTTP\/1\.1 \d{3} [^\r]*/g) ?? [];
const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: files.test\r\n${extra}\r\n`;

it('answers pipelined requests in order on one connection, each with our forwarding headers', async () => {
  const { received } = await exchange([get('/echo/1') + get('/echo/2', 'X-Forwarded-For: 6.6.6.6\r\n') + get('/echo/3', 'Connection: close\r\n')]);
  expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  expect(seen.map((r) => r.url)).toEqual(['/echo/1', '/echo/2', '/echo/3']);
  expect(seen.map((r) => r.headers['x-forwarded-for'])).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  expect(seen.map((r) => r.headers['x-forwarded-proto'])).toEqual(['https', 'https', 'https']);
  expect(seen.map((r) => r.headers['x-forwarded-port'])).toEqual([String(stack.ports.https), String(stack.ports.https), String(stack.ports.https)]);
});

it('refuses a bad chunk that came in one piece with its head, and goes on serving', async () => {
  // The upstream has the head already when the chunk turns out bad: its connection is dropped in the middle of reading.
  const { received, closed } = await exchange(['POST /upload HTTP/1.1\r\nHost: files.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']);
  expect(received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(closed).toBe(true);
  const next = await exchange([get('/echo/after', 'Connection: close\r\n')]);
  expect(statusLines(next.received)).toEqual(['HTTP/1.1 200 OK']);
});

it('strips forwarding headers spelt with underscores and keeps Connection from naming ours', async () => {
  const { received } = await exchange([get('/echo/u', 'X_Forwarded_For: 6.6.6.6\r\nTrue-Client-IP: 6.6.6.6\r\nConnection: X-Forwarded-For, X-Trace, close\r\n')]);
  expect(seen).toHaveLength(1);
  expect(seen[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
  expect(seen[0]!.headers['x_forwarded_for']).toBeUndefined();
  expect(seen[0]!.headers['true-client-ip']).toBeUndefined();
  // The close is the gateway's to carry out (the upstream connection is kept for the next client); other options go on.
  expect(seen[0]!.headers.connection).toBe('X-Trace');
  expect(received).toMatch(/\r\nConnection: close\r\n/i);
});

it('ends the connection cleanly when the upstream answers an upload early and closes while the body still arrives', async () => {
  const body = 'x'.repeat(4000);
  const { received, closed } = await exchange([`PUT /early-close HTTP/1.1\r\nHost: files.test\r\nContent-Length: ${body.length * 20}\r\n\r\n`, ...Array.from({ length: 20 }, () => body)]);
  expect(statusLines(received)).toEqual(['HTTP/1.1 401 Unauthorized']);
  expect(closed).toBe(true);
  const { readFile } = await import('node:fs/promises');
  expect(await readFile(stack.logFile, 'utf8')).not.toContain('HTTPS relay failed');
});

it('closes with 408 a connection whose request head does not complete in time, even while bytes trickle in (slowloris)', async () => {
  const started = Date.now();
  const trickle = ['GET /echo/slow HTTP/1.1\r\n', 'Host: files.test\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n'];
  const { received, closed } = await exchange(trickle, () => false, 450);
  expect(statusLines(received)).toEqual(['HTTP/1.1 408 Request Timeout']);
  expect(closed).toBe(true);
  // The limit counts from the connection's start (3 s here), not from the last byte.
  expect(Date.now() - started).toBeLessThan(4500);
  expect(seen).toEqual([]);
});

describe('idle limit (controlIdleMs)', () => {
  it('closes a kept-alive connection left idle after a response once the limit passes', async () => {
    let answeredAt = 0;
    const started = Date.now();
    const { received, closed } = await exchange([get('/echo/idle')], (text) => {
      if (statusLines(text).length === 1 && answeredAt === 0) answeredAt = Date.now();
      return false;
    });
    expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK']);
    expect(closed).toBe(true);
    const idleFor = Date.now() - answeredAt;
    expect(idleFor).toBeGreaterThanOrEqual(idleMs - 100);
    expect(idleFor).toBeLessThan(idleMs + 1000);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps a connection whose response trickles in for longer than the limit', async () => {
    const started = Date.now();
    const { received, closed } = await exchange([get('/drip', 'Connection: close\r\n')]);
    expect(Date.now() - started).toBeGreaterThan(idleMs);
    expect(closed).toBe(true);
    expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK']);
    expect(received.endsWith('d'.repeat(dripPieces * 1000))).toBe(true);
  });

  it('keeps a connection whose upload trickles in for longer than the limit', async () => {
    const piece = 'u'.repeat(1000);
    const started = Date.now();
    const { received } = await exchange(
      [`PUT /upload HTTP/1.1\r\nHost: files.test\r\nContent-Length: ${piece.length * 9}\r\nConnection: close\r\n\r\n`, ...Array.from({ length: 9 }, () => piece)],
      () => false,
      300,
    );
    expect(Date.now() - started).toBeGreaterThan(idleMs);
    expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK']);
    expect(received).toContain(`"size":${piece.length * 9}`);
  });
});

it('answers requests sent with the client FIN right behind them (half-close), then closes', async () => {
  const received = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, servername: 'localhost', checkServerIdentity: () => undefined });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`${text}[no close within 5 s]`);
    }, 5000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
    socket.once('secureConnect', () => socket.end(get('/echo/half-1') + get('/echo/half-2')));
  });
  expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  expect(received).not.toContain('[no close');
  expect(seen.map((r) => r.url)).toEqual(['/echo/half-1', '/echo/half-2']);
});

it('reads requests split at awkward places across TLS records', async () => {
  const text = `PUT /upload HTTP/1.1\r\nHost: files.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n${get('/echo/after', 'Connection: close\r\n')}`;
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += 7) pieces.push(text.slice(at, at + 7));
  const { received } = await exchange(pieces);
  expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  expect(received).toContain(JSON.stringify({ size: 11, sha256: createHash('sha256').update('hello world').digest('hex'), transferEncoding: 'chunked' }));
  expect(seen.map((r) => r.url)).toEqual(['/upload', '/echo/after']);
});

describe('smuggling attempts are refused with 400 and never reach the upstream', () => {
  it.each([
    {
      desc: 'Content-Length and Transfer-Encoding together (CL.TE)',
      request: 'POST /echo/front HTTP/1.1\r\nHost: files.test\r\nContent-Length: 43\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo/smuggled HTTP/1.1\r\nHost: files.test\r\n\r\n',
      reason: /both Transfer-Encoding and Content-Length/,
    },
    {
      desc: 'whitespace before the colon of Transfer-Encoding',
      request: 'POST /echo/front HTTP/1.1\r\nHost: files.test\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
      reason: /whitespace between a field name and its colon/,
    },
    { desc: 'an obfuscated Transfer-Encoding', request: 'POST /echo/front HTTP/1.1\r\nHost: files.test\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', reason: /single "chunked"/ },
    { desc: 'obs-fold', request: 'GET /echo/front HTTP/1.1\r\nHost: files.test\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n', reason: /obs-fold/ },
    { desc: 'differing Content-Length values', request: 'POST /echo/front HTTP/1.1\r\nHost: files.test\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc', reason: /differing Content-Length/ },
    { desc: 'a bare LF', request: 'GET /echo/front HTTP/1.1\nHost: files.test\n\n', reason: /bare LF/ },
    {
      desc: 'a GET with a body hiding a second request (an upstream ignoring GET bodies would run it)',
      request: 'GET /echo/front HTTP/1.1\r\nHost: files.test\r\nContent-Length: 64\r\n\r\nGET /echo/admin HTTP/1.1\r\nHost: files.test\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n',
      reason: /GET request with a body/,
    },
    { desc: 'a lower-case method (read as HEAD by some servers)', request: 'head /echo/front HTTP/1.1\r\nHost: files.test\r\n\r\n', reason: /not upper case/ },
  ])('$desc', async ({ request, reason }) => {
    const { received, closed } = await exchange([request]);
    expect(statusLines(received)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(received).toMatch(/\r\nConnection: close\r\n/);
    expect(received).toMatch(reason);
    expect(closed).toBe(true);
    expect(seen).toEqual([]);
  });

  it('a bad chunk size cuts the request off before the upstream takes it as complete', async () => {
    const { received } = await exchange(['POST /upload HTTP/1.1\r\nHost: files.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'zz\r\n0\r\n\r\n']);
    expect(statusLines(received)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(received).toMatch(/invalid chunk size/);
  });

  it('a refused request after good pipelined ones is answered after their responses', async () => {
    const { received } = await exchange([get('/echo/1') + get('/echo/2') + 'GET /echo/3 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n']);
    expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(seen.map((r) => r.url)).toEqual(['/echo/1', '/echo/2']);
  });
});

it.each([
  { desc: 'CONNECT', request: 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n', status: 'HTTP/1.1 405 Method Not Allowed' },
  { desc: 'HTTP/2.0 in a request line', request: 'GET / HTTP/2.0\r\nHost: files.test\r\n\r\n', status: 'HTTP/1.1 505 HTTP Version Not Supported' },
  { desc: 'a head over 16 KiB', request: `GET / HTTP/1.1\r\nHost: files.test\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 'HTTP/1.1 431 Request Header Fields Too Large' },
])('refuses $desc', async ({ request, status }) => {
  const { received, closed } = await exchange([request]);
  expect(statusLines(received)).toEqual([status]);
  expect(closed).toBe(true);
  expect(seen).toEqual([]);
});

it('names the connection (conn) in every record about it, as in its "HTTPS connection opened" record', async () => {
  const clientPort = await new Promise<number>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, checkServerIdentity: () => undefined }, () => {
      const port = socket.localPort ?? 0;
      socket.on('close', () => resolve(port));
      socket.write('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    });
    socket.on('data', () => undefined);
    socket.on('error', reject);
  });
  const { readFile } = await import('node:fs/promises');
  const records = async () =>
    (await readFile(stack.logFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  let opened: Record<string, unknown> | undefined;
  await waitFor(async () => (opened = (await records()).find((r) => r.msg === 'HTTPS connection opened' && r.clientPort === clientPort)) !== undefined, 5000, 'the connection record');
  expect(opened?.conn).toMatch(/^web_/);
  const refused = (await records()).filter((r) => r.msg === 'bad HTTP request refused' && r.conn === opened?.conn);
  expect(refused).toEqual([expect.objectContaining({ status: 405, client: '127.0.0.1' })]);
});

it('does not let bytes after a refused upgrade bypass the request checks', async () => {
  // Without an 'upgrade' listener Node answers an upgrade request like any other: a refusal, the connection stays HTTP.
  const listeners = upstream.listeners('upgrade');
  upstream.removeAllListeners('upgrade');
  try {
    const { received } = await exchange([
      get('/echo/ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\n') + get('/echo/next', 'X-Forwarded-For: 6.6.6.6\r\n') + 'POST /echo/evil HTTP/1.1\r\nHost: files.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ]);
    expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(seen.map((r) => r.url)).toEqual(['/echo/ws', '/echo/next']);
    expect(seen[1]?.headers['x-forwarded-for']).toBe('127.0.0.1');
  } finally {
    for (const listener of listeners) upstream.on('upgrade', listener as (...args: unknown[]) => void);
  }
});

it('cuts the client connection when the upstream breaks off a response', async () => {
  const { received, closed } = await exchange([get('/truncated')]);
  expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK']);
  expect(received.endsWith('x'.repeat(100))).toBe(true);
  expect(closed).toBe(true);
  // curl sees the connection end before the promised length.
  const result = await curl(stack, ['--output', '/dev/null', `https://127.0.0.1:${stack.ports.https}/truncated`]);
  expect(result.code).toBe(18);
});

it('keeps the client connection when the upstream closes an idle one, and reconnects for the next request', async () => {
  const { received } = await new Promise<{ received: string }>((resolve, reject) => {
    let received = '';
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, checkServerIdentity: () => undefined }, async () => {
      socket.write(get('/echo/1'));
      await waitFor(() => statusLines(received).length === 1, 5000, 'first response');
      // Longer than the upstream's keep-alive timeout (300 ms).
      await new Promise((r) => setTimeout(r, 800));
      socket.write(get('/echo/2', 'Connection: close\r\n'));
    });
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', () => resolve({ received }));
    socket.on('error', reject);
  });
  expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  expect(seen.map((r) => r.url)).toEqual(['/echo/1', '/echo/2']);
});

it('delimits responses without a body (HEAD, 204, 304) on a kept-alive connection', async () => {
  const { received } = await exchange([
    `HEAD /echo/h HTTP/1.1\r\nHost: files.test\r\n\r\n${get('/no-content')}${get('/not-modified')}${get('/echo/last', 'Connection: close\r\n')}`,
  ]);
  expect(statusLines(received)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 204 No Content', 'HTTP/1.1 304 Not Modified', 'HTTP/1.1 200 OK']);
});

it('delivers a large download intact to a client that reads slowly', async () => {
  const digest = createHash('sha256');
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, checkServerIdentity: () => undefined }, () =>
      socket.write(get('/big', 'Connection: close\r\n')),
    );
    let head = true;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (head) {
        pending = Buffer.concat([pending, chunk]);
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        head = false;
        chunk = pending.subarray(end + 4);
      }
      size += chunk.length;
      digest.update(chunk);
      // Stalls now and then, so that the gateway's writes queue up and its upstream reads pause.
      if (Math.random() < 0.05) {
        socket.pause();
        setTimeout(() => socket.resume(), 5);
      }
    });
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  expect(size).toBe(bigBody.length);
  expect(digest.digest('hex')).toBe(createHash('sha256').update(bigBody).digest('hex'));
});

describe('real clients', () => {
  it('undici: a chunked upload of 20 MiB arrives intact', async () => {
    const dispatcher = new Agent({ connect: { ca: stack.caPem } });
    const source = randomStream(20 * 1024 * 1024);
    const response = await request(`https://127.0.0.1:${stack.ports.https}/upload`, { method: 'POST', body: source.stream, dispatcher });
    const result = (await response.body.json()) as { size: number; sha256: string; transferEncoding: string | null };
    await dispatcher.close();
    expect(result).toEqual({ size: 20 * 1024 * 1024, sha256: source.sha256(), transferEncoding: 'chunked' });
  });

  it('curl: HTTP/1.0, HEAD, and an upload with Expect: 100-continue', async () => {
    const url = `https://127.0.0.1:${stack.ports.https}`;
    const http10 = await curl(stack, ['--http1.0', '--include', `${url}/echo/old`]);
    expect(http10.code).toBe(0);
    expect(http10.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(JSON.parse(http10.stdout.slice(http10.stdout.indexOf('\r\n\r\n') + 4)).headers['x-forwarded-for']).toBe('127.0.0.1');

    const head = await curl(stack, ['--head', `${url}/echo/head`]);
    expect(head.code).toBe(0);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 200 OK/);

    const file = join(stack.dir, 'expect-upload.bin');
    const content = randomBytes(3 * 1024 * 1024);
    await writeFile(file, content);
    const upload = await curl(stack, ['--header', 'Expect: 100-continue', '--upload-file', file, `${url}/upload`]);
    expect(upload.code).toBe(0);
    expect(JSON.parse(upload.stdout)).toMatchObject({ size: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    expect(seen.find((r) => r.url === '/upload')?.headers.expect).toBe('100-continue');
  });
});
