import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import { tokenEnv } from '@st/contracts';
import { apiBindHost } from '@st/service-kit';
import type { GatewayEnv } from './env.js';
import type { PlainHttpSettings } from './gateway-context.js';

/** Where the gateway gets its port map and certificate. */
export type GatewayStateSettings =
  /** From config-service and cert-service (the normal deployment). */
  | { kind: 'services'; configServiceUrl: string; certServiceUrl: string; token: string }
  /** Standalone from files (how the benchmark runs it). */
  | { kind: 'files'; portMapFile: string; certFile: string; keyFile: string };

/** Everything the gateway takes from its environment, validated. */
export interface GatewaySettings {
  replica: string;
  redisUrl: string;
  redisPrefix: string;
  cacheDir: string;
  state: GatewayStateSettings;
  health: { host: string; port: number };
  /** GATEWAY_BIND_HOST: every public port on this address instead of the settings' bind address. */
  bindHost?: string;
  /**
   * GATEWAY_HTTP=redirect or pass: a plain HTTP port (GATEWAY_HTTP_PORT, 80) answering ACME HTTP-01
   * challenges and redirecting the rest to HTTPS, or passing it to the file server's web port.
   */
  plainHttp?: PlainHttpSettings;
  /** GATEWAY_WORKERS: gateway processes sharing every public port (default: one per CPU). */
  workers: number;
  /** GATEWAY_STOP_DRAIN_MS: on SIGTERM, the longest open connections may take to finish (the settings' drain time if shorter). */
  stopDrainMs: number;
  ticketKeys?: Buffer;
  /** How often the session-ticket keys derived from ticketKeys change (every replica must use the same). */
  ticketRotationMs: number;
  refreshIntervalMs: number;
  /** How often the replica reports its status when nothing changes. */
  heartbeatMs: number;
  amqpUrl?: string;
  eventsExchange?: string;
}

export type GatewaySettingsResult = { ok: true; settings: GatewaySettings } | { ok: false; errors: string[] };

export const gatewayDefaults = {
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'st:',
  cacheDir: './.data/tunnel-gateway',
  configServiceUrl: 'http://127.0.0.1:7001',
  certServiceUrl: 'http://127.0.0.1:7002',
  healthPort: 7003,
  ticketRotationMs: 3_600_000,
  refreshIntervalMs: 60_000,
  heartbeatMs: 15_000,
  // Under the 30 s start.sh (and compose's stop_grace_period) give a service before killing it.
  stopDrainMs: 20_000,
} as const;

/**
 * The replica's name in logs and status reports: REPLICA_ID, else the host
 * name (a container's id under compose, so one per gateway process there).
 * Several gateway processes on one host need a REPLICA_ID each.
 */
export function replicaIdFromEnv(env: Record<string, string | undefined> = process.env, defaultReplica: string = hostname()): string {
  return env.REPLICA_ID?.trim() || defaultReplica;
}

/**
 * Defaults, then the environment. Pure: every problem is collected, each
 * naming its variable, so an operator fixes them all in one go.
 */
export function gatewaySettingsFromEnv(env: GatewayEnv, defaultReplica: string = hostname(), defaultWorkers: number = availableParallelism()): GatewaySettingsResult {
  const errors = [...env.secretProblems];
  const text = (name: string): string | undefined => {
    const value = env.vars[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = text(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      errors.push(`${name}: "${value}" is not a whole number in ${min}..${max}`);
      return fallback;
    }
    return Number(value);
  };
  const url = (name: string, fallback: string, protocols: readonly string[]): string => {
    const value = text(name) ?? fallback;
    let parsed: URL | null = null;
    try {
      parsed = new URL(value);
    } catch {
      // reported below
    }
    if (!parsed || !protocols.includes(parsed.protocol)) errors.push(`${name}: "${value}" is not a ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL`);
    return value;
  };

  let state: GatewayStateSettings;
  const portMapFile = text('GATEWAY_PORT_MAP_FILE');
  if (portMapFile) {
    const certFile = text('GATEWAY_CERT_FILE');
    const keyFile = text('GATEWAY_KEY_FILE');
    if (!certFile || !keyFile) errors.push('GATEWAY_PORT_MAP_FILE needs GATEWAY_CERT_FILE and GATEWAY_KEY_FILE');
    state = { kind: 'files', portMapFile, certFile: certFile ?? '', keyFile: keyFile ?? '' };
  } else {
    const token = env.secrets.serviceToken;
    if (!token) errors.push(`${tokenEnv.service} (or ${tokenEnv.service}_FILE) must be set to fetch the port map and certificate`);
    state = {
      kind: 'services',
      configServiceUrl: url('CONFIG_SERVICE_URL', gatewayDefaults.configServiceUrl, ['http:', 'https:']),
      certServiceUrl: url('CERT_SERVICE_URL', gatewayDefaults.certServiceUrl, ['http:', 'https:']),
      token: token ?? '',
    };
  }

  const ticketKeyHex = env.secrets.ticketKeys;
  if (ticketKeyHex !== undefined && !/^[0-9a-fA-F]{96}$/.test(ticketKeyHex)) {
    errors.push('TLS_TICKET_KEYS: must be 96 hex digits (48 bytes), the same for every gateway replica');
  }
  const amqpUrl = text('AMQP_URL') !== undefined ? url('AMQP_URL', '', ['amqp:', 'amqps:']) : undefined;
  const eventsExchange = text('EVENTS_EXCHANGE');
  // GATEWAY_HEALTH_HOST, else API_BIND_HOST, else loopback: the health port is for the operator's side only.
  let healthHost = '127.0.0.1';
  try {
    healthHost = apiBindHost(env.vars, 'GATEWAY_HEALTH_HOST');
  } catch (error) {
    errors.push((error as Error).message);
  }
  const bindHost = text('GATEWAY_BIND_HOST');
  if (bindHost !== undefined && isIP(bindHost) === 0) errors.push(`GATEWAY_BIND_HOST: "${bindHost}" is not an IP address`);
  const plainHttpMode = text('GATEWAY_HTTP') ?? 'off';
  if (plainHttpMode !== 'off' && plainHttpMode !== 'redirect' && plainHttpMode !== 'pass') errors.push(`GATEWAY_HTTP: "${plainHttpMode}" is not one of off, redirect, pass`);
  const plainHttpPort = integer('GATEWAY_HTTP_PORT', 80, 0, 65535);
  if (plainHttpMode === 'off' && text('GATEWAY_HTTP_PORT') !== undefined) errors.push('GATEWAY_HTTP_PORT is set but GATEWAY_HTTP is off: set GATEWAY_HTTP=redirect or pass to open the plain HTTP port');
  const settings: GatewaySettings = {
    replica: replicaIdFromEnv(env.vars, defaultReplica),
    redisUrl: url('REDIS_URL', gatewayDefaults.redisUrl, ['redis:', 'rediss:']),
    redisPrefix: env.vars.REDIS_PREFIX ?? gatewayDefaults.redisPrefix,
    cacheDir: text('GATEWAY_CACHE_DIR') ?? gatewayDefaults.cacheDir,
    state,
    health: { host: healthHost, port: integer('GATEWAY_HEALTH_PORT', gatewayDefaults.healthPort, 0, 65535) },
    ...(bindHost ? { bindHost } : {}),
    ...(plainHttpMode === 'redirect' || plainHttpMode === 'pass' ? { plainHttp: { port: plainHttpPort, mode: plainHttpMode } } : {}),
    workers: integer('GATEWAY_WORKERS', defaultWorkers, 1, 256),
    stopDrainMs: integer('GATEWAY_STOP_DRAIN_MS', gatewayDefaults.stopDrainMs, 0, 86_400_000),
    ...(ticketKeyHex !== undefined && errors.length === 0 ? { ticketKeys: Buffer.from(ticketKeyHex, 'hex') } : {}),
    // Not below the ten minutes a session ticket lives: a data connection's ticket is then of this period or the one before.
    ticketRotationMs: integer('TLS_TICKET_ROTATION_MS', gatewayDefaults.ticketRotationMs, 600_000, 604_800_000),
    refreshIntervalMs: integer('GATEWAY_REFRESH_INTERVAL_MS', gatewayDefaults.refreshIntervalMs, 1000, 86_400_000),
    heartbeatMs: integer('GATEWAY_HEARTBEAT_MS', gatewayDefaults.heartbeatMs, 1000, 3_600_000),
    ...(amqpUrl ? { amqpUrl } : {}),
    ...(eventsExchange ? { eventsExchange } : {}),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings };
}
