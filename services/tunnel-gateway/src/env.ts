import { tokenEnv } from '@st/contracts';
import { readSecret } from '@st/service-kit';

/**
 * The variables the gateway reads, as text. The only I/O of configuration:
 * secrets come from `NAME` or the file `NAME_FILE` names (an unreadable file
 * is a problem for gatewaySettingsFromEnv to report, with the others).
 */
export interface GatewayEnv {
  vars: Record<string, string | undefined>;
  secrets: { serviceToken?: string; ticketKeys?: string };
  /** Secret files that could not be read, one message each. */
  secretProblems: string[];
}

export const gatewayEnvNames = [
  'REPLICA_ID',
  'REDIS_URL',
  'REDIS_PREFIX',
  'GATEWAY_CACHE_DIR',
  'GATEWAY_PORT_MAP_FILE',
  'GATEWAY_CERT_FILE',
  'GATEWAY_KEY_FILE',
  'CONFIG_SERVICE_URL',
  'CERT_SERVICE_URL',
  'GATEWAY_HEALTH_HOST',
  'GATEWAY_HEALTH_PORT',
  'GATEWAY_BIND_HOST',
  'GATEWAY_HTTP',
  'GATEWAY_HTTP_PORT',
  'GATEWAY_WORKERS',
  'GATEWAY_STOP_DRAIN_MS',
  'API_BIND_HOST',
  'GATEWAY_REFRESH_INTERVAL_MS',
  'GATEWAY_HEARTBEAT_MS',
  'TLS_TICKET_ROTATION_MS',
  'AMQP_URL',
  'EVENTS_EXCHANGE',
] as const;

export function readGatewayEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const vars: Record<string, string | undefined> = {};
  for (const name of gatewayEnvNames) vars[name] = env[name];
  const secretProblems: string[] = [];
  const secret = (name: string): string | undefined => {
    try {
      return readSecret(name, env);
    } catch (error) {
      secretProblems.push(`${name}_FILE: cannot be read (${(error as Error).message})`);
      return undefined;
    }
  };
  const serviceToken = secret(tokenEnv.service) ?? secret(tokenEnv.admin);
  const ticketKeys = secret('TLS_TICKET_KEYS');
  return {
    vars,
    secrets: { ...(serviceToken !== undefined ? { serviceToken } : {}), ...(ticketKeys !== undefined ? { ticketKeys } : {}) },
    secretProblems,
  };
}
