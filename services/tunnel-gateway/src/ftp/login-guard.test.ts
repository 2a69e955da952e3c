import { defaultLoginDefender, type LoginBan, type LoginDefenderSettings } from '@st/contracts';
import type { Logger } from '@st/logging';
import type { FailureOutcome, LoginBanStore } from '@st/login-bans';
import { messageOf } from '../errors.js';
import { banRefusal, LoginGuard } from './login-guard.js';

const now = Date.UTC(2026, 11, 4, 12, 0, 0);
const ban: LoginBan = { address: '192.0.2.7', bannedAt: '2026-12-04T12:00:00.000Z', bannedUntil: '2026-12-04T12:10:00.000Z', failures: 5, users: ['root', 'admin'], offence: 1 };

/** A store that answers from a script (the real one is tested against Redis in @st/login-bans). */
function scriptedStore(answers: { banOf?: () => Promise<LoginBan | null>; recordFailure?: () => Promise<FailureOutcome> }) {
  const calls: string[] = [];
  const store = {
    banOf: (address: string) => (calls.push(`banOf ${address}`), answers.banOf?.() ?? Promise.resolve(null)),
    recordFailure: (address: string, user: string | null) => (calls.push(`failure ${address} ${user}`), answers.recordFailure?.() ?? Promise.resolve({ kind: 'counted', failures: 1 })),
  } as unknown as LoginBanStore;
  return { store, calls };
}

function recordingLogger() {
  const records: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => records.push({ level, fields, message });
  return { logger: { warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger, records };
}

function guardWith(store: LoginBanStore, settings: Partial<LoginDefenderSettings> = {}, clock = () => now) {
  const { logger, records } = recordingLogger();
  return { guard: new LoginGuard(store, () => ({ ...defaultLoginDefender, ...settings }), logger, clock), records };
}

describe('LoginGuard', () => {
  it('refuses a banned address with the time in UTC and the minutes left', async () => {
    const { store } = scriptedStore({ banOf: async () => ban });
    const refusal = await guardWith(store, {}, () => now + 30_000).guard.refusal('192.0.2.7');
    expect(refusal && messageOf(refusal)).toBe('Too many failed logins from your address: logins are refused until 2026-12-04T12:10:00Z (about 10 minutes); closing the connection.');
    expect(messageOf(banRefusal(ban, Date.parse(ban.bannedUntil) - 1000))).toContain('(about 1 minute)');
  });

  it.each([
    { desc: 'the defender is off', settings: { enabled: false }, address: '192.0.2.7' },
    { desc: 'the address is on the allow-list', settings: { allowList: ['192.0.2.0/24'] }, address: '192.0.2.7' },
    { desc: 'the address is on the allow-list as IPv4-mapped IPv6', settings: { allowList: ['192.0.2.7'] }, address: '::ffff:192.0.2.7' },
  ])('asks nothing and counts nothing when $desc', async ({ settings, address }) => {
    const { store, calls } = scriptedStore({ banOf: async () => ban, recordFailure: async () => ({ kind: 'banned', ban }) });
    const { guard } = guardWith(store, settings);
    expect(await guard.refusal(address)).toBeNull();
    expect(await guard.failed(address, 'root')).toBeNull();
    expect(calls).toEqual([]);
  });

  it('a failure below the limit changes nothing; the one that bans is logged once with the users tried; later ones only refuse', async () => {
    const outcomes: FailureOutcome[] = [{ kind: 'counted', failures: 4 }, { kind: 'banned', ban }, { kind: 'already-banned', ban }];
    const { store, calls } = scriptedStore({ recordFailure: async () => outcomes.shift()! });
    const { guard, records } = guardWith(store);
    expect(await guard.failed('192.0.2.7', 'root')).toBeNull();
    expect((await guard.failed('192.0.2.7', 'admin'))?.code).toBe('LOGIN_BANNED');
    expect((await guard.failed('192.0.2.7', null))?.code).toBe('LOGIN_BANNED');
    expect(calls).toEqual(['failure 192.0.2.7 root', 'failure 192.0.2.7 admin', 'failure 192.0.2.7 null']);
    expect(records).toEqual([
      {
        level: 'warn',
        message: 'FTP logins from an address banned after repeated failures',
        fields: { client: '192.0.2.7', users: ['root', 'admin'], failures: 5, windowMs: 600_000, offence: 1, bannedUntil: ban.bannedUntil, banMs: 600_000 },
      },
    ]);
  });

  it('lets logins through when Redis cannot be reached, saying so at most every ten seconds', async () => {
    let clock = now;
    const down = async (): Promise<never> => {
      throw new Error('Connection is closed.');
    };
    const { store } = scriptedStore({ banOf: down, recordFailure: down });
    const { guard, records } = guardWith(store, {}, () => clock);
    expect(await guard.refusal('192.0.2.7')).toBeNull();
    expect(await guard.failed('192.0.2.7', 'root')).toBeNull();
    clock += 9_999;
    expect(await guard.refusal('192.0.2.7')).toBeNull();
    clock += 1;
    expect(await guard.refusal('192.0.2.7')).toBeNull();
    expect(records.map((record) => record.message)).toEqual([
      'login defender cannot reach Redis: failed logins are not counted and bans not enforced until it is back',
      'login defender cannot reach Redis: failed logins are not counted and bans not enforced until it is back',
    ]);
  });
});
