import net from 'node:net';
import { canConnect, capturingLogger, freePortBlock } from '@st/test-kit';
import { failure } from '../errors.js';
import { testPortMap } from '../test-support/port-maps.js';
import { TlsContextHolder } from '../tls-context.js';
import { ConnectionLimits } from '../connection-limits.js';
import { PassiveDataListeners } from './data-listener.js';
import type { PassivePorts } from './passive-ports.js';
import { SessionRegistry } from './session-registry.js';

/**
 * The passive ports' sockets, one per port and shared by reference count:
 * what a reconcile does when a range changes. Connections here hold no lease
 * (every claim is refused), which is enough to see which ports accept.
 */
describe('PassiveDataListeners', () => {
  let base: number;
  let pool: PassiveDataListeners;
  let records: () => Array<Record<string, unknown>>;

  beforeEach(async () => {
    base = await freePortBlock(8, { hosts: ['127.0.0.1'] });
    const captured = capturingLogger('tunnel-gateway');
    records = captured.records;
    const noLeases = { claim: async (port: number) => ({ status: 'refused', failure: failure('DATA_NO_LEASE', { port }) }) } as unknown as PassivePorts;
    pool = new PassiveDataListeners({ portMap: () => testPortMap(), contexts: new TlsContextHolder(), passivePorts: noLeases, registry: new SessionRegistry(), logger: captured.logger, connectionLimits: new ConnectionLimits(() => testPortMap().limits) });
  });

  const range = (from: number, to: number) => ({ from: base + from, to: base + to });
  async function accepting(): Promise<number[]> {
    const open: number[] = [];
    for (let offset = 0; offset < 8; offset++) if (await canConnect('127.0.0.1', base + offset)) open.push(offset);
    return open;
  }

  it('a grown range keeps the shared ports and opens only the new ones; releasing the old one closes nothing shared', async () => {
    const old = await pool.acquire('127.0.0.1', range(0, 3));
    const grown = await pool.acquire('127.0.0.1', range(0, 5));
    expect(pool.openPorts).toEqual([0, 1, 2, 3, 4, 5].map((offset) => base + offset));
    await old.release(0);
    expect(await accepting()).toEqual([0, 1, 2, 3, 4, 5]);
    await grown.release(0);
    expect(pool.openPorts).toEqual([]);
    expect(await accepting()).toEqual([]);
  });

  it('a shifted range drains only the ports it left', async () => {
    const old = await pool.acquire('127.0.0.1', range(0, 3));
    const shifted = await pool.acquire('127.0.0.1', range(2, 5));
    await old.release(0);
    expect(await accepting()).toEqual([2, 3, 4, 5]);
    await shifted.release(0);
  });

  it('a shrunk range closes the ports it no longer names', async () => {
    const old = await pool.acquire('127.0.0.1', range(0, 5));
    const shrunk = await pool.acquire('127.0.0.1', range(1, 3));
    await old.release(0);
    expect(await accepting()).toEqual([1, 2, 3]);
    await shrunk.release(0);
  });

  it('all or nothing: a port that cannot be opened gives back what the call took, and the ports of others stay', async () => {
    const held = await pool.acquire('127.0.0.1', range(0, 1));
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(base + 4, '127.0.0.1', resolve));
    try {
      await expect(pool.acquire('127.0.0.1', range(0, 5))).rejects.toThrow(/EADDRINUSE/);
      expect(pool.openPorts).toEqual([base, base + 1]);
      expect(await accepting()).toEqual([0, 1, 4]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    await held.release(0);
    expect(pool.openPorts).toEqual([]);
  });

  it('releasing twice gives the ports back once', async () => {
    const first = await pool.acquire('127.0.0.1', range(0, 1));
    const second = await pool.acquire('127.0.0.1', range(0, 1));
    await first.release(0);
    await first.release(0);
    expect(pool.openPorts).toEqual([base, base + 1]);
    await second.release(0);
    expect(pool.openPorts).toEqual([]);
  });

  it('a connection without a lease is refused before any TLS work, naming the port', async () => {
    const ports = await pool.acquire('127.0.0.1', range(0, 0));
    const closed = new Promise<void>((resolve) => {
      const socket = net.connect(base, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    await closed;
    expect(records().find((record) => record.msg === 'connection refused')).toMatchObject({ reason: `no passive lease for port ${base}` });
    await ports.release(0);
  });
});
