import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { BatchedLineWriter } from './batched-line-writer.js';
import { deferredRecordCount, isoTimestamp, writeDeferredRecords } from './deferred.js';
import { logRoutingKey, logsEnv, logsExchange, logsQueue } from '@st/contracts';
import { amqpLink, type LogTopology } from './amqp-link.js';
import type { OpenLink } from './publish-link.js';
import { recordIdSource } from './record-id.js';
import { redactSecrets } from './redact.js';
import { LogShipper, type ShipperStats } from './shipper.js';

export type { Logger } from 'pino';
export { BoundedQueue } from './bounded-queue.js';
export { LogShipper, type ShipperOptions, type ShipperStats, type ShippedRecord } from './shipper.js';
export type { OpenLink, PublishLink } from './publish-link.js';
export { amqpLink, type LogTopology } from './amqp-link.js';
export { recordIdSource } from './record-id.js';
export { BatchedLineWriter, type BatchedLineWriterOptions, type LineOutput } from './batched-line-writer.js';
export { logDeferred, writeDeferredRecords, deferredRecordDelayMs } from './deferred.js';
export { redactSecrets, secretFieldNames, redactionCensor } from './redact.js';


export interface ShippingConfig {
  /** RabbitMQ URL; never logged (it may hold a password). */
  url: string;
  /** Defaults: LOG_EXCHANGE or the contract's logs exchange. */
  exchange?: string;
  /** The durable queue to declare so records wait for the log-service (LOG_QUEUE or the contract's); null declares none. */
  queue?: string | null;
  /** Records buffered while RabbitMQ is away (default 10,000; the oldest are dropped beyond it). */
  capacity?: number;
  maxInFlight?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Replaces the RabbitMQ link (tests). */
  open?: OpenLink;
}

export interface LoggerConfig {
  service: string;
  /** Distinguishes replicas of one service; defaults to the host name (the container id under compose). */
  replica?: string;
  level?: string;
  destination?: DestinationStream;
  /**
   * Also publish every record to RabbitMQ. Default: on when AMQP_URL is set and
   * no destination is given (a service writing to stdout); `false` turns it off.
   */
  shipping?: ShippingConfig | false;
}

const shipperKey = Symbol('st.logShipper');

function defaultShipping(config: LoggerConfig, env: NodeJS.ProcessEnv): ShippingConfig | undefined {
  if (config.shipping === false) return undefined;
  if (config.shipping) return config.shipping;
  if (config.destination || !env.AMQP_URL) return undefined;
  return { url: env.AMQP_URL };
}

/**
 * Writes each line to the destination and hands it to the shipper. pino fills
 * in lastLevel/lastObj/lastLogger before each write on streams that ask for
 * metadata, so the routing key and record id need no re-parsing of the line.
 */
function teeDestination(out: DestinationStream, service: string, shipper: LogShipper): DestinationStream {
  const tee = {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 0,
    lastObj: undefined as Record<string, unknown> | undefined,
    lastLogger: undefined as Logger | undefined,
    write(line: string) {
      out.write(line);
      try {
        const label = tee.lastLogger?.levels.labels[tee.lastLevel] ?? 'info';
        const recordId = tee.lastObj?.recordId;
        const json = line.endsWith('\n') ? line.slice(0, -1) : line;
        shipper.ship({
          routingKey: logRoutingKey(service, label),
          content: Buffer.from(json),
          ...(typeof recordId === 'string' ? { recordId } : {}),
        });
      } catch {
        // Shipping is best effort; stdout already has the line.
      }
    },
    flush(callback?: (error?: Error) => void) {
      const flushable = out as DestinationStream & { flush?: (cb?: (error?: Error) => void) => void };
      if (typeof flushable.flush === 'function') flushable.flush(callback);
      else callback?.();
    },
  };
  return tee;
}

/**
 * pino passes a child's bindings through no formatter, so the root's child()
 * redacts them first. Children are created from their parent's prototype, so
 * grandchildren get the same child().
 */
function withRedactedChildren(logger: Logger): Logger {
  type ChildFn = (this: unknown, bindings: Record<string, unknown>, options?: unknown) => unknown;
  const child = logger.child as unknown as ChildFn;
  Object.defineProperty(logger, 'child', {
    value: function (this: unknown, bindings: Record<string, unknown>, options?: unknown) {
      return child.call(this, redactSecrets(bindings), options);
    },
    writable: true,
    configurable: true,
  });
  return logger;
}

/**
 * Stdout written asynchronously and in batches (see BatchedLineWriter): a
 * synchronous write per line stalls the event loop whenever stdout is slow (a
 * pipe to a busy log collector) and costs a system call per line on the
 * handshake path. What is pending is written synchronously when the process
 * exits, also after an uncaught exception; only a kill -9 loses the last lines.
 */
let sharedStdout: BatchedLineWriter | undefined;
/** The first logger on stdout reports lines dropped while stdout could not keep up. */
let dropReporter: Logger | undefined;

function stdoutDestination(): DestinationStream {
  if (sharedStdout) return sharedStdout;
  const out = new BatchedLineWriter({
    fd: 1,
    onDropped: (count) => dropReporter?.warn({ droppedLines: count }, 'log lines dropped: stdout did not keep up'),
  });
  sharedStdout = out;
  process.once('exit', () => {
    out.holdAsyncWrites();
    try {
      writeDeferredRecords();
    } finally {
      out.flushSync();
    }
  });
  return out;
}

export function createLogger(config: LoggerConfig, env: NodeJS.ProcessEnv = process.env): Logger {
  const replica = config.replica ?? env.REPLICA_ID ?? hostname();
  const nextRecordId = recordIdSource();
  const options: LoggerOptions = {
    level: config.level ?? env.LOG_LEVEL ?? 'info',
    base: { service: config.service, replica },
    timestamp: isoTimestamp,
    hooks: {
      // Deferred records (logDeferred) go out before any record logged after them.
      logMethod(args, method) {
        if (deferredRecordCount() > 0) writeDeferredRecords();
        return method.apply(this, args);
      },
    },
    // Redaction by field name at any depth; child bindings are redacted in withRedactedChildren.
    formatters: { level: (label) => ({ level: label }), log: redactSecrets, bindings: redactSecrets },
    mixin: () => ({ recordId: nextRecordId() }),
  };
  const shipping = defaultShipping(config, env);
  if (!shipping) {
    const logger = withRedactedChildren(pino(options, config.destination ?? stdoutDestination()));
    if (!config.destination) dropReporter ??= logger;
    return logger;
  }

  const topology: LogTopology = {
    exchange: shipping.exchange ?? env[logsEnv.exchange] ?? logsExchange,
    queue:
      shipping.queue === null
        ? null
        : { name: shipping.queue ?? env[logsEnv.queue] ?? logsQueue.name, bindingKey: logsQueue.bindingKey, arguments: { ...logsQueue.arguments } },
  };
  // The logger exists only after the shipper; its events log through this reference.
  let logger: Logger | undefined;
  const shipper = new LogShipper({
    open: shipping.open ?? amqpLink(shipping.url, topology, `${config.service}@${replica} logs`),
    ...(shipping.capacity !== undefined ? { capacity: shipping.capacity } : {}),
    ...(shipping.maxInFlight !== undefined ? { maxInFlight: shipping.maxInFlight } : {}),
    ...(shipping.backoffInitialMs !== undefined ? { backoffInitialMs: shipping.backoffInitialMs } : {}),
    ...(shipping.backoffMaxMs !== undefined ? { backoffMaxMs: shipping.backoffMaxMs } : {}),
    onInterrupted: (error) =>
      logger?.warn({ reason: error instanceof Error ? error.message : String(error) }, 'log shipping to RabbitMQ interrupted; buffering records'),
    onConnected: () => logger?.info({ exchange: topology.exchange }, 'log shipping to RabbitMQ connected'),
    onDropped: (count) => logger?.warn({ droppedRecords: count }, 'log records dropped while RabbitMQ was unreachable or slow (buffer full)'),
  });
  const out = config.destination ?? stdoutDestination();
  logger = withRedactedChildren(pino(options, teeDestination(out, config.service, shipper)));
  if (!config.destination) dropReporter ??= logger;
  Object.defineProperty(logger, shipperKey, { value: shipper });
  return logger;
}

function shipperOf(logger: Logger): LogShipper | undefined {
  // Child loggers inherit from their parent's prototype chain, so they find it too.
  return (logger as unknown as Record<symbol, LogShipper | undefined>)[shipperKey];
}

/** Shipping counters, or undefined when the logger does not ship. */
export function logShippingStats(logger: Logger): ShipperStats | undefined {
  return shipperOf(logger)?.stats();
}

/** Waits until every shipped record is confirmed by RabbitMQ (or the timeout); true if all were. */
export async function flushLogger(logger: Logger, timeoutMs = 5_000): Promise<boolean> {
  return (await shipperOf(logger)?.flush(timeoutMs)) ?? true;
}

/** Sends what is buffered (within the timeout) and closes the RabbitMQ connection, so the process can exit. */
export async function closeLogger(logger: Logger, timeoutMs = 2_000): Promise<void> {
  await shipperOf(logger)?.close(timeoutMs);
}
