import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { defaultLoginDefender } from '@st/contracts';
import { LoginBanStore, maxUsersPerBan, offenceMemoryMs } from './ban-store.js';

/** Against the real Redis on loopback, each test under its own key prefix; the clock is the test's. */
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.disconnect());

let prefix: string;
let clock: number;
let store: LoginBanStore;
beforeEach(() => {
  prefix = `sttest:bans:${randomBytes(4).toString('hex')}:`;
  clock = Date.UTC(2026, 11, 4, 12, 0, 0);
  store = new LoginBanStore(redis, prefix, () => clock);
});
afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

const settings = { ...defaultLoginDefender, maxFailures: 3, windowMs: 60_000, banMs: 10_000, maxBanMs: 35_000 };

async function failTimes(count: number, address = '192.0.2.7', user = 'alice') {
  const outcomes = [];
  for (let index = 0; index < count; index++) {
    outcomes.push(await store.recordFailure(address, user, settings));
    clock += 1;
  }
  return outcomes;
}

describe('LoginBanStore', () => {
  it('counts failures and bans at the limit, with the user names tried and never more than that', async () => {
    expect(await store.recordFailure('192.0.2.7', 'alice', settings)).toEqual({ kind: 'counted', failures: 1 });
    clock += 1;
    expect(await store.recordFailure('192.0.2.7', null, settings)).toEqual({ kind: 'counted', failures: 2 });
    clock += 1;
    const third = await store.recordFailure('192.0.2.7', 'bob:with:colons', settings);
    expect(third).toEqual({
      kind: 'banned',
      ban: { address: '192.0.2.7', bannedAt: '2026-12-04T12:00:00.002Z', bannedUntil: '2026-12-04T12:00:10.002Z', failures: 3, users: ['alice', '', 'bob:with:colons'], offence: 1 },
    });
    expect(await store.banOf('192.0.2.7')).toEqual(third.kind === 'banned' ? third.ban : null);
    expect(await store.banOf('192.0.2.8')).toBeNull();
    // Another replica's failure while banned changes nothing.
    expect((await store.recordFailure('192.0.2.7', 'carol', settings)).kind).toBe('already-banned');
    expect((await store.banOf('192.0.2.7'))?.users).toEqual(['alice', '', 'bob:with:colons']);
  });

  it('counts only failures within the window', async () => {
    await failTimes(2);
    clock += 61_000;
    expect(await store.recordFailure('192.0.2.7', 'alice', settings)).toEqual({ kind: 'counted', failures: 1 });
  });

  it('an IPv4-mapped address is the same client', async () => {
    await failTimes(2, '::ffff:192.0.2.7');
    expect((await store.recordFailure('192.0.2.7', 'alice', settings)).kind).toBe('banned');
    expect(await store.banOf('::ffff:192.0.2.7')).not.toBeNull();
  });

  it.each([
    [1, 10_000],
    [2, 20_000],
    [3, 35_000],
    [4, 35_000],
  ])('ban number %i lasts %i ms (doubling, capped at maxBanMs)', async (offence, banMs) => {
    for (let earlier = 1; earlier < offence; earlier++) {
      await failTimes(3);
      // The earlier ban expires (Redis's own expiry does not see the test clock).
      await redis.del(`${prefix}login-ban:192.0.2.7`);
    }
    const outcome = (await failTimes(3))[2]!;
    expect(outcome.kind).toBe('banned');
    if (outcome.kind !== 'banned') return;
    expect(outcome.ban.offence).toBe(offence);
    expect(Date.parse(outcome.ban.bannedUntil) - Date.parse(outcome.ban.bannedAt)).toBe(banMs);
    expect(await redis.pttl(`${prefix}login-ban:192.0.2.7`)).toBeGreaterThan(banMs - 1000);
    expect(await redis.pttl(`${prefix}login-offences:192.0.2.7`)).toBeGreaterThan(banMs + offenceMemoryMs - 1000);
  });

  it('keeps at most the configured number of distinct user names, each cut short', async () => {
    const many = { ...settings, maxFailures: 30 };
    for (let index = 0; index < 29; index++) {
      await store.recordFailure('192.0.2.9', `user${index % 25}`, many);
      clock += 1;
    }
    const outcome = await store.recordFailure('192.0.2.9', 'x'.repeat(500), many);
    expect(outcome.kind).toBe('banned');
    if (outcome.kind === 'banned') {
      expect(outcome.ban.users).toHaveLength(maxUsersPerBan);
      expect(new Set(outcome.ban.users).size).toBe(maxUsersPerBan);
    }
    await store.lift('192.0.2.9');
    await failTimes(2, '192.0.2.9', 'y'.repeat(500));
    const long = (await failTimes(1, '192.0.2.9', 'y'.repeat(500)))[0]!;
    expect(long.kind === 'banned' && long.ban.users).toEqual(['y'.repeat(64)]);
  });

  it('lists the bans in force, soonest end first, and forgets ended ones', async () => {
    await failTimes(3, '192.0.2.1');
    clock += 1000;
    await failTimes(3, '2001:db8::1');
    expect((await store.list()).map((ban) => ban.address)).toEqual(['192.0.2.1', '2001:db8::1']);
    clock += 9500;
    expect((await store.list()).map((ban) => ban.address)).toEqual(['2001:db8::1']);
  });

  it('lifting a ban forgets its failures and offences; lifting nothing answers null', async () => {
    await failTimes(3);
    const lifted = await store.lift('192.0.2.7');
    expect(lifted?.address).toBe('192.0.2.7');
    expect(await store.banOf('192.0.2.7')).toBeNull();
    expect(await store.list()).toEqual([]);
    expect(await store.lift('192.0.2.7')).toBeNull();
    // The next ban is a first one again.
    const again = (await failTimes(3))[2]!;
    expect(again.kind === 'banned' && again.ban.offence).toBe(1);
  });
});
