import { expiryWarning, firstOrderWaitMs, renewalDue, renewalTime, retryDelayMs } from './acme-schedule.js';

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
    // A Retry-After of a week (or a broken one) waits a day at most.
    [1, 0.5, true, 7 * 86_400_000, 86_400_000],
    [1, 0.5, true, Number.MAX_SAFE_INTEGER, 86_400_000],
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

describe('renewal with the CA\'s renewal information', () => {
  const lifetime = at('2026-03-02T00:00:00Z');
  const notAfter = at('2026-04-01T00:00:00Z');
  it.each([
    { desc: 'no suggestion: the lifetime rule', suggested: null, operatorDays: false, due: '2026-03-02T00:00:00.000Z' },
    { desc: 'a later suggestion is followed', suggested: '2026-03-10T00:00:00Z', operatorDays: false, due: '2026-03-10T00:00:00.000Z' },
    { desc: 'an earlier suggestion (an incident) is followed', suggested: '2026-02-01T00:00:00Z', operatorDays: false, due: '2026-02-01T00:00:00.000Z' },
    { desc: 'days the operator set bring it forward', suggested: '2026-03-10T00:00:00Z', operatorDays: true, due: '2026-03-02T00:00:00.000Z' },
    { desc: 'an earlier suggestion beats the operator\'s days', suggested: '2026-02-01T00:00:00Z', operatorDays: true, due: '2026-02-01T00:00:00.000Z' },
    { desc: 'a suggestion at the expiry is not followed', suggested: '2026-04-01T00:00:00Z', operatorDays: false, due: '2026-03-02T00:00:00.000Z' },
    { desc: 'a suggestion past the expiry is not followed', suggested: '2026-05-01T00:00:00Z', operatorDays: false, due: '2026-03-02T00:00:00.000Z' },
  ])('$desc', ({ suggested, operatorDays, due }) => {
    expect(renewalDue(lifetime, suggested ? at(suggested) : null, notAfter, operatorDays).toISOString()).toBe(due);
  });
});

describe('the first order waits for a gateway', () => {
  const started = 1_000_000;
  it.each([
    { desc: 'no gateway yet: looks again in a second', now: started + 500, fetched: null, wait: 1000 },
    { desc: 'a fetch from before the start does not count', now: started + 500, fetched: started - 10, wait: 1000 },
    { desc: 'a gateway fetched just now: the settle time', now: started + 5000, fetched: started + 5000, wait: 2000 },
    { desc: 'settled', now: started + 8000, fetched: started + 5000, wait: 0 },
    { desc: 'no gateway within the longest wait: orders anyway', now: started + 60_000, fetched: null, wait: 0 },
    { desc: 'the settle time is cut at the longest wait', now: started + 59_500, fetched: started + 59_000, wait: 500 },
    { desc: 'a second before the longest wait: that second', now: started + 59_600, fetched: null, wait: 400 },
  ])('$desc', ({ now, fetched, wait }) => {
    expect(firstOrderWaitMs(now, started, fetched, 2000, 60_000)).toBe(wait);
  });
});
