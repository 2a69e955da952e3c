import net, { type AddressInfo } from 'node:net';
import { failure } from '../errors.js';
import { DataLink, type DataLinkOptions, type DataLinkResult } from './data-link.js';

/**
 * DataLink over real loopback sockets: an upstream data port (a net.Server
 * doing what a test asks) and a client pair (the client's end, and the
 * accepted socket the link is given). Plain TCP on both sides: TLS is the
 * listener's business, the link only relays.
 */
interface Upstream {
  port: number;
  accepted: Promise<net.Socket>;
  close(): Promise<void>;
}

async function upstreamServer(): Promise<Upstream> {
  let accept!: (socket: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => (accept = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    accept(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A connected client socket and its server side, which the link relays. */
async function clientPair(): Promise<{ client: net.Socket; served: net.Socket; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const servedPromise = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  const served = await servedPromise;
  served.on('error', () => undefined);
  server.close();
  return { client, served, close: () => (client.destroy(), served.destroy()) };
}

function readAll(socket: net.Socket): Promise<{ data: string; error: string | null }> {
  return new Promise((resolve) => {
    let data = '';
    let error: string | null = null;
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', (caught: NodeJS.ErrnoException) => (error = caught.code ?? caught.message));
    socket.on('close', () => resolve({ data, error }));
  });
}

const options = (port: number, overrides: Partial<DataLinkOptions> = {}): DataLinkOptions => ({
  id: 'dat_test',
  upstreamHost: '127.0.0.1',
  upstreamPort: port,
  idleTimeoutMs: 5000,
  connectTimeoutMs: 2000,
  lingerMs: 200,
  ...overrides,
});

describe('DataLink', () => {
  let upstream: Upstream;
  beforeEach(async () => {
    upstream = await upstreamServer();
  });
  afterEach(async () => {
    await upstream.close();
  });

  it('download: every upstream byte reaches the client, then a clean end; upstream-complete, done and closed follow', async () => {
    const link = new DataLink(options(upstream.port));
    const events: string[] = [];
    link.on('upstream-complete', () => events.push('upstream-complete'));
    link.on('done', () => events.push('done'));
    const closed = new Promise((resolve) => link.once('closed', resolve));
    const pair = await clientPair();
    const received = readAll(pair.client);
    const socket = await upstream.accepted;
    socket.write('a'.repeat(100_000));
    // Bytes sent before the client is attached wait for it.
    link.attachClient(pair.served, pair.served);
    socket.end('end');
    const result = await link.done;
    expect(result).toMatchObject({ ok: true, bytesToClient: 100_003, bytesToUpstream: 0 });
    expect(result.reason).toBeUndefined();
    pair.client.end();
    expect(await received).toEqual({ data: `${'a'.repeat(100_000)}end`, error: null });
    await closed;
    expect(events).toEqual(['upstream-complete', 'done']);
  });

  it('upload: the client end is passed on as the upstream end, after every byte', async () => {
    const link = new DataLink(options(upstream.port));
    const pair = await clientPair();
    link.attachClient(pair.served, pair.served);
    const socket = await upstream.accepted;
    const received = readAll(socket);
    pair.client.end('b'.repeat(50_000));
    // The upstream closes once it has the whole file (as an FTP server does after STOR).
    socket.on('end', () => socket.end());
    expect(await received).toEqual({ data: 'b'.repeat(50_000), error: null });
    expect(await link.done).toMatchObject({ ok: true, bytesToUpstream: 50_000 });
  });

  it('an upstream reset mid-download fails the link and resets the client (never a clean end of a truncated file)', async () => {
    const link = new DataLink(options(upstream.port));
    const pair = await clientPair();
    const received = readAll(pair.client);
    link.attachClient(pair.served, pair.served);
    const socket = await upstream.accepted;
    socket.write('partial');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.resetAndDestroy();
    const result = await link.done;
    expect(result.ok).toBe(false);
    expect(['DATA_UPSTREAM_ERROR', 'DATA_UPSTREAM_CLOSED_EARLY']).toContain(result.error);
    expect((await received).error).toBe('ECONNRESET');
  });

  it('abort resets both sides and reports the given failure', async () => {
    const link = new DataLink(options(upstream.port));
    const pair = await clientPair();
    const received = readAll(pair.client);
    link.attachClient(pair.served, pair.served);
    const socket = await upstream.accepted;
    const upstreamSide = readAll(socket);
    socket.write('x');
    await new Promise((resolve) => setTimeout(resolve, 50));
    link.abort(failure('DATA_ABORTED_BY_CLIENT'));
    expect(await link.done).toMatchObject({ ok: false, error: 'DATA_ABORTED_BY_CLIENT', reason: 'client sent ABOR' });
    expect((await received).error).toBe('ECONNRESET');
    expect((await upstreamSide).error).toBe('ECONNRESET');
    // A second abort changes nothing.
    link.abort(failure('DATA_REPLACED'));
    expect((await link.done).error).toBe('DATA_ABORTED_BY_CLIENT');
  });

  it('an upstream data port that refuses fails the link with the reason', async () => {
    const closedPort = upstream.port;
    await upstream.close();
    const link = new DataLink(options(closedPort));
    const result: DataLinkResult = await link.done;
    expect(result).toMatchObject({ ok: false, error: 'DATA_UPSTREAM_ERROR' });
    expect(result.reason).toMatch(/^upstream data connection: connect ECONNREFUSED/);
    upstream = await upstreamServer();
  });

  it('a link with no progress either way fails after the idle limit', async () => {
    const link = new DataLink(options(upstream.port, { idleTimeoutMs: 1000 }));
    const pair = await clientPair();
    link.attachClient(pair.served, pair.served);
    await upstream.accepted;
    expect(await link.done).toMatchObject({ ok: false, error: 'DATA_STALLED', reason: 'data connection stalled for 1000 ms' });
    pair.close();
  });

  it('a second client for the same link is reset at once', async () => {
    const link = new DataLink(options(upstream.port));
    const first = await clientPair();
    const second = await clientPair();
    const secondReceived = readAll(second.client);
    link.attachClient(first.served, first.served);
    link.attachClient(second.served, second.served);
    expect((await secondReceived).error).toBe('ECONNRESET');
    link.abort(failure('DATA_SESSION_ENDED', { reason: 'test over' }));
    first.close();
  });
});
