import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { logApi } from '@st/contracts';
import { createLogger } from '@st/logging';
import { openEventStream, type EventStream } from './event-stream.js';
import { createLogService, type LogService } from './service.js';
import type { LogStore } from './store.js';
import { baseTime, testRecord } from './test-records.js';

const operatorToken = 'operator-token-for-tests';
const adminToken = 'admin-token-for-tests';
const quiet = createLogger({ service: 'log-service-test', destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('log-service API', () => {
  let dir: string;
  let service: LogService;
  let url: string;
  let store: LogStore;
  const streams: EventStream[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'log-service-'));
    service = createLogService({
      host: '127.0.0.1',
      port: 0,
      dbPath: join(dir, 'logs.db'),
      operatorToken,
      adminToken,
      logger: quiet,
      retention: { maxAgeMs: 1e12, maxBytes: 1e12, intervalMs: 3_600_000 },
      followHeartbeatMs: 200,
      now: () => baseTime + 3_600_000,
    });
    url = (await service.start()).url;
    store = service.store()!;
    store.insert([
      testRecord({ at: 1, msg: 'listener started' }),
      testRecord({ at: 2, session: 'S1', conn: 'C1', msg: 'ftp login', user: 'alice' }),
      testRecord({ at: 3, session: 'S1', conn: 'C2', level: 'warn', msg: 'data connection refused' }),
      testRecord({ at: 4, service: 'cert-service', level: 'error', msg: 'certificate rejected' }),
    ]);
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, token: string | null = operatorToken) =>
    fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const getJson = async (path: string) => {
    const response = await get(path);
    expect(response.status).toBe(200);
    return (await response.json()) as { records: Array<Record<string, unknown>>; nextCursor: string | null };
  };
  const follow = async (query: string, headers: Record<string, string> = {}) => {
    const stream = await openEventStream(`${url}${logApi.follow}${query}`, { authorization: `Bearer ${operatorToken}`, ...headers });
    streams.push(stream);
    return stream;
  };

  it.each([
    { desc: 'no token', token: null, status: 401 },
    { desc: 'a wrong token', token: 'nope', status: 403 },
    { desc: 'the operator token', token: operatorToken, status: 200 },
    { desc: 'the admin token', token: adminToken, status: 200 },
  ])('answers $desc with $status on every log endpoint', async ({ token, status }) => {
    for (const path of [logApi.records, logApi.summary]) expect((await get(path, token)).status).toBe(status);
    const followed = await fetch(`${url}${logApi.follow}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect(followed.status).toBe(status);
    await followed.body?.cancel();
  });

  it('serves health without a token and is ready without RabbitMQ configured', async () => {
    expect((await get('/health/live', null)).status).toBe(200);
    expect((await get('/health/ready', null)).status).toBe(200);
  });

  it('returns the records as logged, newest first, filtered', async () => {
    const body = await getJson(`${logApi.records}?session=S1`);
    expect(body.records.map((record) => record.msg)).toEqual(['data connection refused', 'ftp login']);
    expect(body.records[0]).toMatchObject({ service: 'tunnel-gateway', replica: 'r1', session: 'S1', conn: 'C2', level: 'warn' });
    expect(body.nextCursor).toBeNull();
    expect((await getJson(`${logApi.records}?level=warn&service=tunnel-gateway`)).records.map((r) => r.msg)).toEqual(['data connection refused']);
    expect((await getJson(`${logApi.records}?text=alice`)).records.map((r) => r.msg)).toEqual(['ftp login']);
  });

  it('pages with nextCursor until it is null', async () => {
    const seen: unknown[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const body = await getJson(`${logApi.records}?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...body.records.map((record) => record.msg));
      cursor = body.nextCursor;
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen).toEqual(['certificate rejected', 'data connection refused', 'ftp login', 'listener started']);
  });

  it.each([
    { query: '?levle=warn', field: 'levle' },
    { query: '?level=loud', field: 'level' },
    { query: '?limit=0', field: 'limit' },
    { query: '?from=tomorrow', field: 'from' },
    { query: '?cursor=abc', field: 'cursor' },
  ])('refuses $query with 400 naming $field', async ({ query, field }) => {
    const response = await get(`${logApi.records}${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'BAD_QUERY', details: { field } } });
  });

  it('summarizes a window by service and level, with the most recent errors', async () => {
    const response = await get(`${logApi.summary}?from=${new Date(baseTime).toISOString()}&errors=5`);
    expect(response.status).toBe(200);
    const summary = (await response.json()) as Record<string, unknown>;
    expect(summary).toMatchObject({
      from: new Date(baseTime).toISOString(),
      to: new Date(baseTime + 3_600_000).toISOString(),
      total: 4,
      services: [
        { service: 'cert-service', total: 1, levels: { error: 1 } },
        { service: 'tunnel-gateway', total: 3, levels: { info: 2, warn: 1 } },
      ],
    });
    expect((summary.recentErrors as Array<{ msg: string }>).map((record) => record.msg)).toEqual(['certificate rejected']);
  });

  it('follow: delivers a new record within 1 s and honours the filters', async () => {
    const stream = await follow('?session=S9&level=warn');
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    store.insert([
      testRecord({ at: 10, session: 'S9', level: 'info', msg: 'too quiet' }),
      testRecord({ at: 11, session: 'S8', level: 'error', msg: 'other session' }),
      testRecord({ at: 12, session: 'S9', level: 'error', msg: 'wanted' }),
    ]);
    const event = await stream.waitFor((e) => e.event === 'record', 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(JSON.parse(event.data)).toMatchObject({ msg: 'wanted', session: 'S9' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stream.events.map((e) => JSON.parse(e.data).msg)).toEqual(['wanted']);
  });

  it('follow: sends the most recent matches first with tail, oldest of them first', async () => {
    const stream = await follow('?tail=2&service=tunnel-gateway&session=S1');
    await stream.waitFor((e) => JSON.parse(e.data).msg === 'data connection refused', 1000);
    expect(stream.events.map((e) => JSON.parse(e.data).msg)).toEqual(['ftp login', 'data connection refused']);
  });

  it('follow: resumes after Last-Event-ID without losing a record', async () => {
    const first = await follow('?session=R1');
    store.insert([testRecord({ session: 'R1', msg: 'one' })]);
    const one = await first.waitFor((e) => JSON.parse(e.data).msg === 'one', 1000);
    first.close();
    store.insert([testRecord({ session: 'R1', msg: 'two' }), testRecord({ session: 'R1', msg: 'three' })]);
    const second = await follow('?session=R1', { 'last-event-id': one.id! });
    await second.waitFor((e) => JSON.parse(e.data).msg === 'three', 1000);
    expect(second.events.map((e) => JSON.parse(e.data).msg)).toEqual(['two', 'three']);
  });

  it('follow: keeps the stream alive with comments and refuses bad filters with 400', async () => {
    const response = await fetch(`${url}${logApi.follow}?level=loud`, { headers: { authorization: `Bearer ${operatorToken}` } });
    expect(response.status).toBe(400);
    const stream = await follow('?service=nobody');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stream.events).toEqual([]);
  });
});

describe('log-service without RabbitMQ', () => {
  it('starts, answers queries, and reports not ready with the reason until it can consume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-service-'));
    // A port nothing listens on.
    const probe = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const service = createLogService({
      host: '127.0.0.1',
      port: 0,
      dbPath: join(dir, 'logs.db'),
      operatorToken,
      logger: quiet,
      amqp: { url: `amqp://127.0.0.1:${port}`, exchange: 'x', queue: 'q' },
      ingest: { backoffInitialMs: 50, backoffMaxMs: 100 },
      retention: { maxAgeMs: 1e12, maxBytes: 1e12, intervalMs: 3_600_000 },
    });
    try {
      const { url } = await service.start();
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not-ready', reasons: [expect.stringContaining('RabbitMQ unreachable')], ingest: { consuming: false } });
      const records = await fetch(`${url}${logApi.records}`, { headers: { authorization: `Bearer ${operatorToken}` } });
      expect(records.status).toBe(200);
    } finally {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
