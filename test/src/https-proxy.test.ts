import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { randomStream } from './harness/clients.js';
import { startStack, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

const bigSize = 100 * 1024 * 1024;
const downloadBody = randomBytes(8 * 1024 * 1024);

/** A plain HTTP upstream that shows what it saw: headers, body hash, and which socket carried the request. */
function inspectingUpstream(): http.Server {
  const server = http.createServer((req, res) => {
    if (req.url === '/echo-headers') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers, upstreamSocketPort: req.socket.remotePort }));
      return;
    }
    if (req.url === '/download') {
      res.setHeader('content-length', downloadBody.length);
      res.setHeader('x-sha256', createHash('sha256').update(downloadBody).digest('hex'));
      if (req.method === 'HEAD') return res.end();
      res.end(downloadBody);
      return;
    }
    if (req.url === '/upload' && req.method === 'PUT') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ size, sha256: hash.digest('hex') }));
      });
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  server.on('upgrade', (req, socket, head) => {
    // RFC 6455 §4.2.2: the accept value proves the handshake was read; after it, an echo of raw frames is enough here.
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  return server;
}

let stack: Stack;
let dispatcher: Agent;
let upstream: http.Server;

beforeAll(async () => {
  upstream = inspectingUpstream();
  stack = await startStack({ webUpstream: upstream });
  dispatcher = new Agent({ connect: { ca: stack.caPem }, connections: 1 });
});

afterAll(async () => {
  await dispatcher?.close();
  await stack?.stop();
});

const base = () => `https://127.0.0.1:${stack.ports.https}`;

it('GET streams a body intact and HEAD gives the headers only', async () => {
  const get = await request(`${base()}/download`, { dispatcher });
  const body = Buffer.from(await get.body.arrayBuffer());
  expect(get.statusCode).toBe(200);
  expect(body.equals(downloadBody)).toBe(true);
  const head = await request(`${base()}/download`, { method: 'HEAD', dispatcher });
  await head.body.dump();
  expect(head.statusCode).toBe(200);
  expect(head.headers['content-length']).toBe(String(downloadBody.length));
});

it('uploads a 100 MiB body intact, streamed', async () => {
  const source = randomStream(bigSize);
  const body = source.stream;
  const response = await request(`${base()}/upload`, { method: 'PUT', body, headers: { 'content-length': String(bigSize) }, dispatcher });
  const seen = (await response.body.json()) as { size: number; sha256: string };
  expect(response.statusCode).toBe(200);
  expect(seen.size).toBe(bigSize);
  expect(seen.sha256).toBe(source.sha256());
});

it('sets X-Forwarded-For/-Proto/-Host and drops forged ones; reuses the upstream connection', async () => {
  // A client asking for another virtual host: its Host header must reach the upstream as X-Forwarded-Host.
  const otherHost = new Agent({ connect: { ca: stack.caPem, checkServerIdentity: () => undefined }, connections: 1 });
  const first = await request(`${base()}/echo-headers`, { headers: { 'x-forwarded-for': '6.6.6.6', host: 'files.example.test' }, dispatcher: otherHost });
  const seen = (await first.body.json()) as { headers: Record<string, string>; upstreamSocketPort: number };
  expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  expect(seen.headers['x-forwarded-proto']).toBe('https');
  expect(seen.headers['x-forwarded-host']).toBe('files.example.test');
  // Each client connection has its own upstream connection (as with stunnel), reused for all its requests.
  // The same Host keeps undici on the same TLS connection (a different one changes the SNI and makes it reconnect).
  const second = await request(`${base()}/echo-headers`, { headers: { host: 'files.example.test' }, dispatcher: otherHost });
  const again = (await second.body.json()) as { upstreamSocketPort: number };
  expect(again.upstreamSocketPort).toBe(seen.upstreamSocketPort);
  await otherHost.close();
});

it('keeps the client connection alive across requests', async () => {
  const agent = new https.Agent({ ca: stack.caPem, keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      https
        .get(`${base()}/echo-headers`, { agent }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  }
  agent.destroy();
  expect(sockets.size).toBe(1);
});

it('passes a WebSocket-style upgrade through both ways', async () => {
  const echoed = await new Promise<string>((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const req = https.request(`${base()}/ws`, {
      ca: stack.caPem,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
    });
    req.on('upgrade', (res, socket) => {
      expect(res.headers['sec-websocket-accept']).toBe(createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
        if (text.length >= 11) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.write('hello world');
    });
    req.on('error', reject);
    req.end();
  });
  expect(echoed).toBe('hello world');
});

it('answers 502 when the upstream web port is down, and keeps serving', async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  upstream.closeAllConnections();
  const response = await request(`${base()}/echo-headers`, { dispatcher: new Agent({ connect: { ca: stack.caPem } }) });
  expect(response.statusCode).toBe(502);
  expect(await response.body.text()).toMatch(/Bad Gateway/);
  await new Promise<void>((resolve) => upstream.listen(stack.ports.upstreamWeb, '127.0.0.1', resolve));
  const back = await request(`${base()}/echo-headers`, { dispatcher: new Agent({ connect: { ca: stack.caPem } }) });
  expect(back.statusCode).toBe(200);
  await back.body.dump();
});

describe('TLS policy on the public ports', () => {
  function handshake(options: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string } | { error: string }> {
    return new Promise((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, ...options }, () => {
        const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
        socket.destroy();
        resolve(result);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
  }

  it('negotiates TLS 1.3 by default', async () => {
    expect(await handshake({})).toMatchObject({ protocol: 'TLSv1.3' });
  });

  it('accepts TLS 1.2 with a forward-secret suite only', async () => {
    expect(await handshake({ maxVersion: 'TLSv1.2' })).toMatchObject({ protocol: 'TLSv1.2', cipher: expect.stringMatching(/^ECDHE-/) });
    expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' })).toEqual({ error: expect.stringMatching(/HANDSHAKE_FAILURE/) });
  });

  it('refuses TLS 1.1 and older', async () => {
    expect(await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).toEqual({ error: expect.stringMatching(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS/) });
  });
});
