import type { Redis } from 'ioredis';
import { formatRange, rangeContains, type Listener, type PortMap, type PortRange, type TlsPolicy } from '@st/contracts';
import { failure, GatewayError, type Failure } from '../errors.js';

/**
 * The one owner of public passive ports: which public port carries which
 * upstream data port (offset or pool), the leases in Redis that promise a
 * port to one control session and one client address, and whether the data
 * connection on it is TLS or clear. Control sessions and data listeners go
 * through it; nothing else reads or writes a lease.
 *
 * A pending lease (a key per public port, TTL = how long the client may take
 * to connect) is written before the rewritten 227/229 reaches the client. The
 * replica that accepts the data connection claims it: the pending key becomes
 * an active one (a key per connection, refreshed while it runs, deleted when
 * it ends). Every replica and worker process shares these keys, so whichever
 * accepts the data connection can relay it.
 *
 * A claim also leaves a marker under the control session's name and the
 * port (a hash, one field per data connection: the previous one on the same
 * port may still be closing): which link, carried by which process, claimed
 * when. A control session whose transfer reply comes before the report of a
 * claim made elsewhere finds the newest there (settle), so its final reply
 * still waits for that data connection's end (link-exchange.ts carries the
 * reports between processes).
 */

/** What a control session promises about one public passive port (stored as JSON in Redis). */
export interface PassiveLease {
  publicPort: number;
  upstreamPort: number;
  /** Only connections from this address may use the lease. */
  clientIp: string;
  sessionId: string;
  /** Replica holding the control session. */
  replica: string;
  /** Decided once, by dataProtection, when the lease is taken. */
  encryptData: boolean;
  /**
   * The session-ticket period of the control connection's TLS keys: the data
   * connection is handshaken with the same keys, so it can resume the
   * control connection's session also just after the keys rotated. Absent
   * from leases of older gateways (the current keys then).
   */
  ticketGeneration?: number;
  /** The control session's own ticket keys (session reuse required): its data connections are handshaken with them. */
  ticketBinding?: string;
}

/** What a control session asks for when the upstream announced a data port. */
export interface LeaseRequest {
  upstreamPort: number;
  clientIp: string;
  sessionId: string;
  replica: string;
  /** The session's PROT level. */
  protectionLevel: 'C' | 'P';
  ticketGeneration?: number;
  ticketBinding?: string;
}

/** Where the public port for an upstream data port comes from. */
export type PassivePlacement = { kind: 'fixed'; publicPort: number } | { kind: 'pool'; range: PortRange };

/**
 * Offset mode: the public port is the upstream's plus the offset and must lie
 * in the public range. Pool mode: any free port of the public range.
 */
export function placePassivePort(portMap: PortMap, upstreamPort: number): PassivePlacement | Failure {
  const data = dataListenerOf(portMap);
  if (!data) return failure('PASSIVE_DISABLED');
  if (portMap.passive.mode === 'pool') return { kind: 'pool', range: data.ports };
  const publicPort = upstreamPort + portMap.passive.offset;
  if (!rangeContains(data.ports, publicPort)) {
    return failure('PASSIVE_PORT_OUTSIDE_RANGE', { upstreamPort, range: formatRange(data.upstream.ports) });
  }
  return { kind: 'fixed', publicPort };
}

export function dataListenerOf(portMap: PortMap): Listener | undefined {
  return portMap.listeners.find((listener) => listener.protocol === 'ftp-data');
}

/**
 * TLS or clear for a data connection (RFC 4217 §9: PROT C means clear, PROT P
 * protected). Clear only when the session chose PROT C and the policy allows
 * it: asked when the lease is taken, and again when it is claimed, so a policy
 * that forbade clear data meanwhile wins.
 */
export function dataProtection(level: 'C' | 'P', policy: Pick<TlsPolicy, 'allowClearData'>): 'tls' | 'clear' {
  return level === 'C' && policy.allowClearData ? 'clear' : 'tls';
}

/** How long an active lease lives between refreshes: a stalled connection is cut well before it expires. */
export function activeLeaseTtlMs(portMap: PortMap): number {
  return Math.max(portMap.timeouts.dataIdleMs * 2, 30_000);
}

export type ClaimResult =
  | { status: 'claimed'; lease: PassiveLease; protection: 'tls' | 'clear'; active: ActiveLease }
  | { status: 'refused'; failure: Failure<'DATA_NO_LEASE' | 'DATA_WRONG_CLIENT'> };

// Waiting leases per client address: a sorted set per address of the public ports it waits on,
// scored by when each lease expires, so that one address cannot hold the whole range (a PASV flood).
// Shared by every replica like the leases; members leave when a lease is claimed, released or replaced,
// expired ones are dropped before counting, and the set itself expires with its newest lease.
const clientLeaseFunctions = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function waitingFrom(clientKey)
  redis.call('ZREMRANGEBYSCORE', clientKey, '-inf', nowMs())
  return redis.call('ZCARD', clientKey)
end
local function addWaiting(clientKey, port, ttl)
  redis.call('ZADD', clientKey, nowMs() + ttl, port)
  redis.call('PEXPIRE', clientKey, ttl)
end
local function forgetWaiting(clientPrefix, raw, port)
  if not raw then return end
  local clientIp = cjson.decode(raw).clientIp
  if type(clientIp) == 'string' then redis.call('ZREM', clientPrefix .. clientIp, port) end
end`;

// Scans the pool from a random start and takes the first port with no pending lease; -2 when the
// client already waits on its limit of ports.
export const acquireFromPoolScript = `${clientLeaseFunctions}
local prefix = ARGV[1]
local from = tonumber(ARGV[2])
local to = tonumber(ARGV[3])
local start = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local template = ARGV[6]
local clientKey = ARGV[7]
local perClient = tonumber(ARGV[8])
if waitingFrom(clientKey) >= perClient then return -2 end
local size = to - from + 1
for i = 0, size - 1 do
  local port = from + ((start - from + i) % size)
  local key = prefix .. port
  if redis.call('SET', key, string.gsub(template, '"publicPort":0', '"publicPort":' .. port, 1), 'PX', ttl, 'NX') then
    addWaiting(clientKey, port, ttl)
    return port
  end
end
return -1`;

// The public port is fixed by the upstream's (offset mode): a lease left on it is replaced (the upstream
// is the authority on its own data port); -2 when the client already waits on its limit of ports.
export const acquireFixedScript = `${clientLeaseFunctions}
local ttl = tonumber(ARGV[2])
local clientPrefix = ARGV[3]
local clientKey = clientPrefix .. ARGV[4]
local port = ARGV[5]
local previous = redis.call('GET', KEYS[1])
forgetWaiting(clientPrefix, previous, port)
if waitingFrom(clientKey) >= tonumber(ARGV[6]) then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
addWaiting(clientKey, port, ttl)
return tonumber(port)`;

// Atomically checks the client address and turns the pending lease into an active one, leaving a
// marker of the claim (stamped with Redis's clock) under the session's name and the port. A wrong
// client leaves the lease untouched so the right client can still connect.
export const claimScript = `${clientLeaseFunctions}
local raw = redis.call('GET', KEYS[1])
if not raw then return {'no-lease'} end
local lease = cjson.decode(raw)
if lease.clientIp ~= ARGV[1] then return {'wrong-client', lease.clientIp} end
redis.call('DEL', KEYS[1])
forgetWaiting(ARGV[3], raw, ARGV[4])
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[2], raw, 'PX', ttl)
local marker = cjson.encode({linkId = ARGV[6], publicPort = tonumber(ARGV[4]), dataReplica = ARGV[7], dataIncarnation = ARGV[8], claimedAt = nowMs()})
local claimKey = ARGV[5] .. lease.sessionId .. ':' .. ARGV[4]
redis.call('HSET', claimKey, ARGV[6], marker)
redis.call('PEXPIRE', claimKey, ttl)
return {'claimed', raw, marker}`;

// A transfer's final reply came while the session's lease had no data connection it knew of: the
// lease is released if still pending (nobody came), else the claim marker says who took it.
export const settleScript = `${clientLeaseFunctions}
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).sessionId == ARGV[1] then
  forgetWaiting(ARGV[2], raw, ARGV[3])
  redis.call('DEL', KEYS[1])
  return {'unused'}
end
local newest = nil
local newestAt = -1
for _, marker in ipairs(redis.call('HVALS', KEYS[2])) do
  local at = tonumber(cjson.decode(marker).claimedAt) or 0
  if at > newestAt then newest, newestAt = marker, at end
end
if newest then return {'claimed', newest} end
return {'unused'}`;

// Deletes a pending lease only if it still belongs to the given session.
export const releaseOwnScript = `${clientLeaseFunctions}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local lease = cjson.decode(raw)
if lease.sessionId ~= ARGV[1] then return 0 end
forgetWaiting(ARGV[2], raw, ARGV[3])
return redis.call('DEL', KEYS[1])`;

/** How often an active lease is written again: a Redis that restarted empty has it back within this. */
const activeRefreshMs = 2000;

/** A claimed lease, kept alive while its data connection runs. */
export class ActiveLease {
  private readonly timer: NodeJS.Timeout;
  private released = false;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    /** The claim markers of the control session's port; this link's is the field named by its id. */
    private readonly claimKey: string,
    private readonly linkId: string,
    private readonly value: { lease: string; claim: string },
    private readonly ttlMs: number,
    private readonly track: <T>(operation: Promise<T>) => Promise<T> = (operation) => operation,
  ) {
    // Written again, not only given more time: after a Redis restart the keys must come back.
    this.timer = setInterval(() => {
      this.redis
        .multi()
        .set(this.key, this.value.lease, 'PX', this.ttlMs)
        .hset(this.claimKey, this.linkId, this.value.claim)
        .pexpire(this.claimKey, this.ttlMs)
        .exec()
        .catch(() => undefined);
    }, Math.min(activeRefreshMs, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** The data connection ended: the port is free for the next lease. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    // This link's marker only: the next data connection on the port may have claimed it already.
    await this.track(this.redis.multi().del(this.key).hdel(this.claimKey, this.linkId).exec());
  }
}

/** Which data connection took a session's lease, and which process carries it. */
export interface LeaseClaim {
  linkId: string;
  publicPort: number;
  dataReplica: string;
  dataIncarnation: string;
}

export class PassivePorts {
  /** Releases under way: a stopping gateway lets them finish before it lets Redis go. */
  private readonly releasing = new Set<Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Resolves once every release under way has finished, or after timeoutMs. */
  async releasesDone(timeoutMs: number): Promise<void> {
    if (this.releasing.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.releasing]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.releasing.add(operation);
    const forget = () => this.releasing.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  pendingKey(publicPort: number): string {
    return `${this.prefix}lease:${publicPort}`;
  }

  /** Prefix of the per-address sets of waiting leases (the address follows). */
  get clientLeasesPrefix(): string {
    return `${this.prefix}lease-client:`;
  }

  activeKey(publicPort: number, linkId: string): string {
    return `${this.prefix}lease-active:${publicPort}:${linkId}`;
  }

  /** Prefix of the claim markers (session id and public port follow). */
  get claimPrefix(): string {
    return `${this.prefix}lease-claim:`;
  }

  /**
   * Takes a public port for the upstream data port the server announced.
   * Rejects with a GatewayError: PASSIVE_DISABLED, PASSIVE_PORT_OUTSIDE_RANGE,
   * POOL_EXHAUSTED or LEASE_STORE_UNAVAILABLE.
   */
  async acquire(request: LeaseRequest, portMap: PortMap): Promise<PassiveLease> {
    const placement = placePassivePort(portMap, request.upstreamPort);
    if ('code' in placement) throw new GatewayError(placement);
    const base = {
      upstreamPort: request.upstreamPort,
      clientIp: request.clientIp,
      sessionId: request.sessionId,
      replica: request.replica,
      encryptData: dataProtection(request.protectionLevel, portMap.tls) === 'tls',
      ...(request.ticketGeneration !== undefined ? { ticketGeneration: request.ticketGeneration } : {}),
      ...(request.ticketBinding !== undefined ? { ticketBinding: request.ticketBinding } : {}),
    };
    const ttlMs = portMap.timeouts.passiveLeaseMs;
    const perClient = portMap.limits.maxPassiveLeasesPerClient;
    if (placement.kind === 'pool') return this.acquireFromPool(base, placement.range, ttlMs, perClient);
    const lease: PassiveLease = { publicPort: placement.publicPort, ...base };
    const port = Number(
      await this.store(() =>
        this.redis.eval(acquireFixedScript, 1, this.pendingKey(lease.publicPort), JSON.stringify(lease), ttlMs, this.clientLeasesPrefix, base.clientIp, lease.publicPort, perClient),
      ),
    );
    if (port === -2) throw new GatewayError(failure('CLIENT_LEASE_LIMIT', { limit: perClient }));
    return lease;
  }

  private async acquireFromPool(base: Omit<PassiveLease, 'publicPort'>, pool: PortRange, ttlMs: number, perClient: number): Promise<PassiveLease> {
    const template = JSON.stringify({ publicPort: 0, ...base });
    const start = pool.from + Math.floor(Math.random() * (pool.to - pool.from + 1));
    const clientKey = this.clientLeasesPrefix + base.clientIp;
    const port = Number(
      await this.store(() => this.redis.eval(acquireFromPoolScript, 0, `${this.prefix}lease:`, pool.from, pool.to, start, ttlMs, template, clientKey, perClient)),
    );
    if (port === -2) throw new GatewayError(failure('CLIENT_LEASE_LIMIT', { limit: perClient }));
    if (port < 0) throw new GatewayError(failure('POOL_EXHAUSTED', { range: `${pool.from}-${pool.to}` }));
    return { publicPort: port, ...base };
  }

  /**
   * The client's data connection arrived on `publicPort`: the lease becomes
   * active if it is for this client, and says how the connection is protected.
   * Rejects when Redis cannot be asked (the listener refuses the connection).
   */
  async claim(publicPort: number, clientIp: string, linkId: string, portMap: PortMap, carrier: { replica: string; incarnation: string }): Promise<ClaimResult> {
    const activeKey = this.activeKey(publicPort, linkId);
    const ttlMs = activeLeaseTtlMs(portMap);
    this.ensureConnected();
    let result: string[];
    try {
      result = (await this.redis.eval(claimScript, 2, this.pendingKey(publicPort), activeKey, clientIp, ttlMs, this.clientLeasesPrefix, publicPort, this.claimPrefix, linkId, carrier.replica, carrier.incarnation)) as string[];
    } catch (error) {
      // The script may have run with its answer lost (a command timeout): no link will refresh or release
      // the active lease, so it goes now (a control session that finds the marker sees the link vanished).
      this.redis.del(activeKey).catch(() => undefined);
      throw error;
    }
    if (result[0] === 'claimed' && result[1] && result[2]) {
      const lease = JSON.parse(result[1]) as PassiveLease;
      const claimKey = `${this.claimPrefix}${lease.sessionId}:${publicPort}`;
      return {
        status: 'claimed',
        lease,
        protection: dataProtection(lease.encryptData ? 'P' : 'C', portMap.tls),
        active: new ActiveLease(this.redis, activeKey, claimKey, linkId, { lease: result[1], claim: result[2] }, ttlMs, (operation) => this.track(operation)),
      };
    }
    if (result[0] === 'wrong-client') {
      return { status: 'refused', failure: failure('DATA_WRONG_CLIENT', { port: publicPort, expected: result[1] ?? '', actual: clientIp }) };
    }
    return { status: 'refused', failure: failure('DATA_NO_LEASE', { port: publicPort }) };
  }

  /**
   * The session's transfer reply came while its lease had no data connection
   * it knew of: releases the lease if nobody came, else says which data
   * connection (carried elsewhere, its report still on the way) took it.
   * Rejects when Redis cannot be asked.
   */
  async settle(publicPort: number, sessionId: string): Promise<LeaseClaim | null> {
    this.ensureConnected();
    const result = (await this.track(
      this.redis.eval(settleScript, 2, this.pendingKey(publicPort), `${this.claimPrefix}${sessionId}:${publicPort}`, sessionId, this.clientLeasesPrefix, publicPort),
    )) as string[];
    if (result[0] !== 'claimed' || !result[1]) return null;
    const { linkId, publicPort: port, dataReplica, dataIncarnation } = JSON.parse(result[1]) as LeaseClaim;
    return { linkId, publicPort: port, dataReplica, dataIncarnation };
  }

  /** A link whose carrier died (its process cannot release it): its active lease and claim marker go now, not at their TTL. */
  async dropActive(publicPort: number, linkId: string, sessionId: string): Promise<void> {
    await this.track(this.redis.multi().del(this.activeKey(publicPort, linkId)).hdel(`${this.claimPrefix}${sessionId}:${publicPort}`, linkId).exec());
  }

  /** A pending lease the session no longer needs; one that another session took meanwhile is left alone. */
  async releasePending(publicPort: number, sessionId: string): Promise<void> {
    await this.track(this.redis.eval(releaseOwnScript, 1, this.pendingKey(publicPort), sessionId, this.clientLeasesPrefix, publicPort));
  }

  private async store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      this.ensureConnected();
      return await operation();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(failure('LEASE_STORE_UNAVAILABLE', { reason: (error as Error).message }));
    }
  }

  /**
   * A client waits for nothing while Redis is away: between reconnection
   * attempts (or before the first) the answer is immediate; ioredis would
   * otherwise queue the command and fail it only after its retries. An
   * attempt under way is waited for (bounded by the command timeout).
   */
  private ensureConnected(): void {
    if (unreachableStates.has(this.redis.status)) throw new GatewayError(failure('LEASE_STORE_UNAVAILABLE', { reason: `Redis connection ${this.redis.status}` }));
  }
}

/** ioredis connection states in which a command would only wait in its offline queue. */
const unreachableStates = new Set(['wait', 'reconnecting', 'close', 'end']);
