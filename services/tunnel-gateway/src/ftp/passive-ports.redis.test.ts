import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { PortMap } from '@st/contracts';
import { GatewayError } from '../errors.js';
import { testPortMap } from '../test-support/port-maps.js';
import { acquireFromPoolScript, claimScript, dataProtection, placePassivePort, PassivePorts, releaseOwnScript, type LeaseRequest } from './passive-ports.js';

// Real Redis (REDIS_URL, or the local one scripts/bootstrap.sh starts); every test has its own key prefix.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('placePassivePort', () => {
  const pool = testPortMap((map) => {
    map.passive = { mode: 'pool' };
    map.listeners[2]!.ports = { from: 5000, to: 5003 };
  });
  const noData = testPortMap((map) => {
    map.listeners = map.listeners.filter((listener) => listener.protocol !== 'ftp-data');
  });
  it.each<{ desc: string; portMap: PortMap; upstreamPort: number; expected: unknown }>([
    { desc: 'offset: the upstream port plus the offset', portMap: testPortMap(), upstreamPort: 3004, expected: { kind: 'fixed', publicPort: 4004 } },
    { desc: 'offset: first port of the range', portMap: testPortMap(), upstreamPort: 3000, expected: { kind: 'fixed', publicPort: 4000 } },
    { desc: 'offset: last port of the range', portMap: testPortMap(), upstreamPort: 3008, expected: { kind: 'fixed', publicPort: 4008 } },
    {
      desc: 'offset: a port past the range has its own code (not POOL_EXHAUSTED)',
      portMap: testPortMap(),
      upstreamPort: 3009,
      expected: { code: 'PASSIVE_PORT_OUTSIDE_RANGE', details: { upstreamPort: 3009, range: '3000-3008' } },
    },
    { desc: 'offset: a port before the range', portMap: testPortMap(), upstreamPort: 2999, expected: { code: 'PASSIVE_PORT_OUTSIDE_RANGE', details: { upstreamPort: 2999, range: '3000-3008' } } },
    { desc: 'pool: any port of the public range', portMap: pool, upstreamPort: 3004, expected: { kind: 'pool', range: { from: 5000, to: 5003 } } },
    { desc: 'no ftp-data listener: passive is disabled (not POOL_EXHAUSTED)', portMap: noData, upstreamPort: 3004, expected: { code: 'PASSIVE_DISABLED' } },
  ])('$desc', ({ portMap, upstreamPort, expected }) => {
    expect(placePassivePort(portMap, upstreamPort)).toEqual(expected);
  });
});

describe('dataProtection (decided in one place)', () => {
  it.each([
    { level: 'P', allowClearData: false, expected: 'tls' },
    { level: 'P', allowClearData: true, expected: 'tls' },
    { level: 'C', allowClearData: true, expected: 'clear' },
    // PROT C accepted earlier, then the policy changed: the data connection is TLS anyway.
    { level: 'C', allowClearData: false, expected: 'tls' },
  ] as const)('PROT $level with allowClearData=$allowClearData → $expected', ({ level, allowClearData, expected }) => {
    expect(dataProtection(level, { allowClearData })).toBe(expected);
  });
});

/** The process carrying data connections in these tests. */
const carrier = { replica: 'gw-data', incarnation: 'inc-1' };

describe('PassivePorts against a real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let ports: PassivePorts;
  const request = (overrides: Partial<LeaseRequest> = {}): LeaseRequest => ({
    upstreamPort: 3004,
    clientIp: '192.0.2.7',
    sessionId: 'ses_a',
    replica: 'gw-1',
    protectionLevel: 'P',
    ...overrides,
  });

  beforeAll(() => {
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  });
  beforeEach(() => {
    prefix = `sttest:pp:${randomBytes(4).toString('hex')}:`;
    ports = new PassivePorts(redis, prefix);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('offset mode: writes the pending lease with its TTL, replacing one left on the same port', async () => {
    await ports.acquire(request({ sessionId: 'ses_old' }), testPortMap());
    const lease = await ports.acquire(request(), testPortMap());
    expect(lease).toEqual({ publicPort: 4004, upstreamPort: 3004, clientIp: '192.0.2.7', sessionId: 'ses_a', replica: 'gw-1', encryptData: true });
    expect(JSON.parse((await redis.get(`${prefix}lease:4004`))!)).toEqual(lease);
    const ttl = await redis.pttl(`${prefix}lease:4004`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('offset mode: a port outside the range is refused with its own code and writes nothing', async () => {
    await expect(ports.acquire(request({ upstreamPort: 3100 }), testPortMap())).rejects.toMatchObject({ code: 'PASSIVE_PORT_OUTSIDE_RANGE' });
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it('records the data protection decided when the lease is taken', async () => {
    const allowClear = testPortMap((map) => (map.tls.allowClearData = true));
    expect((await ports.acquire(request({ protectionLevel: 'C' }), allowClear)).encryptData).toBe(false);
    expect((await ports.acquire(request({ protectionLevel: 'C', upstreamPort: 3005 }), testPortMap())).encryptData).toBe(true);
  });

  describe('the pool script', () => {
    const pool = (from: number, to: number) =>
      testPortMap((map) => {
        map.passive = { mode: 'pool' };
        map.listeners[2]!.ports = { from, to };
      });

    it('takes every port of the pool once, then says the pool is exhausted', async () => {
      const taken = new Set<number>();
      for (let i = 0; i < 4; i++) taken.add((await ports.acquire(request({ sessionId: `ses_${i}` }), pool(5000, 5003))).publicPort);
      expect([...taken].sort()).toEqual([5000, 5001, 5002, 5003]);
      const error = await ports.acquire(request({ sessionId: 'ses_late' }), pool(5000, 5003)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code: 'POOL_EXHAUSTED', message: 'every public passive port 5000-5003 is leased' });
    });

    it.each([
      { desc: 'from its start when that port is free', start: 5002, held: [], expected: 5002 },
      { desc: 'skipping held ports', start: 5002, held: [5002, 5003], expected: 5000 },
      { desc: 'wrapping around the end', start: 5003, held: [5003], expected: 5000 },
      { desc: 'to the last free port', start: 5000, held: [5000, 5001, 5002], expected: 5003 },
      { desc: 'nowhere when all are held', start: 5001, held: [5000, 5001, 5002, 5003], expected: -1 },
    ])('scans from a start, $desc', async ({ start, held, expected }) => {
      for (const port of held) await redis.set(`${prefix}lease:${port}`, '{}', 'PX', 10_000);
      const template = JSON.stringify({ publicPort: 0, sessionId: 'ses_s' });
      const port = Number(await redis.eval(acquireFromPoolScript, 0, `${prefix}lease:`, 5000, 5003, start, 10_000, template, `${prefix}lease-client:192.0.2.7`, 100));
      expect(port).toBe(expected);
      if (expected > 0) expect(JSON.parse((await redis.get(`${prefix}lease:${expected}`))!)).toEqual({ publicPort: expected, sessionId: 'ses_s' });
    });
  });

  describe('the claim script', () => {
    it('the leased client claims: the pending key becomes an active one with the data TTL', async () => {
      const lease = await ports.acquire(request(), testPortMap());
      const claim = await ports.claim(4004, '192.0.2.7', 'dat_1', testPortMap(), carrier);
      expect(claim).toMatchObject({ status: 'claimed', lease, protection: 'tls' });
      expect(await redis.exists(`${prefix}lease:4004`)).toBe(0);
      const activeTtl = await redis.pttl(`${prefix}lease-active:4004:dat_1`);
      expect(activeTtl).toBeGreaterThan(200_000);
      if (claim.status === 'claimed') await claim.active.release();
      expect(await redis.exists(`${prefix}lease-active:4004:dat_1`)).toBe(0);
    });

    it('a claim leaves a marker under the session naming the link and its carrier; releasing the link removes both keys', async () => {
      await ports.acquire(request(), testPortMap());
      const claim = await ports.claim(4004, '192.0.2.7', 'dat_1', testPortMap(), carrier);
      expect(JSON.parse((await redis.hget(`${prefix}lease-claim:ses_a:4004`, 'dat_1'))!)).toEqual({ linkId: 'dat_1', publicPort: 4004, dataReplica: 'gw-data', dataIncarnation: 'inc-1', claimedAt: expect.any(Number) });
      if (claim.status === 'claimed') await claim.active.release();
      expect(await redis.keys(`${prefix}lease*`)).toEqual([]);
    });

    it('another address is refused and the lease keeps waiting for the right client', async () => {
      await ports.acquire(request(), testPortMap());
      const claim = await ports.claim(4004, '192.0.2.66', 'dat_x', testPortMap(), carrier);
      expect(claim).toEqual({ status: 'refused', failure: { code: 'DATA_WRONG_CLIENT', details: { port: 4004, expected: '192.0.2.7', actual: '192.0.2.66' } } });
      expect(await redis.exists(`${prefix}lease:4004`)).toBe(1);
      expect(await redis.exists(`${prefix}lease-active:4004:dat_x`)).toBe(0);
    });

    it('no lease: refused, nothing written', async () => {
      expect(await ports.claim(4001, '192.0.2.7', 'dat_2', testPortMap(), carrier)).toEqual({ status: 'refused', failure: { code: 'DATA_NO_LEASE', details: { port: 4001 } } });
      expect(await redis.keys(`${prefix}*`)).toEqual([]);
    });

    it('a lease is claimed once', async () => {
      await ports.acquire(request(), testPortMap());
      const first = await ports.claim(4004, '192.0.2.7', 'dat_1', testPortMap(), carrier);
      const second = await ports.claim(4004, '192.0.2.7', 'dat_2', testPortMap(), carrier);
      expect([first.status, second.status]).toEqual(['claimed', 'refused']);
      if (first.status === 'claimed') await first.active.release();
    });

    it('a clear lease becomes TLS when the policy forbade clear data meanwhile', async () => {
      const allowClear = testPortMap((map) => (map.tls.allowClearData = true));
      await ports.acquire(request({ protectionLevel: 'C' }), allowClear);
      const claim = await ports.claim(4004, '192.0.2.7', 'dat_1', testPortMap(), carrier);
      expect(claim).toMatchObject({ status: 'claimed', protection: 'tls' });
      if (claim.status === 'claimed') await claim.active.release();
    });

    it('the raw script answers no-lease, wrong-client with the leased address, and claimed with the lease', async () => {
      const pending = `${prefix}lease:4000`;
      const active = `${prefix}lease-active:4000:dat`;
      expect(await redis.eval(claimScript, 2, pending, active, '192.0.2.7', 1000, `${prefix}lease-client:`, 4000, `${prefix}lease-claim:`, 'dat', 'gw', 'inc')).toEqual(['no-lease']);
      await redis.set(pending, JSON.stringify({ clientIp: '192.0.2.7', sessionId: 'ses_r' }));
      expect(await redis.eval(claimScript, 2, pending, active, '192.0.2.8', 1000, `${prefix}lease-client:`, 4000, `${prefix}lease-claim:`, 'dat', 'gw', 'inc')).toEqual(['wrong-client', '192.0.2.7']);
      const claimed = (await redis.eval(claimScript, 2, pending, active, '192.0.2.7', 1000, `${prefix}lease-client:`, 4000, `${prefix}lease-claim:`, 'dat', 'gw', 'inc')) as string[];
      expect(claimed.slice(0, 2)).toEqual(['claimed', JSON.stringify({ clientIp: '192.0.2.7', sessionId: 'ses_r' })]);
      expect(JSON.parse(claimed[2]!)).toEqual({ linkId: 'dat', publicPort: 4000, dataReplica: 'gw', dataIncarnation: 'inc', claimedAt: expect.any(Number) });
      const ttl = await redis.pttl(active);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1000);
    });
  });

  describe('the release script', () => {
    it('releases the session’s own pending lease', async () => {
      await ports.acquire(request(), testPortMap());
      await ports.releasePending(4004, 'ses_a');
      expect(await redis.exists(`${prefix}lease:4004`)).toBe(0);
    });

    it('leaves a lease another session took on the same port since', async () => {
      await ports.acquire(request({ sessionId: 'ses_b' }), testPortMap());
      await ports.releasePending(4004, 'ses_a');
      expect(await redis.exists(`${prefix}lease:4004`)).toBe(1);
    });

    it('answers 0 for no lease and 1 for a deleted one', async () => {
      expect(await redis.eval(releaseOwnScript, 1, `${prefix}lease:4002`, 'ses_a', `${prefix}lease-client:`, 4002)).toBe(0);
      await redis.set(`${prefix}lease:4002`, JSON.stringify({ sessionId: 'ses_a' }));
      expect(await redis.eval(releaseOwnScript, 1, `${prefix}lease:4002`, 'ses_a', `${prefix}lease-client:`, 4002)).toBe(1);
    });
  });

  describe('waiting leases per client address', () => {
    const limited = (perClient: number, pool = false) =>
      testPortMap((map) => {
        map.limits.maxPassiveLeasesPerClient = perClient;
        if (pool) {
          map.passive = { mode: 'pool' };
          map.listeners[2]!.ports = { from: 5000, to: 5007 };
        }
      });
    const waiting = (address: string) => redis.zrange(`${prefix}lease-client:${address}`, 0, -1);

    it.each([{ mode: 'offset', pool: false }, { mode: 'pool', pool: true }])(
      '$mode: one address gets its limit and a clear refusal; another address still gets ports',
      async ({ pool }) => {
        const map = limited(2, pool);
        await ports.acquire(request({ sessionId: 'ses_1', upstreamPort: 3000 }), map);
        await ports.acquire(request({ sessionId: 'ses_2', upstreamPort: 3001 }), map);
        const error = await ports.acquire(request({ sessionId: 'ses_3', upstreamPort: 3002 }), map).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(GatewayError);
        expect(error).toMatchObject({
          code: 'CLIENT_LEASE_LIMIT',
          message: 'too many passive ports are already waiting for connections from your address (limit 2); connect to them or close other sessions first',
        });
        expect(await waiting('192.0.2.7')).toHaveLength(2);
        // The refused request took no port.
        expect((await redis.keys(`${prefix}lease:*`)).length).toBe(2);
        await expect(ports.acquire(request({ clientIp: '192.0.2.99', sessionId: 'ses_4', upstreamPort: 3003 }), map)).resolves.toMatchObject({ clientIp: '192.0.2.99' });
      },
    );

    it('a claimed or released lease no longer counts; an expired one neither', async () => {
      const map = limited(2);
      const first = await ports.acquire(request({ sessionId: 'ses_1', upstreamPort: 3000 }), map);
      await ports.acquire(request({ sessionId: 'ses_2', upstreamPort: 3001 }), map);
      expect((await ports.claim(first.publicPort, '192.0.2.7', 'dat_1', map, carrier)).status).toBe('claimed');
      await ports.acquire(request({ sessionId: 'ses_3', upstreamPort: 3002 }), map);
      await ports.releasePending(4001, 'ses_2');
      await ports.acquire(request({ sessionId: 'ses_4', upstreamPort: 3003 }), map);
      expect((await waiting('192.0.2.7')).sort()).toEqual(['4002', '4003']);

      const short = testPortMap((m) => {
        m.limits.maxPassiveLeasesPerClient = 1;
        m.timeouts.passiveLeaseMs = 100;
      });
      await ports.acquire(request({ clientIp: '192.0.2.50', sessionId: 'ses_5', upstreamPort: 3005 }), short);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(ports.acquire(request({ clientIp: '192.0.2.50', sessionId: 'ses_6', upstreamPort: 3006 }), short)).resolves.toMatchObject({ publicPort: 4006 });
    });

    it('offset mode: a lease replaced on its port leaves the set of the address that lost it', async () => {
      const map = limited(1);
      await ports.acquire(request({ clientIp: '192.0.2.10', sessionId: 'ses_1' }), map);
      await ports.acquire(request({ clientIp: '192.0.2.11', sessionId: 'ses_2' }), map);
      expect(await waiting('192.0.2.10')).toEqual([]);
      expect(await waiting('192.0.2.11')).toEqual(['4004']);
      await expect(ports.acquire(request({ clientIp: '192.0.2.10', sessionId: 'ses_3', upstreamPort: 3005 }), map)).resolves.toMatchObject({ publicPort: 4005 });
    });

    it('the set of an address expires with its newest lease', async () => {
      await ports.acquire(request(), limited(3));
      const ttl = await redis.pttl(`${prefix}lease-client:192.0.2.7`);
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });
  });

  it('an active lease is refreshed while its connection runs', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const portMap = testPortMap((map) => (map.timeouts.dataIdleMs = 15_000));
      await ports.acquire(request(), portMap);
      const claim = await ports.claim(4004, '192.0.2.7', 'dat_1', portMap, carrier);
      if (claim.status !== 'claimed') throw new Error('not claimed');
      const key = `${prefix}lease-active:4004:dat_1`;
      await redis.pexpire(key, 500);
      // A third of the 30 s TTL later, the refresh sets it back to 30 s.
      jest.advanceTimersByTime(10_000);
      jest.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await redis.pttl(key)).toBeGreaterThan(20_000);
      await claim.active.release();
    } finally {
      jest.useRealTimers();
    }
  });

  describe('settle (a transfer reply came while the lease had no known data connection)', () => {
    it('nobody came: the pending lease and its place in the address set are released', async () => {
      await ports.acquire(request(), testPortMap());
      expect(await ports.settle(4004, 'ses_a')).toBeNull();
      expect(await redis.keys(`${prefix}lease*`)).toEqual([]);
    });

    it('claimed by another process: the claim says which link and carrier, the active lease stays', async () => {
      await ports.acquire(request(), testPortMap());
      const claim = await ports.claim(4004, '192.0.2.7', 'dat_9', testPortMap(), carrier);
      expect(await ports.settle(4004, 'ses_a')).toEqual({ linkId: 'dat_9', publicPort: 4004, dataReplica: 'gw-data', dataIncarnation: 'inc-1' });
      expect(await redis.exists(`${prefix}lease-active:4004:dat_9`)).toBe(1);
      if (claim.status === 'claimed') await claim.active.release();
    });

    it('two data connections of the session on one port (the first still closing): the newest claim is found, and the first one\'s refresh and release leave it alone', async () => {
      await ports.acquire(request(), testPortMap());
      const first = await ports.claim(4004, '192.0.2.7', 'dat_1', testPortMap(), carrier);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await ports.acquire(request(), testPortMap());
      const second = await ports.claim(4004, '192.0.2.7', 'dat_2', testPortMap(), { replica: 'gw-other', incarnation: 'inc-2' });
      const newest = { linkId: 'dat_2', publicPort: 4004, dataReplica: 'gw-other', dataIncarnation: 'inc-2' };
      expect(await ports.settle(4004, 'ses_a')).toEqual(newest);
      // The first link's refresh (every 2 s) writes only its own field.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect(await ports.settle(4004, 'ses_a')).toEqual(newest);
      if (first.status === 'claimed') await first.active.release();
      expect(await ports.settle(4004, 'ses_a')).toEqual(newest);
      if (second.status === 'claimed') await second.active.release();
      expect(await redis.keys(`${prefix}lease*`)).toEqual([]);
    });

    it("another session's pending lease on the port is left alone", async () => {
      await ports.acquire(request({ sessionId: 'ses_other' }), testPortMap());
      expect(await ports.settle(4004, 'ses_a')).toBeNull();
      expect(await redis.exists(`${prefix}lease:4004`)).toBe(1);
    });
  });

  it('an active lease and its claim marker come back after Redis lost them (a restart that kept nothing)', async () => {
    await ports.acquire(request(), testPortMap());
    const claim = await ports.claim(4004, '192.0.2.7', 'dat_1', testPortMap(), carrier);
    if (claim.status !== 'claimed') throw new Error('not claimed');
    await redis.del(`${prefix}lease-active:4004:dat_1`, `${prefix}lease-claim:ses_a:4004`);
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect(await redis.exists(`${prefix}lease-active:4004:dat_1`, `${prefix}lease-claim:ses_a:4004`)).toBe(2);
    await claim.active.release();
    expect(await redis.keys(`${prefix}lease*`)).toEqual([]);
  });

  it('while Redis is not connected a lease is refused at once, in plain words (no queueing behind the client\'s retries)', async () => {
    // Never connected, offline queue on (as the gateway's client): without the check the command would wait.
    const down = new Redis(redisUrl, { lazyConnect: true });
    try {
      const error = await new PassivePorts(down, prefix).acquire(request(), testPortMap()).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).message).toBe('the gateway cannot reach its shared store of passive ports (Redis); try again in a moment');
      expect(down.status).toBe('wait');
    } finally {
      down.disconnect();
    }
  });

  it('a Redis that cannot be reached is LEASE_STORE_UNAVAILABLE', async () => {
    // Never connected, and no offline queue: every command fails at once, as with a Redis that is down.
    const down = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false });
    try {
      const error = await new PassivePorts(down, prefix).acquire(request(), testPortMap()).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'LEASE_STORE_UNAVAILABLE' });
    } finally {
      down.disconnect();
    }
  });
});
