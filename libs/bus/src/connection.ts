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
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const connecting = connect(options.url, { timeout: timeoutMs, clientProperties: { connection_name: options.name } });
    // amqplib's timeout covers the TCP connect only; a handshake cut half-way could otherwise wait for ever.
    const giveUp = new AbortController();
    const stop = () => giveUp.abort();
    stopping.signal.addEventListener('abort', stop, { once: true });
    const opened = await Promise.race([
      connecting,
      sleep(2 * timeoutMs, giveUp.signal).then(
        () => Promise.reject(new Error(`no AMQP handshake within ${2 * timeoutMs} ms`)),
        () => Promise.reject(new Error('closing')),
      ),
    ])
      .catch((error: unknown) => {
        // A connection that completes after we gave up on it is closed, not leaked.
        connecting.then((late) => closeQuietly(late), () => undefined);
        throw error;
      })
      .finally(() => {
        stopping.signal.removeEventListener('abort', stop);
        giveUp.abort();
      });
    model = opened;
    // A connection error ends the connection too: when the socket dies during or just after the
    // open handshake, amqplib reports "Unexpected close" as an error and may never emit 'close'.
    const closed = new Promise((resolve) => {
      opened.once('close', resolve);
      opened.once('error', resolve);
    });
    // Without an error listener a broker-side close would crash the process.
    opened.on('error', (error: unknown) => logger.warn({ err: error, bus: where }, 'bus connection error'));
    // A broker short of memory or disk blocks every publishing connection: confirms stop until it recovers.
    opened.on('blocked', (reason: unknown) => logger.warn({ bus: where, client: options.name, reason }, 'bus connection blocked by the broker (resource alarm); publishing waits'));
    opened.on('unblocked', () => logger.info({ bus: where, client: options.name }, 'bus connection unblocked'));
    // amqplib can leave a channel-open or declaration pending for ever when the socket dies under it;
    // every setup step therefore also ends when the connection closes or the link is closed.
    const interrupted = new Promise<never>((_, reject) => {
      const onStop = () => reject(new Error('closing'));
      stopping.signal.addEventListener('abort', onStop, { once: true });
      void closed.then((reason) => {
        // One listener per connection, removed with it: a flapping broker must not pile them up.
        stopping.signal.removeEventListener('abort', onStop);
        reject(reason instanceof Error ? reason : new Error('connection closed during setup'));
      });
    });
    interrupted.catch(() => undefined);
    const step = <T>(work: Promise<T> | T): Promise<T> => Promise.race([Promise.resolve(work), interrupted]);
    if (stopping.signal.aborted) throw new Error('closing');
    const channel = await step(opened.createConfirmChannel());
    channel.on('error', (error: unknown) => logger.warn({ err: error, bus: where }, 'bus channel error'));
    // A channel the broker closed (e.g. a refused declaration) takes the connection down, so the loop rebuilds both.
    channel.once('close', () => void opened.close().catch(() => undefined));
    await step(channel.assertExchange(exchange, 'topic', { durable: true }));
    await step(hooks.setup?.(channel, exchange));
    connected = true;
    logger.info({ bus: where, client: options.name }, 'bus connected');
    hooks.up?.(channel);
    for (const resolve of waiters) resolve();
    waiters = [];
    return closed;
  }

  const aborted = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

  /** Closing a connection whose socket is gone can wait for a CloseOk that never comes: bounded. */
  function closeQuietly(connection: ChannelModel | null): Promise<void> {
    if (!connection) return Promise.resolve();
    const bound = new AbortController();
    return Promise.race([connection.close().catch(() => undefined), sleep(1000, bound.signal).catch(() => undefined)]).then(() => bound.abort());
  }

  const loop = (async () => {
    for (let attempt = 0; !stopping.signal.aborted; ) {
      try {
        const closed = await connectOnce();
        attempt = 0;
        const reason = await Promise.race([closed, aborted]);
        if (!stopping.signal.aborted) logger.warn({ err: reason, bus: where, client: options.name }, 'bus connection lost; reconnecting');
        // Lets go of a connection that errored without closing (no-op when it is closed already).
        void closeQuietly(model);
      } catch (error) {
        if (!stopping.signal.aborted) logger.warn({ err: error, bus: where, client: options.name, attempt: attempt + 1 }, 'bus connection failed; retrying');
        void closeQuietly(model);
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
      await closeQuietly(model);
      await loop;
    },
  };
}
