/**
 * What the gateway does when a part it depends on goes away, provoked for
 * real: its Redis stopped (a Redis of this test's own) and started again
 * empty, and the file server (vsftpd) stopped and started again. Each with
 * what the clients are told, what keeps running, the recovery, and no lease
 * left behind. (Config-service, cert-service and RabbitMQ going away:
 * gateway-startup and config-live; a replica killed mid-transfer:
 * gateway-replicas; a worker killed: gateway-workers.)
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startVsftpd, type RunningVsftpd } from '@st/demo-upstream';
import { freePort } from '@st/test-kit';
import { connectBasicFtp, curl, ftpsUrl, sha256File, writeRandomFile } from './harness/clients.js';
import { startOwnRedis } from './harness/infrastructure.js';
import { ftpPassword, ftpUser, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

describe('the gateway when Redis goes away', () => {
  let redisPort: number;
  let redis: Awaited<ReturnType<typeof startOwnRedis>>;
  let stack: Stack;

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startOwnRedis(redisPort);
    stack = await startStack({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('PASV and EPSV are refused at once in plain words, a running download completes, and passive mode works again once Redis is back', async () => {
    const hash = await writeRandomFile(join(stack.filesDir, 'during-outage.bin'), 12 * 1024 * 1024);
    const output = join(stack.dir, 'during-outage.out');
    const download = curl(stack, ['--limit-rate', '3M', '-o', output, ftpsUrl(stack, 'during-outage.bin')]);
    await waitFor(async () => ((await stat(output).catch(() => null))?.size ?? 0) > 512 * 1024, 20_000, 'download under way');
    const client = await connectBasicFtp(stack, 'EPSV');
    try {
      await redis.stop();
      for (const verb of ['EPSV', 'PASV']) {
        const startedAt = Date.now();
        const answer = await client.send(verb).catch((error: { code?: number; message: string }) => error);
        // Not after the Redis client's retries (it took 1.8 s, and said so in its own words).
        expect(Date.now() - startedAt).toBeLessThan(1500);
        expect(answer.code).toBe(425);
        expect(answer.message).toBe('425 Cannot open passive data connection: the gateway cannot reach its shared store of passive ports (Redis); try again in a moment.');
      }
      // The running transfer never needed Redis for its bytes.
      expect(await download).toMatchObject({ code: 0, stderr: '' });
      expect(await sha256File(output)).toBe(hash);

      redis = await startOwnRedis(redisPort);
      // Back, and empty: the gateway reconnects by itself and passive mode works on the same session.
      await waitFor(async () => (await client.send('EPSV').then(() => true, () => false)), 20_000, 'passive mode again');
      const listing = await client.list();
      expect(listing.map((entry) => entry.name)).toContain('during-outage.bin');
    } finally {
      client.close();
    }
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).toMatch(/"error":"LEASE_STORE_UNAVAILABLE","reason":"the gateway cannot reach its shared store of passive ports \(Redis\); try again in a moment","detail":"[^"]+".*"msg":"passive lease refused: Redis unreachable"/);
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 15_000, 'no lease left in Redis');
  });
});

describe('the gateway when the file server goes away', () => {
  let stack: Stack;
  let restarted: RunningVsftpd | null = null;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await restarted?.stop();
    await stack?.stop();
  });

  it('a session while vsftpd is down gets a 421 that says so; a running session ends; after vsftpd is back new sessions work, and nothing is left open', async () => {
    const running = await connectBasicFtp(stack, 'EPSV');
    await stack.vsftpd.stop();
    // The open session's upstream is gone: it ends (the client sees the control connection close).
    await expect(running.list()).rejects.toThrow();
    running.close();

    const down = await curl(stack, ['--verbose', ftpsUrl(stack, '')]);
    expect(down.code).not.toBe(0);
    // The reply curl read before giving up.
    expect(down.stderr).toContain('< 421 Service not available: the file server cannot be reached.');
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).toMatch(/"reason":"127\.0\.0\.1:\d+: connect ECONNREFUSED[^"]*".*"msg":"upstream control connection failed"/);

    const upstream = stack.settings.upstream.ftp;
    restarted = await startVsftpd({
      host: '127.0.0.1',
      port: upstream.port,
      passiveRange: upstream.passiveRange,
      rootDir: stack.filesDir,
      user: ftpUser,
      password: ftpPassword,
      workDir: join(stack.dir, 'vsftpd-again'),
    });
    const hash = await writeRandomFile(join(stack.filesDir, 'after.bin'), 2 * 1024 * 1024);
    const output = join(stack.dir, 'after.out');
    expect(await curl(stack, ['-o', output, ftpsUrl(stack, 'after.bin')])).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(output)).toBe(hash);
    await waitFor(() => stack.gateway.status().controlSessions === 0, 10_000, 'no control session left');
    await waitFor(() => stack.gateway.status().listeners.every((listener) => listener.openConnections === 0), 10_000, 'no connection left open');
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'no lease left');
  });
});
