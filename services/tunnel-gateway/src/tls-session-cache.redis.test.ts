import { randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { TlsSessionCache } from './tls-session-cache.js';

// Real Redis (REDIS_URL, or the local one scripts/bootstrap.sh starts); every test has its own key prefix.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('TLS sessions by id, shared through a real Redis', () => {
  let redis: Redis;
  let prefix: string;
  const secret = randomBytes(48);
  const id = randomBytes(32);
  const session = randomBytes(200);

  beforeEach(() => {
    redis = new Redis(redisUrl);
    prefix = `sttest:${randomBytes(4).toString('hex')}:`;
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('another process with the same secret resumes it; the id is not in the key, the session not in the clear; it lives ten minutes', async () => {
    await new TlsSessionCache(redis, prefix, secret).store(id, session, undefined);
    expect(await new TlsSessionCache(redis, prefix, secret).load(id, undefined)).toEqual(session);
    const [key] = await redis.keys(`${prefix}*`);
    expect(key).not.toContain(id.toString('hex'));
    expect((await redis.get(key!))!.includes(session.toString('base64'))).toBe(false);
    expect(await redis.ttl(key!)).toBeGreaterThan(590);
  });

  it.each([
    { desc: 'unknown id', store: { binding: undefined }, load: { id: randomBytes(32), binding: undefined, secret } },
    { desc: 'bound to one control session, asked for on another one’s data port', store: { binding: 'b1' }, load: { id, binding: 'b2', secret } },
    { desc: 'bound, asked for where no binding is expected', store: { binding: 'b1' }, load: { id, binding: undefined, secret } },
    { desc: 'not bound, asked for where a binding is expected', store: { binding: undefined }, load: { id, binding: 'b1', secret } },
    { desc: 'a process with another secret', store: { binding: undefined }, load: { id, binding: undefined, secret: randomBytes(48) } },
  ])('not resumed: $desc', async ({ store, load }) => {
    await new TlsSessionCache(redis, prefix, secret).store(id, session, store.binding);
    expect(await new TlsSessionCache(redis, prefix, load.secret).load(load.id, load.binding)).toBeNull();
  });

  it('not resumed when the binding in Redis was rewritten (it is authenticated with the session)', async () => {
    const cache = new TlsSessionCache(redis, prefix, secret);
    await cache.store(id, session, 'b1');
    const [key] = await redis.keys(`${prefix}*`);
    await redis.set(key!, (await redis.get(key!))!.replace(/^b1\./, 'b2.'));
    expect(await cache.load(id, 'b2')).toBeNull();
  });

  it('a TLS 1.2 client without tickets (as curl) resumes by id on another socket of another "process"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-session-cache-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const context = tls.createSecureContext({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), sessionIdContext: 'st', sessionTimeout: 600 });
    rmSync(dir, { recursive: true, force: true });
    const serve = (role: 'store' | 'resume') => {
      const cache = new TlsSessionCache(redis, prefix, secret);
      const server = net.createServer((raw) => {
        const socket: tls.TLSSocket = new tls.TLSSocket(raw, { isServer: true, secureContext: context, server: cache.eventsFor(role, () => undefined, () => socket.getProtocol()) as unknown as net.Server });
        socket.on('error', () => undefined);
        socket.on('secure', () => socket.end(socket.isSessionReused() ? 'resumed' : 'full'));
      });
      return new Promise<net.Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    };
    const control = await serve('store');
    const data = await serve('resume');
    const connect = (server: net.Server, sessionToUse?: Buffer) =>
      new Promise<{ said: string; session: Buffer | undefined }>((resolve, reject) => {
        let said = '';
        let kept: Buffer | undefined;
        // SSL_OP_NO_TICKET: resumption by session id only.
        const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2', secureOptions: 0x4000, ...(sessionToUse ? { session: sessionToUse } : {}) });
        client.on('session', (value: Buffer) => (kept = value));
        client.on('data', (chunk: Buffer) => (said += chunk));
        client.on('error', reject);
        client.on('close', () => resolve({ said, session: kept }));
      });
    try {
      const first = await connect(control);
      expect(first.said).toBe('full');
      const second = await connect(data, first.session);
      expect(second.said).toBe('resumed');
    } finally {
      control.close();
      data.close();
    }
  });
});
