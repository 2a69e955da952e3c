import { expiryWarning, renewalTime, retryDelayMs } from './acme-schedule.js';

const at = (iso: string) => new Date(iso);

describe('when ACME certificates are renewed', () => {
  it.each([
    ['90-day certificate: 30 days before', { notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2026-04-01T00:00:00Z'), fromAcme: true }, null, '2026-03-02T00:00:00.000Z'],
    ['6-day certificate: 2 days before', { notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2026-01-07T00:00:00Z'), fromAcme: true }, null, '2026-01-05T00:00:00.000Z'],
    ['set number of days', { notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2026-04-01T00:00:00Z'), fromAcme: true }, 20, '2026-03-12T00:00:00.000Z'],
    ['set days longer than half the lifetime: half', { notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2026-01-11T00:00:00Z'), fromAcme: true }, 30, '2026-01-06T00:00:00.000Z'],
    ['not from ACME: at once', { notBefore: at('2026-01-01T00:00:00Z'), notAfter: at('2028-01-01T00:00:00Z'), fromAcme: false }, null, '1970-01-01T00:00:00.000Z'],
  ])('%s', (_name, active, days, when) => {
    expect(renewalTime(active, days).toISOString()).toBe(when);
  });

  it.each([
    [1, 0.5, true, null, 15_000],
    [2, 0.5, true, null, 30_000],
    [3, 0.5, true, null, 60_000],
    [1, 0, true, null, 12_000],
    [1, 1, true, null, 18_000],
    [30, 0.5, true, null, 86_400_000],
    [1, 0.5, true, 3_600_000, 3_600_000],
    // A failure that needs a change: once more soon, then not more than 5 an hour.
    [1, 0.5, false, null, 15_000],
    [2, 0.5, false, null, 720_000],
    [8, 0.5, false, null, 1_920_000],
  ])('attempt %d with random %d (transient %s) and Retry-After %s: %d ms', (attempt, random, transient, retryAfter, delay) => {
    expect(retryDelayMs(attempt, random, transient, retryAfter)).toBe(delay);
  });

  it.each([
    ['2026-03-01T00:00:00Z', null],
    ['2026-03-20T00:00:00Z', 'the active certificate expires in 12 days (2026-04-01T00:00:00.000Z) and has not been renewed'],
    ['2026-04-01T00:00:01Z', 'the active certificate expired on 2026-04-01T00:00:00.000Z'],
  ])('at %s: %s', (now, warning) => {
    expect(expiryWarning(at('2026-04-01T00:00:00Z'), at(now))).toBe(warning);
  });
});
