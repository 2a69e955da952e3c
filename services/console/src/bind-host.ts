import { apiBindHost } from '@st/service-kit';

/**
 * Where the console's port binds: CONSOLE_HOST, else API_BIND_HOST, else
 * loopback — an admin page must not be reachable from a network unless
 * someone chose so. Read in service-kit's one place, as every service does.
 */
export function consoleBindHost(env: Record<string, string | undefined>): string {
  return apiBindHost(env, 'CONSOLE_HOST');
}
