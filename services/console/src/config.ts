/** Everything the console reads from its environment apart from secrets (main.ts reads those). */
export interface ConsoleSettings {
  host: string;
  port: number;
  /** Serve HTTPS with the active certificate (default); plain HTTP only when told, e.g. behind a TLS proxy. */
  tls: boolean;
  configServiceUrl: string;
  certServiceUrl: string;
  logServiceUrl: string;
  /** Health endpoints of gateway replicas (their open connections and listeners); config-service's replica list adds the rest. */
  gatewayHealthUrls: string[];
  /** How long a session lives without a request, and at most. */
  sessionIdleMs: number;
  sessionMaxMs: number;
}

export type ConsoleSettingsResult = { ok: true; settings: ConsoleSettings } | { ok: false; errors: string[] };

export const consoleDefaults = {
  port: 7005,
  configServiceUrl: 'http://127.0.0.1:7001',
  certServiceUrl: 'http://127.0.0.1:7002',
  gatewayHealthUrl: 'http://127.0.0.1:7003',
  logServiceUrl: 'http://127.0.0.1:7004',
  sessionIdleMs: 30 * 60_000,
  sessionMaxMs: 12 * 3_600_000,
} as const;

const booleanWords: Record<string, boolean> = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false };

/**
 * Defaults, then the environment; every bad value is reported, naming its
 * variable. `bindHost` is where the API port binds (API_BIND_HOST or
 * CONSOLE_HOST, resolved by the caller so every service reads it one way).
 */
export function consoleSettingsFromEnv(env: Record<string, string | undefined>, bindHost: string): ConsoleSettingsResult {
  const errors: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const url = (name: string, fallback: string): string => {
    const value = text(name) ?? fallback;
    try {
      const parsed = new URL(value);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
      return value.replace(/\/+$/, '');
    } catch {
      errors.push(`${name}: "${value}" is not an http:// or https:// URL`);
      return fallback;
    }
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = text(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      errors.push(`${name}: "${value}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return parsed;
  };
  const tlsText = text('CONSOLE_TLS');
  let tls = true;
  if (tlsText !== undefined) {
    const parsed = booleanWords[tlsText.toLowerCase()];
    if (parsed === undefined) errors.push(`CONSOLE_TLS: "${tlsText}" is not true or false`);
    else tls = parsed;
  }
  const gatewayHealthUrls = (text('GATEWAY_HEALTH_URLS') ?? consoleDefaults.gatewayHealthUrl)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item, index) => {
      try {
        return new URL(item).toString().replace(/\/+$/, '');
      } catch {
        errors.push(`GATEWAY_HEALTH_URLS: item ${index + 1} "${item}" is not a URL`);
        return '';
      }
    })
    .filter((item) => item !== '');
  const settings: ConsoleSettings = {
    host: bindHost,
    port: integer('CONSOLE_PORT', consoleDefaults.port, 1, 65535),
    tls,
    configServiceUrl: url('CONFIG_SERVICE_URL', consoleDefaults.configServiceUrl),
    certServiceUrl: url('CERT_SERVICE_URL', consoleDefaults.certServiceUrl),
    logServiceUrl: url('LOG_SERVICE_URL', consoleDefaults.logServiceUrl),
    gatewayHealthUrls,
    sessionIdleMs: integer('CONSOLE_SESSION_IDLE_MS', consoleDefaults.sessionIdleMs, 60_000, 86_400_000),
    sessionMaxMs: integer('CONSOLE_SESSION_MAX_MS', consoleDefaults.sessionMaxMs, 60_000, 7 * 86_400_000),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings };
}
