import { logsEnv, logsExchange, logsQueue } from '@st/contracts';
import { apiBindHost } from '@st/service-kit';
import { parseDuration } from './filter.js';

/** Everything the log-service reads from its environment, except the tokens (secrets.ts-style: main reads those). */
export interface LogServiceSettings {
  host: string;
  port: number;
  dbPath: string;
  /** SQLite synchronous mode (see StoreOptions). */
  sync: 'NORMAL' | 'FULL';
  amqp: { url: string; exchange: string; queue: string };
  retention: { maxAgeMs: number; maxBytes: number; intervalMs: number };
}

export type SettingsResult = { ok: true; settings: LogServiceSettings } | { ok: false; errors: string[] };

const byteUnits: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "1073741824", "500MB", "1GiB" → bytes. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = byteUnits[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}

/** "604800000" (ms) or "7d", "12h", "30m". */
export function parseMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return parseDuration(trimmed);
}

export const defaults = {
  port: 7004,
  dbPath: '.data/log-service/logs.db',
  amqpUrl: 'amqp://127.0.0.1:5672',
  retentionMaxAgeMs: 7 * 86_400_000,
  retentionMaxBytes: 1024 ** 3,
  retentionIntervalMs: 60_000,
} as const;

/** Defaults, then the environment; every bad value is reported, naming its variable. */
export function settingsFromEnv(env: Record<string, string | undefined>): SettingsResult {
  const errors: string[] = [];
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const number = <T>(name: string, fallback: T, parse: (value: string) => number | undefined, min: number, max: number): number | T => {
    const value = text(name);
    if (value === undefined) return fallback;
    const parsed = parse(value);
    if (parsed === undefined || !Number.isFinite(parsed) || parsed < min || parsed > max) {
      errors.push(`${name}: "${value}" is not valid (${min}..${max})`);
      return fallback;
    }
    return parsed;
  };
  const integer = (value: string) => (/^\d+$/.test(value) ? Number(value) : undefined);
  const sync = (text('LOG_DB_SYNC') ?? 'normal').toUpperCase();
  if (sync !== 'NORMAL' && sync !== 'FULL') errors.push(`LOG_DB_SYNC: "${text('LOG_DB_SYNC')}" is not normal or full`);

  let host = '127.0.0.1';
  try {
    host = apiBindHost(env, 'LOG_SERVICE_HOST');
  } catch (error) {
    errors.push((error as Error).message);
  }

  const settings: LogServiceSettings = {
    host,
    port: number('LOG_SERVICE_PORT', defaults.port, integer, 0, 65535),
    dbPath: text('LOG_DB_PATH') ?? defaults.dbPath,
    sync: sync === 'FULL' ? 'FULL' : 'NORMAL',
    amqp: {
      url: text('AMQP_URL') ?? defaults.amqpUrl,
      exchange: text(logsEnv.exchange) ?? logsExchange,
      queue: text(logsEnv.queue) ?? logsQueue.name,
    },
    retention: {
      maxAgeMs: number('LOG_RETENTION_MAX_AGE', defaults.retentionMaxAgeMs, parseMs, 60_000, 10 * 365 * 86_400_000),
      maxBytes: number('LOG_RETENTION_MAX_BYTES', defaults.retentionMaxBytes, parseBytes, 1024 ** 2, 1024 ** 5),
      intervalMs: number('LOG_RETENTION_INTERVAL', defaults.retentionIntervalMs, parseMs, 1_000, 86_400_000),
    },
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings };
}
