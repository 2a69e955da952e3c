import { decodeCursor, encodeCursor, FilterError, ftsQuery, parseDuration, parseQuery, parseSummaryQuery, parseTime } from './filter.js';

const now = Date.parse('2030-01-01T12:00:00Z');

describe('parseTime', () => {
  it.each([
    { desc: 'ISO 8601 with zone', text: '2030-01-01T11:00:00Z', expected: now - 3_600_000 },
    { desc: 'ISO date alone (UTC midnight)', text: '2030-01-01', expected: Date.parse('2030-01-01T00:00:00Z') },
    { desc: 'epoch milliseconds', text: String(now - 5), expected: now - 5 },
    { desc: 'minutes ago', text: '15m', expected: now - 900_000 },
    { desc: 'hours ago', text: '2h', expected: now - 7_200_000 },
    { desc: 'days ago', text: '7d', expected: now - 7 * 86_400_000 },
    { desc: 'fractional', text: '1.5h', expected: now - 5_400_000 },
  ])('$desc', ({ text, expected }) => {
    expect(parseTime('from', text, now)).toBe(expected);
  });

  it.each(['yesterday', '15', '15x', '', '2030-13-45'])('refuses %p', (text) => {
    expect(() => parseTime('from', text, now)).toThrow(FilterError);
  });

  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1w', 604_800_000],
    ['m', undefined],
  ])('duration %p is %p ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });
});

describe('ftsQuery', () => {
  it.each([
    { desc: 'one word', text: 'handshake', expected: '"handshake"' },
    { desc: 'all words required', text: 'handshake failed', expected: '"handshake" AND "failed"' },
    { desc: 'a quoted phrase stays one phrase', text: '"unknown CA" refused', expected: '"unknown CA" AND "refused"' },
    { desc: 'a prefix', text: 'certif*', expected: '"certif" *' },
    { desc: 'FTS syntax is taken literally', text: 'NOT OR NEAR(a b)', expected: '"NOT" AND "OR" AND "NEAR(a" AND "b)"' },
    { desc: 'an address', text: '10.0.0.9', expected: '"10.0.0.9"' },
    { desc: 'punctuation-only words are skipped', text: '- handshake', expected: '"handshake"' },
    { desc: 'a stray quote', text: 'bad"word', expected: '"bad word"' },
  ])('$desc', ({ text, expected }) => {
    expect(ftsQuery(text)).toBe(expected);
  });

  it.each(['', '   ', '-- ::', '""'])('refuses %p (nothing to search for)', (text) => {
    expect(() => ftsQuery(text)).toThrow(FilterError);
  });
});

describe('cursor', () => {
  it('round-trips', () => {
    expect(decodeCursor(encodeCursor({ time: now, seq: 42 }))).toEqual({ time: now, seq: 42 });
  });
  it.each(['', 'abc', Buffer.from('1.x').toString('base64url')])('refuses %p', (text) => {
    expect(() => decodeCursor(text)).toThrow(FilterError);
  });
});

describe('parseQuery', () => {
  const records = { extra: ['limit', 'cursor'] } as const;
  it.each<{ desc: string; query: Record<string, unknown>; expected: Record<string, unknown> }>([
    { desc: 'nothing: everything, 100 per page', query: {}, expected: { filter: {}, limit: 100, tail: 0 } },
    {
      desc: 'every filter',
      query: { from: '1h', to: '2030-01-01T12:00:00Z', service: 'tunnel-gateway,cert-service', replica: 'r1', level: 'warn', conn: 'C1', session: 'S1', text: 'refused', limit: '10' },
      expected: {
        filter: { from: now - 3_600_000, to: now, services: ['tunnel-gateway', 'cert-service'], replicas: ['r1'], minLevel: 40, conns: ['C1'], sessions: ['S1'], text: 'refused' },
        limit: 10,
      },
    },
    { desc: 'repeated parameter', query: { service: ['a', 'b,c'] }, expected: { filter: { services: ['a', 'b', 'c'] } } },
    { desc: 'numeric level', query: { level: '50' }, expected: { filter: { minLevel: 50 } } },
    { desc: 'cursor', query: { cursor: encodeCursor({ time: 5, seq: 6 }) }, expected: { cursor: { time: 5, seq: 6 } } },
  ])('$desc', ({ query, expected }) => {
    expect(parseQuery(query, now, records)).toMatchObject(expected);
  });

  it.each<{ desc: string; query: Record<string, unknown>; field: string }>([
    { desc: 'unknown parameter (typo)', query: { services: 'a' }, field: 'services' },
    { desc: 'tail on the records endpoint', query: { tail: '5' }, field: 'tail' },
    { desc: 'bad level', query: { level: 'loud' }, field: 'level' },
    { desc: 'limit too large', query: { limit: '5000' }, field: 'limit' },
    { desc: 'limit zero', query: { limit: '0' }, field: 'limit' },
    { desc: 'limit not a number', query: { limit: 'ten' }, field: 'limit' },
    { desc: 'from after to', query: { from: '1h', to: '2h' }, field: 'from' },
    { desc: 'empty service', query: { service: ',' }, field: 'service' },
    { desc: 'level given twice', query: { level: ['info', 'warn'] }, field: 'level' },
    { desc: 'text without words', query: { text: '!!' }, field: 'text' },
    { desc: 'text too long', query: { text: 'a'.repeat(501) }, field: 'text' },
    { desc: 'bad cursor', query: { cursor: 'nope' }, field: 'cursor' },
    { desc: 'nested object (qs-style)', query: { service: { a: 1 } }, field: 'service' },
  ])('refuses $desc', ({ query, field }) => {
    try {
      parseQuery(query, now, records);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(FilterError);
      expect((error as FilterError).field).toBe(field);
    }
  });

  it('accepts tail on follow', () => {
    expect(parseQuery({ tail: '20', session: 'S1' }, now, { extra: ['tail'] })).toMatchObject({ tail: 20, filter: { sessions: ['S1'] } });
  });
});

describe('parseSummaryQuery', () => {
  it.each([
    { desc: 'defaults: the last hour, 20 errors', query: {}, expected: { from: now - 3_600_000, to: now, errors: 20 } },
    { desc: 'a window', query: { from: '24h', errors: '5' }, expected: { from: now - 86_400_000, to: now, errors: 5 } },
  ])('$desc', ({ query, expected }) => {
    expect(parseSummaryQuery(query, now)).toEqual(expected);
  });

  it.each([{ errors: '1000' }, { level: 'warn' }, { from: 'x' }])('refuses %p', (query) => {
    expect(() => parseSummaryQuery(query, now)).toThrow(FilterError);
  });
});
