import type { Redis } from 'ioredis';
import type { PortRange } from '@st/contracts';

/** What a control session promises about one public passive port. */
export interface PassiveLease {
  publicPort: number;
  upstreamPort: number;
  /** Only connections from this address may use the lease. */
  clientIp: string;
  sessionId: string;
  /** Replica holding the control session, so a data replica can tell it when the transfer ends. */
  replica: string;
  /** False only when the session chose PROT C and policy allows clear data. */
  encryptData: boolean;
}

export type ClaimResult =
  | { status: 'claimed'; lease: PassiveLease; activeKey: string }
  | { status: 'no-lease' }
  | { status: 'wrong-client'; expectedIp: string };

export class LeaseError extends Error {
  constructor(
    readonly code: 'POOL_EXHAUSTED' | 'STORE_UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'LeaseError';
  }
}

// Scans the pool from a random start and takes the first port with no pending lease.
const acquireFromPoolScript = `
local prefix = ARGV[1]
local from = tonumber(ARGV[2])
local to = tonumber(ARGV[3])
local start = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local template = ARGV[6]
local size = to - from + 1
for i = 0, size - 1 do
  local port = from + ((start - from + i) % size)
  local key = prefix .. port
  if redis.call('SET', key, string.gsub(template, '"publicPort":0', '"publicPort":' .. port, 1), 'PX', ttl, 'NX') then
    return port
  end
end
return -1`;

// Atomically checks the client address and turns the pending lease into an active one.
// A wrong client leaves the lease untouched so the right client can still connect.
const claimScript = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'no-lease'} end
local lease = cjson.decode(raw)
if lease.clientIp ~= ARGV[1] then return {'wrong-client', lease.clientIp} end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], raw, 'PX', tonumber(ARGV[2]))
return {'claimed', raw}`;

// Deletes a pending lease only if it still belongs to the given session.
const releaseOwnScript = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local lease = cjson.decode(raw)
if lease.sessionId ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * Passive port leases in Redis. A pending lease (key per public port, TTL =
 * how long the client may take to connect) is created before the rewritten
 * 227/229 reaches the client; the replica that accepts the data connection
 * claims it, which turns it into an active lease (key per connection,
 * refreshed while the transfer runs); the active lease is deleted when the
 * data connection ends.
 */
export class LeaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  pendingKey(publicPort: number): string {
    return `${this.prefix}lease:${publicPort}`;
  }

  activeKey(publicPort: number, linkId: string): string {
    return `${this.prefix}lease-active:${publicPort}:${linkId}`;
  }

  /** Offset mode: the public port follows from the upstream port, and the upstream is the authority on it. */
  async acquireFixed(lease: PassiveLease, ttlMs: number): Promise<void> {
    try {
      await this.redis.set(this.pendingKey(lease.publicPort), JSON.stringify(lease), 'PX', ttlMs);
    } catch (error) {
      throw new LeaseError('STORE_UNAVAILABLE', `lease store unavailable: ${(error as Error).message}`);
    }
  }

  /** Pool mode: any free public port of the pool. */
  async acquireFromPool(lease: Omit<PassiveLease, 'publicPort'>, pool: PortRange, ttlMs: number): Promise<PassiveLease> {
    const template = JSON.stringify({ publicPort: 0, ...lease });
    const start = pool.from + Math.floor(Math.random() * (pool.to - pool.from + 1));
    let port: number;
    try {
      port = Number(
        await this.redis.eval(acquireFromPoolScript, 0, `${this.prefix}lease:`, pool.from, pool.to, start, ttlMs, template),
      );
    } catch (error) {
      throw new LeaseError('STORE_UNAVAILABLE', `lease store unavailable: ${(error as Error).message}`);
    }
    if (port < 0) throw new LeaseError('POOL_EXHAUSTED', `every public passive port ${pool.from}-${pool.to} is leased`);
    return { publicPort: port, ...lease };
  }

  async claim(publicPort: number, clientIp: string, linkId: string, activeTtlMs: number): Promise<ClaimResult> {
    const activeKey = this.activeKey(publicPort, linkId);
    const result = (await this.redis.eval(
      claimScript,
      2,
      this.pendingKey(publicPort),
      activeKey,
      clientIp,
      activeTtlMs,
    )) as string[];
    if (result[0] === 'claimed' && result[1]) return { status: 'claimed', lease: JSON.parse(result[1]) as PassiveLease, activeKey };
    if (result[0] === 'wrong-client') return { status: 'wrong-client', expectedIp: result[1] ?? '' };
    return { status: 'no-lease' };
  }

  async refreshActive(activeKey: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(activeKey, ttlMs);
  }

  async releaseActive(activeKey: string): Promise<void> {
    await this.redis.del(activeKey);
  }

  async releasePending(publicPort: number, sessionId: string): Promise<void> {
    await this.redis.eval(releaseOwnScript, 1, this.pendingKey(publicPort), sessionId);
  }
}
