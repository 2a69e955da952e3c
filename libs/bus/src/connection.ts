import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { eventsExchange } from '@st/contracts';
import type { Logger } from '@st/logging';
import { backoffDelay, sleep } from '@st/service-kit';

export interface BusConnectionOptions {
  /** amqp://user:password@host:port/vhost */
  url: string;
  logger: Logger;
  /** Shown in logs and in the broker's connection list. */
  name: string;
  /** The topic exchange; `st.events` unless a test isolates itself. */
  exchange?: string;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** TCP connect and AMQP handshake limit. */
  connectTimeoutMs?: number;
}

/** A connection that comes back by itself; `connected` says whether it is up right now. */
export interface BusLink {
  readonly connected: boolean;
  /** Resolves the next time the link is (or already is) up; for start-up checks and tests. */
  whenConnected(): Promise<void>;
  close(): Promise<void>;
}

export interface LinkHooks {
  /** Declares what the client needs on a fresh channel (queues, bindings, consumers). */
  setup?(channel: ConfirmChannel, exchange: string): Promise<void>;
  up?(channel: ConfirmChannel): void;
  down?(): void;
}

/** The URL without its password, for logs. */
export function redactAmqpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable AMQP URL)';
  }
}

/**
 * Keeps one connection and confirm channel to RabbitMQ, declaring the events
 * exchange and running `setup` on every new channel. A lost connection is
 * retried with exponential backoff and jitter until close(); the caller never
 * sees a dead channel, only `connected` turning false and back.
 */
export function keepConnected(options: BusConnectionOptions, hooks: LinkHooks): BusLink {
  const { logger } = options;
  const exchange = options.exchange ?? eventsExchange;
  const initialMs = options.initialBackoffMs ?? 250;
  const maxMs = options.maxBackoffMs ?? 10_000;
  const where = redactAmqpUrl(options.url);
  const stopping = new AbortController();
  let model = null as ChannelModel | null;
  let connected = false;
  let waiters: Array<() => void> = [];

  async function connectOnce(): Promise<Promise<unknown>> {
    const opened = await connect(options.url, {
      timeout: options.connectTimeoutMs ?? 5000,
      clientProperties: { connection_name: options.name },
    });
    model = opened;
    const closed = new Promise((resolve) => opened.once('close', resolve));
    // Without an error listener a broker-side close would crash the process; 'close' follows it.
    opened.on('error', (error: unknown) => logger.warn({ err: error, bus: where }, 'bus connection error'));
    if (stopping.signal.aborted) throw new Error('closing');
    const channel = await opened.createConfirmChannel();
    channel.on('error', (error: unknown) => logger.warn({ err: error, bus: where }, 'bus channel error'));
    // A channel the broker closed (e.g. a refused declaration) takes the connection down, so the loop rebuilds both.
    channel.once('close', () => void opened.close().catch(() => undefined));
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await hooks.setup?.(channel, exchange);
    connected = true;
    logger.info({ bus: where, client: options.name }, 'bus connected');
    hooks.up?.(channel);
    for (const resolve of waiters) resolve();
    waiters = [];
    return closed;
  }

  const loop = (async () => {
    for (let attempt = 0; !stopping.signal.aborted; ) {
      try {
        const closed = await connectOnce();
        attempt = 0;
        const reason = await closed;
        if (!stopping.signal.aborted) logger.warn({ err: reason, bus: where, client: options.name }, 'bus connection lost; reconnecting');
      } catch (error) {
        if (!stopping.signal.aborted) logger.warn({ err: error, bus: where, client: options.name, attempt: attempt + 1 }, 'bus connection failed; retrying');
        await model?.close().catch(() => undefined);
      }
      if (connected) {
        connected = false;
        hooks.down?.();
      }
      model = null;
      if (stopping.signal.aborted) break;
      try {
        await sleep(backoffDelay(attempt++, initialMs, maxMs), stopping.signal);
      } catch {
        break;
      }
    }
  })();

  return {
    get connected() {
      return connected;
    },
    whenConnected() {
      if (connected) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async close() {
      stopping.abort(new Error('bus client closed'));
      await model?.close().catch(() => undefined);
      await loop;
    },
  };
}
