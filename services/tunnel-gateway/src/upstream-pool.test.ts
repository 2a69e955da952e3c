import net from 'node:net';
import { once } from 'node:events';
import { UpstreamPool, type UpstreamConnection, type UpstreamUser } from './upstream-pool.js';
import { upstreamReadBuffers } from './read-buffer-pool.js';

/** A plain TCP server that keeps its accepted sockets, so a test can talk or close from the upstream's side. */
async function upstreamServer(): Promise<{ port: number; accepted: net.Socket[]; close(): Promise<void> }> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    close: async () => {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A user that records what it hears. */
function recordingUser(): UpstreamUser & { data: string[]; gone: number } {
  const user = {
    data: [] as string[],
    gone: 0,
    upstreamData(buffer: Buffer, bytes: number) {
      user.data.push(buffer.toString('latin1', 0, bytes));
      upstreamReadBuffers.release(buffer);
    },
    upstreamGone() {
      user.gone++;
    },
  };
  return user;
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const connected = async (connection: UpstreamConnection) => {
  if (connection.socket.connecting) await once(connection.socket, 'connect');
};

let upstream: Awaited<ReturnType<typeof upstreamServer>>;
let pools: UpstreamPool[] = [];
const pool = (keepMs = 5000, maxIdlePerAddress?: number) => {
  const created = new UpstreamPool({ keepMs: () => keepMs, ...(maxIdlePerAddress ? { maxIdlePerAddress } : {}) });
  pools.push(created);
  return created;
};

beforeEach(async () => {
  upstream = await upstreamServer();
});

afterEach(async () => {
  for (const created of pools) created.close();
  pools = [];
  await upstream.close();
});

describe('UpstreamPool', () => {
  it('gives a released connection to the next user, newest first, and its bytes to that user only', async () => {
    const kept = pool();
    const first = recordingUser();
    const a = kept.acquire('127.0.0.1', upstream.port, first);
    const b = kept.acquire('127.0.0.1', upstream.port, recordingUser());
    await Promise.all([connected(a), connected(b)]);
    kept.release(a, true);
    kept.release(b, true);
    expect(kept.idleCount).toBe(2);

    const second = recordingUser();
    const reused = kept.acquire('127.0.0.1', upstream.port, second);
    expect(reused).toBe(b);
    expect(reused.reuses).toBe(1);
    expect(kept.acquire('127.0.0.1', upstream.port, recordingUser())).toBe(a);
    expect(kept.idleCount).toBe(0);

    await until(() => upstream.accepted.length === 2, 'two accepted');
    const upstreamSideOfB = upstream.accepted.find((socket) => socket.remotePort === b.socket.localPort)!;
    upstreamSideOfB.write('for the second user');
    await until(() => second.data.length === 1, 'data');
    expect(second.data).toEqual(['for the second user']);
    expect(first.data).toEqual([]);
  });

  it('keeps connections per address', async () => {
    const other = await upstreamServer();
    try {
      const kept = pool();
      const toOther = kept.acquire('127.0.0.1', other.port, recordingUser());
      await connected(toOther);
      kept.release(toOther, true);
      const toUpstream = kept.acquire('127.0.0.1', upstream.port, recordingUser());
      expect(toUpstream).not.toBe(toOther);
      expect(kept.acquire('127.0.0.1', other.port, recordingUser())).toBe(toOther);
    } finally {
      await other.close();
    }
  });

  it.each([
    { desc: 'closes one whose side was ended', keepMs: 5000, clean: true, before: (c: UpstreamConnection) => c.socket.end(), kept: false },
    { desc: 'closes one the caller says is not clean', keepMs: 5000, clean: false, before: () => undefined, kept: false },
    { desc: 'closes when keeping is off (keepMs 0)', keepMs: 0, clean: true, before: () => undefined, kept: false },
    { desc: 'keeps a clean one when keeping is on', keepMs: 5000, clean: true, before: () => undefined, kept: true },
  ])('on release: $desc', async ({ keepMs, clean, before, kept }) => {
    const created = pool(keepMs);
    const user = recordingUser();
    const connection = created.acquire('127.0.0.1', upstream.port, user);
    await connected(connection);
    before(connection);
    created.release(connection, clean);
    expect(created.idleCount).toBe(kept ? 1 : 0);
    expect(connection.socket.destroyed).toBe(!kept);
    // A connection closed on release tells its former user nothing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(user.gone).toBe(0);
  });

  it('gives out a new connection when asked for a fresh one', async () => {
    const kept = pool();
    const connection = kept.acquire('127.0.0.1', upstream.port, recordingUser());
    await connected(connection);
    kept.release(connection, true);
    const fresh = kept.acquire('127.0.0.1', upstream.port, recordingUser(), true);
    expect(fresh).not.toBe(connection);
    expect(fresh.reuses).toBe(0);
    expect(kept.idleCount).toBe(1);
  });

  it('keeps at most maxIdlePerAddress idle connections', async () => {
    const kept = pool(5000, 2);
    const connections = [0, 1, 2].map(() => kept.acquire('127.0.0.1', upstream.port, recordingUser()));
    await Promise.all(connections.map(connected));
    for (const connection of connections) kept.release(connection, true);
    expect(kept.idleCount).toBe(2);
    expect(connections[2]!.socket.destroyed).toBe(true);
  });

  it('drops an idle connection the upstream closes, or talks on', async () => {
    const kept = pool();
    const closing = kept.acquire('127.0.0.1', upstream.port, recordingUser());
    const talking = kept.acquire('127.0.0.1', upstream.port, recordingUser());
    await Promise.all([connected(closing), connected(talking)]);
    await until(() => upstream.accepted.length === 2, 'two accepted');
    kept.release(closing, true);
    kept.release(talking, true);
    const sideOf = (c: UpstreamConnection) => upstream.accepted.find((socket) => socket.remotePort === c.socket.localPort)!;
    sideOf(closing).end();
    sideOf(talking).write('HTTP/1.1 408 Request Timeout\r\n\r\n');
    await until(() => kept.idleCount === 0, 'both dropped');
    expect(closing.closed).toBe(true);
    expect(talking.closed).toBe(true);
    const next = kept.acquire('127.0.0.1', upstream.port, recordingUser());
    expect([closing, talking]).not.toContain(next);
  });

  it('closes idle connections after keepMs', async () => {
    const kept = pool(200);
    const connection = kept.acquire('127.0.0.1', upstream.port, recordingUser());
    await connected(connection);
    const released = Date.now();
    kept.release(connection, true);
    await until(() => connection.closed, 'expired');
    const keptFor = Date.now() - released;
    expect(keptFor).toBeGreaterThanOrEqual(190);
    expect(keptFor).toBeLessThan(600);
    expect(kept.idleCount).toBe(0);
  });

  it('tells the user when its connection ends, and passes the error', async () => {
    const kept = pool();
    const errors: Array<string | null> = [];
    const connection = kept.acquire('127.0.0.1', upstream.port, {
      upstreamData: (buffer) => upstreamReadBuffers.release(buffer),
      upstreamGone: (error) => errors.push(error?.code ?? null),
    });
    await connected(connection);
    await until(() => upstream.accepted.length === 1, 'accepted');
    upstream.accepted[0]!.resetAndDestroy();
    await until(() => errors.length > 0 && connection.closed, 'gone');
    expect(errors).toContain('ECONNRESET');
    expect(connection.reusable).toBe(false);
  });
});
