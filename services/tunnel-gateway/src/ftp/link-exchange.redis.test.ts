import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { capturingLogger } from '@st/test-kit';
import { failure } from '../errors.js';
import { LinkExchange } from './link-exchange.js';
import type { LinkReport, RemoteLink } from './link-reports.js';

// Real Redis (REDIS_URL, or the local one scripts/bootstrap.sh starts); every test has its own key prefix.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('link reports between two gateway processes, through a real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let control: LinkExchange;
  let carrier: LinkExchange;
  let heard: LinkReport[];
  const ended = { ok: true, bytesToClient: 42, bytesToUpstream: 0, durationMs: 7 };

  beforeEach(async () => {
    redis = new Redis(redisUrl);
    prefix = `sttest:${randomBytes(4).toString('hex')}:`;
    heard = [];
    control = new LinkExchange(redis, prefix, 'gw-control', capturingLogger('tunnel-gateway').logger);
    carrier = new LinkExchange(redis, prefix, 'gw-data', capturingLogger('tunnel-gateway').logger);
    control.start((report) => heard.push(report));
    carrier.start(() => undefined);
    // Subscribed once the channel has a listener.
    const deadline = Date.now() + 5000;
    while (Number((await redis.call('PUBSUB', 'NUMSUB', `${prefix}links:gw-control`) as [string, number])[1]) < 1) {
      if (Date.now() > deadline) throw new Error('never subscribed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterEach(async () => {
    await control.stop();
    await carrier.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const link = (): RemoteLink => ({ linkId: 'dat_1', publicPort: 4004, dataReplica: 'gw-data', dataIncarnation: carrier.incarnation });
  const activeKey = `lease-active:4004:dat_1`;

  it('a report reaches the control process; one to a process nobody runs says so', async () => {
    expect(await carrier.send('gw-control', { type: 'upstream-complete', sessionId: 'ses_1', linkId: 'dat_1' })).toBe(true);
    expect(await carrier.send('gw-gone', { type: 'upstream-complete', sessionId: 'ses_1', linkId: 'dat_1' })).toBe(false);
    const deadline = Date.now() + 5000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toEqual([{ type: 'upstream-complete', sessionId: 'ses_1', linkId: 'dat_1' }]);
  });

  it('an end is stored before it is announced: a control process that missed the message finds it', async () => {
    await control.stop();
    await carrier.reportDone('gw-control', { type: 'done', sessionId: 'ses_1', linkId: 'dat_1', result: ended });
    expect(await control.probe(link(), `${prefix}${activeKey}`)).toEqual({ kind: 'result', result: ended });
    control.forget('dat_1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await redis.exists(`${prefix}link-result:dat_1`)).toBe(0);
  });

  it('running while its active lease and its carrier are there; vanished without the lease; carrier gone without its liveness key or after a restart', async () => {
    await redis.set(`${prefix}${activeKey}`, '{}');
    expect(await control.probe(link(), `${prefix}${activeKey}`)).toEqual({ kind: 'running' });
    await redis.del(`${prefix}${activeKey}`);
    expect(await control.probe(link(), `${prefix}${activeKey}`)).toEqual({ kind: 'vanished' });
    // A new process under the same name is not the one that carried the link.
    expect(await control.probe({ ...link(), dataIncarnation: 'an-earlier-run' }, `${prefix}${activeKey}`)).toEqual({ kind: 'carrier-gone' });
    await carrier.stop();
    expect(await control.probe(link(), `${prefix}${activeKey}`)).toEqual({ kind: 'carrier-gone' });
  });

  it('a stopping process removes its liveness key, but not one a newer process of its name wrote', async () => {
    expect(await redis.get(`${prefix}gateway-alive:gw-data`)).toBe(carrier.incarnation);
    await redis.set(`${prefix}gateway-alive:gw-data`, 'newer');
    await carrier.stop();
    expect(await redis.get(`${prefix}gateway-alive:gw-data`)).toBe('newer');
  });

  it('an abort request decodes on the other side; a forged or foreign message is dropped', async () => {
    await redis.publish(`${prefix}links:gw-control`, 'not json');
    await redis.publish(`${prefix}links:gw-control`, JSON.stringify({ type: 'abort', linkId: 'dat_1', cause: { code: 'LOGIN_BANNED' } }));
    await control.send('gw-control', { type: 'abort', linkId: 'dat_1', cause: failure('DATA_ABORTED_BY_CLIENT') });
    const deadline = Date.now() + 5000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual([{ type: 'abort', linkId: 'dat_1', cause: { code: 'DATA_ABORTED_BY_CLIENT', details: undefined } }]);
  });

  it('a process started while Redis is unreachable hears reports once Redis answers', async () => {
    // A front for Redis that refuses connections for a while, then lets them through.
    let open = false;
    const front = net.createServer((socket) => {
      if (!open) return socket.destroy();
      const upstream = net.connect(new URL(redisUrl).port ? Number(new URL(redisUrl).port) : 6379, new URL(redisUrl).hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const late = new Redis(`redis://127.0.0.1:${(front.address() as net.AddressInfo).port}`, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    late.on('error', () => undefined);
    const lateHeard: LinkReport[] = [];
    const starter = new LinkExchange(late, prefix, 'gw-late', capturingLogger('tunnel-gateway').logger);
    try {
      starter.start((report) => lateHeard.push(report));
      late.connect().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      open = true;
      const deadline = Date.now() + 10_000;
      while (!(await carrier.send('gw-late', { type: 'upstream-complete', sessionId: 'ses_9', linkId: 'dat_9' }))) {
        if (Date.now() > deadline) throw new Error('the late process never listened');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      while (lateHeard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lateHeard[0]).toEqual({ type: 'upstream-complete', sessionId: 'ses_9', linkId: 'dat_9' });
    } finally {
      await starter.stop();
      late.disconnect();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
  });

  it('Redis unreachable: a probe says so instead of throwing', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const cut = new LinkExchange(down, prefix, 'gw-cut', capturingLogger('tunnel-gateway').logger);
    try {
      expect(await cut.probe(link(), `${prefix}${activeKey}`)).toEqual({ kind: 'store-error' });
    } finally {
      down.disconnect();
    }
  });
});
