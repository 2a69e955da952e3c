/**
 * Log shipping: every service publishes each log record, as the JSON line it
 * writes to stdout, to one topic exchange. The log-service stores them.
 */

/** The topic exchange log records are published to; routing key `<service>.<level>` (see logRoutingKey). */
export const logsExchange = 'st.logs';

/**
 * The log-service's durable queue. Shippers declare it too (same arguments), so
 * records published before the log-service ever started are kept rather than
 * dropped by an exchange without bindings. The length cap protects the broker
 * when the log-service stays away for long: the oldest records go first.
 */
export const logsQueue = {
  name: 'st.logs.store',
  bindingKey: '#',
  arguments: { 'x-max-length': 2_000_000, 'x-overflow': 'drop-head' },
} as const;

/** Routing key of one record: `<service>.<level>`; dots in a service name would add a level of topic, so they become `_`. */
export function logRoutingKey(service: string, level: string): string {
  return `${service.replace(/\./g, '_')}.${level}`;
}

/** Fields every shipped record carries (pino's `level` is its label, `time` ISO 8601). */
export const logFields = {
  /** Unique per record (process prefix + counter); the log-service drops a second copy with the same id. */
  recordId: 'recordId',
  service: 'service',
  replica: 'replica',
  level: 'level',
  time: 'time',
  msg: 'msg',
  /** Gateway: one TCP/TLS connection. */
  conn: 'conn',
  /** Gateway: one FTP control session, shared by its data connections. */
  session: 'session',
} as const;

/** pino's level numbers; a query's `level` is a minimum. */
export const logLevels = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelName = keyof typeof logLevels;

/** Environment variables that override the exchange and queue names (isolated test runs, shared brokers). */
export const logsEnv = {
  exchange: 'LOG_EXCHANGE',
  queue: 'LOG_QUEUE',
} as const;

/** log-service paths: query (newest first, cursor pages), follow (Server-Sent Events), summary. Operator or admin token. */
export const logApi = {
  records: '/logs',
  follow: '/logs/follow',
  summary: '/logs/summary',
} as const;
