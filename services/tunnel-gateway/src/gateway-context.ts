import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { PortMap } from '@st/contracts';
import { recordIdSource, type Logger } from '@st/logging';
import { AddressList, LoginBanStore } from '@st/login-bans';
import { PassiveDataListeners } from './ftp/data-listener.js';
import { LinkExchange } from './ftp/link-exchange.js';
import { LoginGuard } from './ftp/login-guard.js';
import { PassivePorts } from './ftp/passive-ports.js';
import { SessionRegistry } from './ftp/session-registry.js';
import { StateCache, type StateSource } from './gateway-state.js';
import { ConnectionLimits } from './connection-limits.js';
import { TlsContextHolder } from './tls-context.js';
import { TlsSessionCache } from './tls-session-cache.js';

export interface GatewayConfig {
  replica: string;
  redisUrl: string;
  /** Namespaces every Redis key, so several deployments (or tests) can share one Redis. */
  redisPrefix: string;
  cacheDir: string;
  source: StateSource;
  /** Where /health answers; null in a worker process (its primary answers for all workers). */
  health: { host: string; port: number } | null;
  /** Listen here instead of the settings' bind address (several gateways on one host, each on its own address). */
  bindHost?: string;
  /** The plain HTTP port: ACME HTTP-01 answers, and redirects to HTTPS or requests passed to the web port (off when absent). */
  plainHttp?: PlainHttpSettings;
  /** 48 bytes shared by all replicas so a data connection can resume a session issued by another replica. */
  ticketKeys?: Buffer;
  /** How often session-ticket keys rotate (default one hour; every replica the same). */
  ticketRotationMs?: number;
  /** How often the port map and certificate are re-fetched when no event says so. */
  refreshIntervalMs?: number;
  /** RabbitMQ: config.updated and cert.activated trigger a fetch; so does every (re)connection. Status reports go there too. */
  amqpUrl?: string;
  /** How often the replica reports its status when nothing changes (default 15 s). */
  heartbeatMs?: number;
  /** Where the last good state is kept; a StateCache over cacheDir unless given (tests slow it down). */
  cache?: GatewayCache;
  eventsExchange?: string;
  logger: Logger;
}

/** What the plain HTTP port does with requests that are no ACME validation. */
export interface PlainHttpSettings {
  port: number;
  /** redirect: 308 to the same path on HTTPS; pass: to the file server's web port as plain HTTP (X-Forwarded-Proto: http). */
  mode: 'redirect' | 'pass';
}

export type GatewayCache = Pick<StateCache, 'load' | 'savePortMap' | 'saveBundle'>;

/**
 * What every part of a running gateway shares: its I/O (Redis, the TLS
 * contexts, the disk cache) and its state (the latest port map, the control
 * sessions of this process, the passive ports' sockets). Built once per
 * gateway; the listeners, the reconciler and the state sync receive it.
 */
export interface GatewayContext {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly contexts: TlsContextHolder;
  readonly redis: Redis;
  readonly passivePorts: PassivePorts;
  readonly registry: SessionRegistry;
  /** Data connection reports between this process and the other gateway processes (replicas, workers). */
  readonly linkExchange: LinkExchange;
  /** FTP control connections' TLS sessions by id, for data connections of clients that resume by id (curl on TLS 1.2). */
  readonly sessionCache: TlsSessionCache;
  readonly cache: GatewayCache;
  /** Public passive ports, one socket each, shared by the ftp-data listeners that name them. */
  readonly dataPorts: PassiveDataListeners;
  /** The latest port map known (listeners read timeouts and policy from it); null before the first. */
  portMap: PortMap | null;
  /** cert-service gets certificates by ACME TLS-ALPN-01 (its bundle says so): HTTPS ClientHellos are looked at for the CA's validation. */
  acmeTlsAlpn: boolean;
  /** Open connections per client address and per kind of listener in this process. */
  readonly connectionLimits: ConnectionLimits;
  /** Failed FTP logins and bans per client address, shared by the replicas through Redis. */
  readonly loginGuard: LoginGuard;
  /** The load balancers whose connections carry a PROXY protocol header (from the port map; empty before the first). */
  readonly trustedProxies: () => AddressList;
  /** HTTPS connection ids: a random per-process prefix and a counter, cheaper than fresh random bytes per handshake. */
  readonly nextWebConnectionId: () => string;
}

export function createGatewayContext(config: GatewayConfig): GatewayContext {
  const logger = config.logger;
  const ticketSecret = config.ticketKeys ?? randomBytes(48);
  const contexts = new TlsContextHolder({ secret: ticketSecret, ...(config.ticketRotationMs ? { rotationMs: config.ticketRotationMs } : {}) });
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 1,
    commandTimeout: 3000,
    retryStrategy: (attempt) => Math.min(200 * 2 ** attempt, 5000),
    lazyConnect: true,
  });
  redis.on('error', (error) => logger.debug({ err: error }, 'redis error'));
  const passivePorts = new PassivePorts(redis, config.redisPrefix);
  const registry = new SessionRegistry();
  const linkExchange = new LinkExchange(redis, config.redisPrefix, config.replica, logger);
  const sessionCache = new TlsSessionCache(redis, config.redisPrefix, ticketSecret);
  // Only listeners opened from a port map count connections: there is one by then.
  const connectionLimits = new ConnectionLimits(() => context.portMap!.limits);
  // Asked on every accept: built again only when the port map names other balancers.
  let trusted: { entries: readonly string[]; list: AddressList } = { entries: [], list: new AddressList([]) };
  const trustedProxies = (): AddressList => {
    const entries = context.portMap?.proxyProtocol.trustedProxies ?? trusted.entries;
    if (entries !== trusted.entries) trusted = { entries, list: new AddressList(entries) };
    return trusted.list;
  };
  const context: GatewayContext = {
    config,
    logger,
    contexts,
    redis,
    passivePorts,
    registry,
    linkExchange,
    sessionCache,
    cache: config.cache ?? new StateCache(config.cacheDir),
    dataPorts: new PassiveDataListeners({
      // Only listeners opened from a port map accept: there is one by then.
      portMap: () => context.portMap!,
      contexts,
      passivePorts,
      registry,
      linkExchange,
      sessionCache,
      logger,
      connectionLimits,
      trustedProxies,
    }),
    trustedProxies,
    connectionLimits,
    // Only control sessions of a listener opened from a port map ask: there is one by then.
    loginGuard: new LoginGuard(new LoginBanStore(redis, config.redisPrefix), () => context.portMap!.loginDefender, logger),
    portMap: null,
    acmeTlsAlpn: false,
    nextWebConnectionId: recordIdSource(),
  };
  return context;
}
