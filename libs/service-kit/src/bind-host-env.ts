import { isIP } from 'node:net';

/** The variable that opens every service's API and health port beyond loopback (compose sets it to 0.0.0.0). */
export const apiBindHostEnv = 'API_BIND_HOST';

/** Where APIs and health listen unless told otherwise: admin tokens must not cross a network in clear text. */
export const defaultApiBindHost = '127.0.0.1';

/**
 * The address a service's API (or the gateway's health server) binds: the
 * service's own variable when set (e.g. CONFIG_HOST), else API_BIND_HOST,
 * else loopback. Throws, naming the variable, when the value is not a numeric
 * address or "localhost".
 */
export function apiBindHost(env: Record<string, string | undefined>, serviceVariable?: string): string {
  for (const name of [serviceVariable, apiBindHostEnv]) {
    if (!name) continue;
    const value = env[name]?.trim();
    if (!value) continue;
    if (value !== 'localhost' && isIP(value) === 0) {
      throw new Error(`${name}: "${value}" is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every address)`);
    }
    return value;
  }
  return defaultApiBindHost;
}
