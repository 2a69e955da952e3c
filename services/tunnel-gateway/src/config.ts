import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { certificateBundleSchema, portMapSchema, tokenEnv } from '@st/contracts';
import { apiBindHost, eventsExchangeFromEnv, readSecret } from '@st/service-kit';
import { ServiceStateSource, StaticStateSource, type StateSource } from './gateway-state.js';

export interface GatewayEnvConfig {
  replica: string;
  redisUrl: string;
  redisPrefix: string;
  cacheDir: string;
  source: StateSource;
  sourceDescription: string;
  health: { host: string; port: number };
  ticketKeys?: Buffer;
  refreshIntervalMs: number;
  heartbeatMs: number;
  amqpUrl?: string;
  eventsExchange?: string;
}

/**
 * The replica's name in logs and status reports: REPLICA_ID, else the host
 * name (a container's id under compose, so one per gateway process there).
 * Several gateway processes on one host need a REPLICA_ID each.
 */
export function replicaIdFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.REPLICA_ID?.trim() || hostname();
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
}

/**
 * Reads the gateway's environment. Two ways to get state: from config-service
 * and cert-service (CONFIG_SERVICE_URL, CERT_SERVICE_URL, SERVICE_TOKEN), or
 * standalone from files (GATEWAY_PORT_MAP_FILE with GATEWAY_CERT_FILE and
 * GATEWAY_KEY_FILE), which is how the benchmark runs it.
 */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnvConfig {
  let source: StateSource;
  let sourceDescription: string;
  if (env.GATEWAY_PORT_MAP_FILE) {
    const certFile = env.GATEWAY_CERT_FILE;
    const keyFile = env.GATEWAY_KEY_FILE;
    if (!certFile || !keyFile) throw new Error('GATEWAY_PORT_MAP_FILE needs GATEWAY_CERT_FILE and GATEWAY_KEY_FILE');
    const portMap = portMapSchema.parse(JSON.parse(readFileSync(env.GATEWAY_PORT_MAP_FILE, 'utf8')));
    const bundle = certificateBundleSchema.parse({
      id: 'static',
      fingerprintSha256: 'static',
      subject: '',
      notBefore: '',
      notAfter: '',
      certificatePem: readFileSync(certFile, 'utf8'),
      privateKeyPem: readFileSync(keyFile, 'utf8'),
    });
    source = new StaticStateSource({ portMap, bundle });
    sourceDescription = `files ${env.GATEWAY_PORT_MAP_FILE}, ${certFile}`;
  } else {
    const token = readSecret(tokenEnv.service, env) ?? readSecret(tokenEnv.admin, env);
    if (!token) throw new Error(`${tokenEnv.service} (or ${tokenEnv.service}_FILE) must be set to fetch the port map and certificate`);
    const configUrl = env.CONFIG_SERVICE_URL ?? 'http://127.0.0.1:7001';
    const certUrl = env.CERT_SERVICE_URL ?? 'http://127.0.0.1:7002';
    source = new ServiceStateSource(configUrl, certUrl, token);
    sourceDescription = `config-service ${configUrl}, cert-service ${certUrl}`;
  }
  const ticketKeyHex = readSecret('TLS_TICKET_KEYS', env);
  if (ticketKeyHex !== undefined && !/^[0-9a-fA-F]{96}$/.test(ticketKeyHex)) {
    throw new Error('TLS_TICKET_KEYS must be 96 hex digits (48 bytes), the same for every gateway replica');
  }
  return {
    replica: replicaIdFromEnv(env),
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.REDIS_PREFIX ?? 'st:',
    cacheDir: env.GATEWAY_CACHE_DIR ?? './.data/tunnel-gateway',
    source,
    sourceDescription,
    health: { host: apiBindHost(env, 'GATEWAY_HEALTH_HOST'), port: intFrom(env, 'GATEWAY_HEALTH_PORT', 7003) },
    ...(ticketKeyHex ? { ticketKeys: Buffer.from(ticketKeyHex, 'hex') } : {}),
    refreshIntervalMs: intFrom(env, 'GATEWAY_REFRESH_INTERVAL_MS', 60_000),
    heartbeatMs: Math.max(1000, intFrom(env, 'GATEWAY_HEARTBEAT_MS', 15_000)),
    ...(env.AMQP_URL ? { amqpUrl: env.AMQP_URL } : {}),
    ...(eventsExchangeFromEnv(env) ? { eventsExchange: eventsExchangeFromEnv(env) } : {}),
  };
}
