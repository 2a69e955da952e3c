import { levelName, levelNumber, limits, normalizeRecord, searchableText } from './record.js';

const now = Date.parse('2030-01-01T00:00:00Z');

describe('normalizeRecord', () => {
  it.each<{ desc: string; body: string; envelope?: { messageId?: string; routingKey?: string }; expected: Record<string, unknown> }>([
    {
      desc: 'a pino record from a service',
      body: JSON.stringify({ level: 'warn', time: '2030-01-01T00:00:05.000Z', service: 'tunnel-gateway', replica: 'r2', recordId: 'p.1', session: 'S1', conn: 'C1', msg: 'refused' }),
      expected: { recordId: 'p.1', level: 40, time: now + 5000, service: 'tunnel-gateway', replica: 'r2', session: 'S1', conn: 'C1', msg: 'refused' },
    },
    {
      desc: 'numeric level and epoch time',
      body: JSON.stringify({ level: 50, time: now + 1, service: 's', recordId: 'x' }),
      expected: { level: 50, time: now + 1, replica: '', session: null, conn: null, msg: null },
    },
    {
      desc: 'no id: the message id',
      body: JSON.stringify({ service: 's', msg: 'm' }),
      envelope: { messageId: 'm-1' },
      expected: { recordId: 'm-1', level: 30, time: now },
    },
    {
      desc: 'no service: the routing key',
      body: JSON.stringify({ msg: 'm', recordId: 'r' }),
      envelope: { routingKey: 'cert-service.error' },
      expected: { service: 'cert-service' },
    },
    {
      desc: 'odd level and bad time: kept with defaults',
      body: JSON.stringify({ level: 'loud', time: 'yesterday', service: 's', recordId: 'r' }),
      expected: { level: 30, time: now },
    },
    {
      desc: 'numeric session and connection ids',
      body: JSON.stringify({ service: 's', recordId: 'r', session: 12, conn: 34 }),
      expected: { session: '12', conn: '34' },
    },
  ])('$desc', ({ body, envelope, expected }) => {
    const result = normalizeRecord(body, { now, ...envelope });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.record).toMatchObject(expected);
      expect(result.record.body).toBe(body);
    }
  });

  it('gives records without any id a content hash, so a redelivered copy is still recognised', () => {
    const body = JSON.stringify({ service: 's', msg: 'same' });
    const a = normalizeRecord(body, { now });
    const b = normalizeRecord(Buffer.from(body), { now: now + 1 });
    expect(a.ok && b.ok && a.record.recordId === b.record.recordId && a.record.recordId.startsWith('sha256:')).toBe(true);
  });

  it.each([
    { desc: 'not JSON', body: 'hello', reason: 'not JSON' },
    { desc: 'an array', body: '[1,2]', reason: 'not a JSON object' },
    { desc: 'a string', body: '"x"', reason: 'not a JSON object' },
    { desc: 'null', body: 'null', reason: 'not a JSON object' },
  ])('refuses $desc', ({ body, reason }) => {
    expect(normalizeRecord(body, { now })).toEqual({ ok: false, reason });
  });

  it('keeps an oversized record as its indexed fields and a note', () => {
    const body = JSON.stringify({ service: 's', recordId: 'big', session: 'S', msg: 'huge', blob: 'x'.repeat(limits.maxBodyBytes) });
    const result = normalizeRecord(body, { now });
    if (!result.ok) throw new Error(result.reason);
    expect(JSON.parse(result.record.body)).toMatchObject({ service: 's', recordId: 'big', session: 'S', msg: 'huge', truncated: true, originalBytes: body.length });
  });
});

describe('searchableText', () => {
  it.each([
    { desc: 'message and fields, nested', record: { msg: 'login', user: 'alice', tls: { version: 'TLSv1.3', resumed: false } }, expected: 'login alice TLSv1.3' },
    { desc: 'numbers', record: { bytes: 1024, ports: [4000, 4001] }, expected: '1024 4000 4001' },
    { desc: 'leaves out fields with filters of their own', record: { service: 's', replica: 'r', recordId: 'id', time: 't', level: 'info', msg: 'm' }, expected: 'm' },
  ])('$desc', ({ record, expected }) => {
    expect(searchableText(record)).toBe(expected);
  });

  it('stops at its limit', () => {
    expect(searchableText({ a: 'x'.repeat(100), b: 'y'.repeat(100) }, 150).length).toBe(150);
  });
});

describe('levels', () => {
  it.each([
    ['info', 30],
    ['ERROR', 50],
    ['fatal', 60],
    [20, 20],
    ['45', 45],
    ['shout', 30],
    [undefined, 30],
  ])('%p → %p', (input, expected) => {
    expect(levelNumber(input)).toBe(expected);
  });

  it.each([
    [10, 'trace'],
    [40, 'warn'],
    [45, '45'],
  ])('%p is named %p', (input, expected) => {
    expect(levelName(input)).toBe(expected);
  });
});
