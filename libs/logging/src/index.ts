import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names whose values are secrets wherever they appear (top level or one
 * or two levels deep). Redaction is by name so that a new log call cannot leak
 * a password or a key by accident.
 */
const secretFieldNames = [
  'password',
  'pass',
  'passphrase',
  'privateKey',
  'privateKeyPem',
  'key',
  'keyPem',
  'token',
  'authorization',
  'cookie',
  'secret',
];

export const redactedPaths: string[] = secretFieldNames.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);

export interface LoggerConfig {
  service: string;
  /** Distinguishes replicas of one service; defaults to the host name (the container id under compose). */
  replica?: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: config.service, replica: config.replica ?? process.env.REPLICA_ID ?? hostname() },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
