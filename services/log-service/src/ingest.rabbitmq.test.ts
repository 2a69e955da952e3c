import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { logApi, logRoutingKey } from '@st/contracts';
import { closeLogger, createLogger, flushLogger, type Logger } from '@st/logging';
import { openEventStream } from './event-stream.js';
import { createLogService, type LogService } from './service.js';

// Real RabbitMQ: AMQP_URL, or the local broker scripts/bootstrap.sh starts.
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const token = 'operator-token-for-ingest-tests';
const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

type Json = Record<string, unknown>;

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('log-service ingest through a real RabbitMQ', () => {
  const suffix = randomBytes(4).toString('hex');
  const exchange = `test.logs.${suffix}`;
  const queue = `test.logs.store.${suffix}`;
  let dir: string;
  let service: LogService | undefined;
  let url: string;
  let logger: Logger;
  let admin: amqp.ChannelModel;

  const startService = async (retention = { maxAgeMs: 1e12, maxBytes: 1e12, intervalMs: 3_600_000 }) => {
    service = createLogService({
      host: '127.0.0.1',
      port: 0,
      dbPath: join(dir, 'logs.db'),
      operatorToken: token,
      logger: createLogger({ service: 'log-service', destination: discard() }),
      amqp: { url: amqpUrl, exchange, queue },
      ingest: { batchDelayMs: 10 },
      retention,
    });
    url = (await service.start()).url;
    await until(() => (service?.ingestStats()?.consuming ? true : undefined), 10_000, 'the consumer');
  };

  const query = async (params: string): Promise<{ records: Json[]; nextCursor: string | null }> => {
    const response = await fetch(`${url}${logApi.records}?${params}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as { records: Json[]; nextCursor: string | null };
  };

  /** Every record matching params, all pages. */
  const queryAll = async (params: string): Promise<Json[]> => {
    const all: Json[] = [];
    let cursor: string | null = null;
    do {
      const page = await query(`${params}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      all.push(...page.records);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-ingest-'));
    admin = await amqp.connect(amqpUrl);
    logger = createLogger({
      service: 'e2e-gateway',
      replica: 'g1',
      level: 'debug',
      destination: discard(),
      shipping: { url: amqpUrl, exchange, queue, backoffInitialMs: 50, backoffMaxMs: 500 },
    });
    await startService();
  });

  afterAll(async () => {
    await service?.stop();
    await closeLogger(logger);
    const channel = await admin.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores what services ship, found through the query API by session, and reports ready', async () => {
    const session = logger.child({ session: 'S-e2e', conn: 'C-ctl' });
    session.info({ user: 'alice', client: { address: '127.0.0.1', port: 50000 } }, 'ftp login');
    logger.child({ session: 'S-e2e', conn: 'C-data' }).info({ command: 'RETR', path: '/pub/a.txt', bytes: 42 }, 'transfer complete');
    logger.info({ session: 'S-other' }, 'someone else');
    expect(await flushLogger(logger, 5000)).toBe(true);

    const records = await until(async () => {
      const { records } = await query('session=S-e2e');
      return records.length === 2 ? records : undefined;
    }, 5000, 'the session records');
    expect(records.map((record) => record.msg)).toEqual(['transfer complete', 'ftp login']);
    expect(records[0]).toMatchObject({ service: 'e2e-gateway', replica: 'g1', session: 'S-e2e', conn: 'C-data', path: '/pub/a.txt', bytes: 42 });
    expect(records[1]).toMatchObject({ conn: 'C-ctl', user: 'alice', client: { address: '127.0.0.1', port: 50000 } });
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
  });

  it('loses nothing and stores nothing twice when the log-service is stopped while records are published', async () => {
    await service!.stop();
    const count = 2000;
    for (let i = 0; i < count; i++) logger.info({ batch: 'offline', i }, 'logged while the log-service was down');
    expect(await flushLogger(logger, 10_000)).toBe(true);

    // Redelivery of records already sent (a publisher retry, a consumer crash before its ack): same record ids.
    const channel = await admin.createConfirmChannel();
    const again = (i: number) =>
      JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'e2e-gateway', replica: 'g1', recordId: `dup-${suffix}-${i}`, batch: 'dups', i, msg: 'duplicate' });
    for (let i = 0; i < 50; i++) {
      for (let copy = 0; copy < 2; copy++) channel.publish(exchange, logRoutingKey('e2e-gateway', 'info'), Buffer.from(again(i)), { persistent: true });
    }
    await channel.waitForConfirms();
    await channel.close();

    await startService();
    const offline = await until(async () => {
      const records = await queryAll('text=offline&service=e2e-gateway');
      return records.length >= count ? records : undefined;
    }, 20_000, 'every offline record');
    expect(offline.length).toBe(count);
    expect(new Set(offline.map((record) => record.recordId)).size).toBe(count);
    expect(new Set(offline.map((record) => record.i)).size).toBe(count);

    const dups = await until(async () => {
      const records = await queryAll('text=duplicate');
      return records.length >= 50 ? records : undefined;
    }, 10_000, 'the duplicated records');
    // Give any second copy the time to be (wrongly) stored.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await queryAll('text=duplicate')).length).toBe(50);
    expect(dups.length).toBe(50);
    expect(service!.ingestStats()?.duplicates).toBeGreaterThanOrEqual(50);
  });

  it('stores each line of a multi-record message, and refuses only the lines that are not JSON objects', async () => {
    const channel = await admin.createConfirmChannel();
    const line = (i: number) => JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'lines-test', replica: 'x', recordId: `lines-${suffix}-${i}`, msg: `line ${i}` });
    const refusedBefore = service!.ingestStats()!.refused;
    channel.publish(exchange, 'lines-test.info', Buffer.from([line(1), 'not json', line(2), '[1]', line(3)].join('\n')), { persistent: true });
    await channel.waitForConfirms();
    await channel.close();
    const records = await until(async () => {
      const { records } = await query('service=lines-test');
      return records.length === 3 ? records : undefined;
    }, 5000, 'the three lines');
    expect(records.map((record) => record.msg)).toEqual(expect.arrayContaining(['line 1', 'line 2', 'line 3']));
    expect(service!.ingestStats()!.refused - refusedBefore).toBe(2);
  });

  it('follow gets a shipped record within 1 s and only the ones its filters select', async () => {
    const stream = await openEventStream(`${url}${logApi.follow}?service=e2e-gateway&level=warn&text=handshake`, { authorization: `Bearer ${token}` });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      logger.info({ conn: 'C-1' }, 'handshake ok');
      logger.warn({ conn: 'C-2', reason: 'unknown CA' }, 'handshake failed');
      logger.error({ conn: 'C-3' }, 'upstream refused');
      const event = await stream.waitFor((e) => e.event === 'record', 1000);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(JSON.parse(event.data)).toMatchObject({ msg: 'handshake failed', conn: 'C-2', level: 'warn' });
      await flushLogger(logger, 2000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(stream.events.map((e) => JSON.parse(e.data).msg)).toEqual(['handshake failed']);
    } finally {
      stream.close();
    }
  });

  it('retention removes the oldest records and keeps the newest', async () => {
    const channel = await admin.createConfirmChannel();
    const now = Date.now();
    const record = (i: number, ageMs: number) =>
      JSON.stringify({ level: 'info', time: new Date(now - ageMs).toISOString(), service: 'retention-test', replica: 'x', recordId: `ret-${suffix}-${i}`, i, msg: `aged ${i}` });
    for (let i = 0; i < 10; i++) channel.publish(exchange, 'retention-test.info', Buffer.from(record(i, (10 - i) * 3_600_000)), { persistent: true });
    await channel.waitForConfirms();
    await channel.close();
    await until(async () => ((await query('service=retention-test&limit=100')).records.length === 10 ? true : undefined), 5000, 'the aged records');

    await service!.stop();
    // Keep 4.5 hours: records aged 1..4 hours survive, 5..10 hours go.
    await startService({ maxAgeMs: 4.5 * 3_600_000, maxBytes: 1e12, intervalMs: 3_600_000 });
    const kept = (await query('service=retention-test&limit=100')).records.map((r) => r.i);
    expect((await query('service=lines-test')).records.length).toBe(3);
    expect(kept).toEqual([9, 8, 7, 6]);
    // Everything else logged in this test run is recent and stays.
    expect((await queryAll('text=offline')).length).toBe(2000);
  });
});
