import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loginBanSchema, type LoginBan, type LoginDefenderSettings } from '@st/contracts';
import { clientAddress } from './address-ranges.js';

/** After a ban ends, how long its address's offence count is remembered (the next ban of it lasts twice as long). */
export const offenceMemoryMs = 86_400_000;
/** User names kept with a ban, and the length each is cut at. */
export const maxUsersPerBan = 20;
export const maxUserNameLength = 64;

/** What one failed login did. */
export type FailureOutcome =
  /** Counted; `failures` in the window so far, below the limit. */
  | { kind: 'counted'; failures: number }
  /** This failure reached the limit: the address is banned from now on. */
  | { kind: 'banned'; ban: LoginBan }
  /** The address was banned already (another session's failure got there first). */
  | { kind: 'already-banned'; ban: LoginBan };

/*
 * Keys, all under the deployment's prefix, per client address:
 *   login-failures:<address>  sorted set of failed logins (score: time; member: time, random, user name), expires with the window
 *   login-ban:<address>       the ban as JSON, expiring when the ban ends
 *   login-offences:<address>  how many bans the address has had, forgotten a day after its last ban ends
 *   login-bans                sorted set of banned addresses by end of ban (the operator's list)
 * Counting and banning happen in one script, so replicas counting failures of
 * the same address at the same moment start exactly one ban.
 */
const recordFailureScript = `
local existing = redis.call('GET', KEYS[2])
if existing then return {'already-banned', existing} end
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
redis.call('PEXPIRE', KEYS[1], windowMs)
local failures = redis.call('ZCARD', KEYS[1])
if failures < tonumber(ARGV[3]) then return {'counted', tostring(failures)} end
local users, seen = {}, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local user = string.match(member, '^[^:]*:[^:]*:(.*)$') or ''
  if not seen[user] and #users < tonumber(ARGV[9]) then
    seen[user] = true
    table.insert(users, user)
  end
end
local offence = redis.call('INCR', KEYS[3])
local banMs = math.min(tonumber(ARGV[4]) * math.pow(2, offence - 1), tonumber(ARGV[5]))
banMs = math.floor(banMs)
local ban = cjson.encode({ address = ARGV[7], bannedAtMs = now, bannedUntilMs = now + banMs, failures = failures, users = users, offence = offence })
redis.call('SET', KEYS[2], ban, 'PX', banMs)
redis.call('PEXPIRE', KEYS[3], banMs + tonumber(ARGV[8]))
redis.call('ZADD', KEYS[4], now + banMs, ARGV[7])
redis.call('DEL', KEYS[1])
return {'banned', ban}
`;

/** The ban record as stored (times in ms; the API shows them as ISO text). */
interface StoredBan {
  address: string;
  bannedAtMs: number;
  bannedUntilMs: number;
  failures: number;
  users: string[] | Record<string, never>;
  offence: number;
}

function banOf(json: string): LoginBan {
  const stored = JSON.parse(json) as StoredBan;
  return loginBanSchema.parse({
    address: stored.address,
    bannedAt: new Date(stored.bannedAtMs).toISOString(),
    bannedUntil: new Date(stored.bannedUntilMs).toISOString(),
    failures: stored.failures,
    // cjson encodes an empty Lua table as {}.
    users: Array.isArray(stored.users) ? stored.users : [],
    offence: stored.offence,
  });
}

/**
 * Failed logins and bans per client address, in the Redis every gateway
 * replica (and config-service, for the operator's list) shares. Callers pass
 * the settings each time: they change while the store lives.
 */
export class LoginBanStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(kind: 'failures' | 'ban' | 'offences', address: string): string {
    return `${this.prefix}login-${kind}:${address}`;
  }

  private get indexKey(): string {
    return `${this.prefix}login-bans`;
  }

  /** The address's ban, or null when it may log in. */
  async banOf(address: string): Promise<LoginBan | null> {
    const json = await this.redis.get(this.key('ban', clientAddress(address)));
    return json === null ? null : banOf(json);
  }

  /** Counts one failed login (the user name it tried, never the password) and bans the address at the limit. */
  async recordFailure(address: string, user: string | null, settings: Pick<LoginDefenderSettings, 'maxFailures' | 'windowMs' | 'banMs' | 'maxBanMs'>): Promise<FailureOutcome> {
    const client = clientAddress(address);
    const now = this.now();
    const member = `${now}:${randomBytes(6).toString('hex')}:${(user ?? '').slice(0, maxUserNameLength)}`;
    const [kind, value] = (await this.redis.eval(
      recordFailureScript,
      4,
      this.key('failures', client),
      this.key('ban', client),
      this.key('offences', client),
      this.indexKey,
      now,
      settings.windowMs,
      settings.maxFailures,
      settings.banMs,
      Math.max(settings.banMs, settings.maxBanMs),
      member,
      client,
      offenceMemoryMs,
      maxUsersPerBan,
    )) as [FailureOutcome['kind'], string];
    if (kind === 'counted') return { kind, failures: Number(value) };
    return { kind, ban: banOf(value) };
  }

  /** Every address banned now, the ban ending soonest first. */
  async list(): Promise<LoginBan[]> {
    await this.redis.zremrangebyscore(this.indexKey, '-inf', this.now());
    const addresses = await this.redis.zrange(this.indexKey, 0, -1);
    if (addresses.length === 0) return [];
    const records = await this.redis.mget(addresses.map((address) => this.key('ban', address)));
    return records.flatMap((json) => (json === null ? [] : [banOf(json)]));
  }

  /**
   * Lifts an address's ban and forgets its failures and earlier bans (the
   * operator vouched for it). Returns the ban that was lifted, or null when
   * there was none (its failures are forgotten all the same).
   */
  async lift(address: string): Promise<LoginBan | null> {
    const client = clientAddress(address);
    const results = await this.redis
      .multi()
      .get(this.key('ban', client))
      .del(this.key('ban', client), this.key('failures', client), this.key('offences', client))
      .zrem(this.indexKey, client)
      .exec();
    const json = results?.[0]?.[1];
    return typeof json === 'string' ? banOf(json) : null;
  }
}
