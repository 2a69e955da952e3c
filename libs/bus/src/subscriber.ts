import type { ConsumeMessage } from 'amqplib';
import { keepConnected, type BusConnectionOptions } from './connection.js';

export interface BusMessage {
  routingKey: string;
  /** The parsed JSON body; validate it against its contract schema. */
  body: unknown;
}

export interface EventSubscriberOptions extends BusConnectionOptions {
  /** Routing keys (or topic patterns) to receive. */
  bindings: readonly string[];
  /**
   * A named durable queue shares the work among consumers and keeps messages
   * while they are away (logs). Without one, each subscriber gets its own
   * exclusive queue that the broker deletes when it disconnects (notifications
   * every replica must see).
   */
  queue?: { name: string; durable?: boolean };
  prefetch?: number;
  /** Acknowledged once it resolves; a throw is logged and the message dropped, or requeued with `requeueOnError`. */
  onMessage(message: BusMessage): Promise<void> | void;
  requeueOnError?: boolean;
  /**
   * Runs after every (re)subscription, once the queue is bound and consumed:
   * the moment to re-fetch state, so an event missed while disconnected is never missed for good.
   */
  onConnected?(): void;
}

export interface EventSubscriber {
  readonly connected: boolean;
  whenConnected(): Promise<void>;
  close(): Promise<void>;
}

export function createEventSubscriber(options: EventSubscriberOptions): EventSubscriber {
  const { logger } = options;
  const link = keepConnected(options, {
    async setup(channel, exchange) {
      const declared = options.queue
        ? await channel.assertQueue(options.queue.name, { durable: options.queue.durable ?? true })
        : await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      for (const key of options.bindings) await channel.bindQueue(declared.queue, exchange, key);
      await channel.prefetch(options.prefetch ?? 16);
      await channel.consume(declared.queue, (message: ConsumeMessage | null) => {
        if (!message) {
          // The broker cancelled the consumer (its queue was deleted, or the node holding it went away)
          // while the connection stays up: closing the channel takes the connection down with it, so the
          // loop reconnects and declares, binds and consumes afresh instead of listening to nothing.
          logger.warn({ client: options.name, queue: declared.queue }, 'bus consumer cancelled by the broker; subscribing again');
          void channel.close().catch(() => undefined);
          return;
        }
        void handle(message).then(
          () => {
            try {
              channel.ack(message);
            } catch {
              // Channel gone before the ack: the broker redelivers, and handlers are idempotent.
            }
          },
          (error: unknown) => {
            logger.warn({ err: error, routingKey: message.fields.routingKey, client: options.name }, 'bus message not handled');
            try {
              channel.nack(message, false, options.requeueOnError ?? false);
            } catch {
              // Channel gone: the broker redelivers unacknowledged messages anyway.
            }
          },
        );
      });
    },
    up() {
      options.onConnected?.();
    },
  });

  async function handle(message: ConsumeMessage): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch {
      throw new Error(`message on ${message.fields.routingKey} is not JSON`);
    }
    await options.onMessage({ routingKey: message.fields.routingKey, body });
  }

  return {
    get connected() {
      return link.connected;
    },
    whenConnected: () => link.whenConnected(),
    close: () => link.close(),
  };
}
