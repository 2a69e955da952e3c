import { isIP } from 'node:net';

/**
 * Where the console's port binds: CONSOLE_HOST, else API_BIND_HOST, else
 * loopback — an admin page must not be reachable from a network unless
 * someone chose so.
 */
export function consoleBindHost(env: Record<string, string | undefined>): string {
  for (const name of ['CONSOLE_HOST', 'API_BIND_HOST']) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (value !== 'localhost' && isIP(value) === 0) throw new Error(`${name}: "${value}" is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every address)`);
    return value;
  }
  return '127.0.0.1';
}
