import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogFilter } from './filter.js';
import { LogStore } from './store.js';
import { baseTime, testRecord } from './test-records.js';

const t = (seconds: number) => baseTime + seconds * 1000;
const msgs = (rows: Array<{ body: string }>) => rows.map((row) => (JSON.parse(row.body) as { msg: string }).msg);

describe('LogStore queries', () => {
  const store = new LogStore(':memory:');
  beforeAll(() => {
    store.insert([
      testRecord({ at: 0, msg: 'listener started', ports: [9990] }),
      testRecord({ at: 10, session: 'S1', conn: 'C1', msg: 'ftp login', user: 'alice' }),
      testRecord({ at: 20, replica: 'r2', level: 'warn', session: 'S1', conn: 'C2', msg: 'data connection refused', reason: 'wrong client address', client: '10.0.0.9' }),
      testRecord({ at: 30, service: 'cert-service', level: 'error', msg: 'certificate rejected', reason: 'unknown CA' }),
      testRecord({ at: 40, service: 'config-service', level: 'debug', msg: 'request' }),
      testRecord({ at: 50, level: 'error', conn: 'C3', msg: 'handshake failed', reason: 'client spoke plain text' }),
      testRecord({ at: 60, replica: 'r2', session: 'S2', conn: 'C4', msg: 'transfer complete', path: '/pub/file.txt', bytes: 1024 }),
      // Arrives last but happened early: ordering is by the record's own time.
      testRecord({ at: 5, service: 'cert-service', msg: 'certificate loaded', subject: 'CN=files.example' }),
    ]);
  });
  afterAll(() => store.close());

  it.each<{ desc: string; filter: LogFilter; expected: string[] }>([
    { desc: 'no filter: everything, newest first', filter: {}, expected: ['transfer complete', 'handshake failed', 'request', 'certificate rejected', 'data connection refused', 'ftp login', 'certificate loaded', 'listener started'] },
    { desc: 'one service', filter: { services: ['tunnel-gateway'] }, expected: ['transfer complete', 'handshake failed', 'data connection refused', 'ftp login', 'listener started'] },
    { desc: 'two services', filter: { services: ['cert-service', 'config-service'] }, expected: ['request', 'certificate rejected', 'certificate loaded'] },
    { desc: 'replica', filter: { replicas: ['r2'] }, expected: ['transfer complete', 'data connection refused'] },
    { desc: 'level warn and above', filter: { minLevel: 40 }, expected: ['handshake failed', 'certificate rejected', 'data connection refused'] },
    { desc: 'errors of one service', filter: { minLevel: 50, services: ['tunnel-gateway'] }, expected: ['handshake failed'] },
    { desc: 'session: control and data connections', filter: { sessions: ['S1'] }, expected: ['data connection refused', 'ftp login'] },
    { desc: 'connection', filter: { conns: ['C2'] }, expected: ['data connection refused'] },
    { desc: 'two connections', filter: { conns: ['C1', 'C4'] }, expected: ['transfer complete', 'ftp login'] },
    { desc: 'time range, both ends inclusive', filter: { from: t(20), to: t(50) }, expected: ['handshake failed', 'request', 'certificate rejected', 'data connection refused'] },
    { desc: 'from only', filter: { from: t(50) }, expected: ['transfer complete', 'handshake failed'] },
    { desc: 'text: a word of the message', filter: { text: 'handshake' }, expected: ['handshake failed'] },
    { desc: 'text: words anywhere in the record', filter: { text: 'plain failed' }, expected: ['handshake failed'] },
    { desc: 'text: a quoted phrase', filter: { text: '"unknown CA"' }, expected: ['certificate rejected'] },
    { desc: 'text: an address', filter: { text: '10.0.0.9' }, expected: ['data connection refused'] },
    { desc: 'text: a path', filter: { text: '/pub/file.txt' }, expected: ['transfer complete'] },
    { desc: 'text: a prefix', filter: { text: 'certif*' }, expected: ['certificate rejected', 'certificate loaded'] },
    { desc: 'text: case-insensitive', filter: { text: 'ALICE' }, expected: ['ftp login'] },
    { desc: 'text: a number field', filter: { text: '1024' }, expected: ['transfer complete'] },
    { desc: 'text: nothing matches', filter: { text: 'nonexistentword' }, expected: [] },
    { desc: 'text: service name is not searched as text', filter: { text: 'config' }, expected: [] },
    { desc: 'session and level together', filter: { sessions: ['S1'], minLevel: 40 }, expected: ['data connection refused'] },
    { desc: 'text and service together', filter: { text: 'certificate', services: ['cert-service'], minLevel: 50 }, expected: ['certificate rejected'] },
  ])('$desc', ({ filter, expected }) => {
    expect(msgs(store.query(filter, 100).rows)).toEqual(expected);
    expect(store.count(filter)).toBe(expected.length);
  });
});

describe('LogStore paging, follow and summary', () => {
  it('pages newest first with a cursor, ties on time kept apart by ingest order, nothing twice', () => {
    const store = new LogStore(':memory:');
    // Three records share each second.
    store.insert(Array.from({ length: 25 }, (_, i) => testRecord({ at: Math.floor(i / 3), msg: `m${i}` })));
    const seen: string[] = [];
    let page = store.query({}, 10);
    const sizes = [page.rows.length];
    seen.push(...msgs(page.rows));
    while (page.next) {
      page = store.query({}, 10, page.next);
      sizes.push(page.rows.length);
      seen.push(...msgs(page.rows));
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `m${24 - i}`));
    store.close();
  });

  it.each([
    { desc: 'few matches (looked up by seq)', matching: 30 },
    { desc: 'many matches (index walked in time order)', matching: 2500 },
  ])('text search pages newest first by time with $desc', ({ matching }) => {
    const store = new LogStore(':memory:');
    // Ingest order is the reverse of time order, so seq order would give the wrong answer.
    store.insert(Array.from({ length: matching }, (_, i) => testRecord({ at: matching - i, msg: `common ${matching - i}` })));
    store.insert(Array.from({ length: 50 }, (_, i) => testRecord({ at: matching + 10 + i, msg: `other ${i}` })));
    const first = store.query({ text: 'common' }, 5);
    expect(msgs(first.rows)).toEqual([0, 1, 2, 3, 4].map((i) => `common ${matching - i}`));
    const second = store.query({ text: 'common', services: ['tunnel-gateway'] }, 5, first.next);
    expect(msgs(second.rows)).toEqual([5, 6, 7, 8, 9].map((i) => `common ${matching - i}`));
    expect(store.count({ text: 'common' })).toBe(matching);
    store.close();
  });

  it('returns records stored after a sequence number, in ingest order, filtered', () => {
    const store = new LogStore(':memory:');
    store.insert([testRecord({ msg: 'a' }), testRecord({ msg: 'b', level: 'error' })]);
    const mark = store.latestSeq();
    store.insert([testRecord({ msg: 'c', at: -100 }), testRecord({ msg: 'd', level: 'error' }), testRecord({ msg: 'e' })]);
    expect(msgs(store.after({}, mark, 100))).toEqual(['c', 'd', 'e']);
    expect(msgs(store.after({ minLevel: 50 }, mark, 100))).toEqual(['d']);
    expect(msgs(store.after({}, mark, 2))).toEqual(['c', 'd']);
    store.close();
  });

  it('tells listeners the newest sequence number after storing', () => {
    const store = new LogStore(':memory:');
    const seen: number[] = [];
    const off = store.onStored((seq) => seen.push(seq));
    store.insert([testRecord(), testRecord()]);
    const duplicate = testRecord();
    store.insert([duplicate]);
    store.insert([duplicate]);
    off();
    store.insert([testRecord()]);
    expect(seen).toEqual([2, 3]);
    store.close();
  });

  it('summarizes counts by service and level over a window, with the most recent errors', () => {
    const store = new LogStore(':memory:');
    store.insert([
      testRecord({ at: 0, level: 'error', msg: 'too early' }),
      testRecord({ at: 10, msg: 'i1' }),
      testRecord({ at: 11, msg: 'i2' }),
      testRecord({ at: 12, level: 'warn', msg: 'w1' }),
      testRecord({ at: 13, level: 'error', msg: 'e1' }),
      testRecord({ at: 14, level: 'fatal', msg: 'f1' }),
      testRecord({ at: 15, service: 'cert-service', level: 'error', msg: 'e2' }),
    ]);
    const summary = store.summary(t(10), t(20), 2);
    expect(summary.total).toBe(6);
    expect(summary.services).toEqual([
      { service: 'cert-service', total: 1, levels: { error: 1 } },
      { service: 'tunnel-gateway', total: 5, levels: { info: 2, warn: 1, error: 1, fatal: 1 } },
    ]);
    expect(msgs(summary.recentErrors)).toEqual(['e2', 'f1']);
    store.close();
  });
});

describe('LogStore deduplication and durability', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'log-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    { desc: 'twice in one batch', batches: [['a', 'a', 'b']], stored: 2, duplicates: 1 },
    { desc: 'again in a later batch', batches: [['a', 'b'], ['b', 'c']], stored: 3, duplicates: 1 },
    { desc: 'a whole batch redelivered', batches: [['a', 'b'], ['a', 'b']], stored: 2, duplicates: 2 },
  ])('stores a record once when it arrives $desc', ({ batches, stored, duplicates }) => {
    const store = new LogStore(':memory:');
    const records = new Map(['a', 'b', 'c'].map((id) => [id, testRecord({ recordId: id, msg: id })]));
    const totals = { stored: 0, duplicates: 0 };
    for (const batch of batches) {
      const result = store.insert(batch.map((id) => records.get(id)!));
      totals.stored += result.stored;
      totals.duplicates += result.duplicates;
    }
    expect(totals).toEqual({ stored, duplicates });
    expect(store.count()).toBe(stored);
    expect(store.count({ text: 'a' })).toBe(1);
    store.close();
  });

  it('keeps records and their ids across a restart', () => {
    const path = join(dir, 'logs.db');
    const first = new LogStore(path);
    first.insert([testRecord({ recordId: 'x', msg: 'kept' })]);
    first.close();
    const second = new LogStore(path);
    expect(msgs(second.query({}, 10).rows)).toEqual(['kept']);
    expect(second.insert([testRecord({ recordId: 'x', msg: 'kept' })])).toEqual({ stored: 0, duplicates: 1 });
    expect(second.count({ text: 'kept' })).toBe(1);
    second.close();
  });
});

describe('LogStore retention', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'log-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('removes records older than the age limit and keeps the newer ones', () => {
    const store = new LogStore(join(dir, 'logs.db'));
    store.insert(Array.from({ length: 100 }, (_, i) => testRecord({ at: i * 60, msg: `minute ${i} marker${i}` })));
    const result = store.applyRetention({ maxAgeMs: 30 * 60_000, maxBytes: 1e12 }, t(99 * 60));
    expect(result.removedByAge).toBe(69);
    expect(store.count()).toBe(31);
    expect(msgs(store.query({}, 1000).rows).at(-1)).toBe('minute 69 marker69');
    // The text index forgets removed records too.
    expect(store.count({ text: 'marker5' })).toBe(0);
    expect(store.count({ text: 'marker99' })).toBe(1);
    store.close();
  });

  it('removes the oldest records until the database is under the size limit, keeping the newest', () => {
    const store = new LogStore(join(dir, 'logs.db'));
    const padding = 'x'.repeat(900);
    // Inserted newest first, so ingest order and time order disagree: size retention must go by time.
    for (let batch = 9; batch >= 0; batch--) {
      store.insert(Array.from({ length: 300 }, (_, i) => testRecord({ at: batch * 300 + i, msg: `n${batch * 300 + i}`, padding })));
    }
    const before = store.usedBytes();
    const limit = Math.floor(before / 2);
    const result = store.applyRetention({ maxAgeMs: 1e12, maxBytes: limit }, t(3000));
    expect(result.removedBySize).toBeGreaterThan(1000);
    expect(store.usedBytes()).toBeLessThanOrEqual(limit);
    const remaining = msgs(store.query({}, 3000).rows).map((msg) => Number(msg.slice(1)));
    // Exactly the newest survive: a contiguous run ending at the newest record.
    expect(remaining[0]).toBe(2999);
    expect(remaining).toEqual(Array.from({ length: remaining.length }, (_, i) => 2999 - i));
    expect(remaining.length).toBe(3000 - result.removedBySize);
    store.close();
  });

  it('does nothing within its limits', () => {
    const store = new LogStore(':memory:');
    store.insert([testRecord({ at: 0 }), testRecord({ at: 1 })]);
    expect(store.applyRetention({ maxAgeMs: 3_600_000, maxBytes: 1e9 }, t(2))).toMatchObject({ removedByAge: 0, removedBySize: 0 });
    expect(store.count()).toBe(2);
    store.close();
  });
});
