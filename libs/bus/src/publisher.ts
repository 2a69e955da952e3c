import { randomUUID } from 'node:crypto';
import type { ConfirmChannel } from 'amqplib';
import { eventsExchange } from '@st/contracts';
import { keepConnected, type BusConnectionOptions } from './connection.js';

export interface EventPublisherOptions extends BusConnectionOptions {
  /**
   * Runs after every (re)connection. Events are notifications of state, so a
   * publisher re-announces its current state here instead of queueing what it
   * could not send while the broker was away.
   */
  onConnected?(): void;
  /** How long to wait for the broker's confirm. */
  confirmTimeoutMs?: number;
}

export interface EventPublisher {
  readonly connected: boolean;
  whenConnected(): Promise<void>;
  /** Resolves true once the broker confirmed the message, false when it could not be sent (no connection, nack, timeout). */
  publish(routingKey: string, message: unknown): Promise<boolean>;
  close(): Promise<void>;
}

/** Publishes JSON events, persistent and confirmed, to the events exchange. */
export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const exchange = options.exchange ?? eventsExchange;
  let channel: ConfirmChannel | null = null;
  const link = keepConnected(options, {
    up(upChannel) {
      channel = upChannel;
      options.onConnected?.();
    },
    down() {
      channel = null;
    },
  });

  return {
    get connected() {
      return link.connected;
    },
    whenConnected: () => link.whenConnected(),
    publish(routingKey, message) {
      const current = channel;
      if (!current) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), options.confirmTimeoutMs ?? 10_000);
        timer.unref();
        const settle = (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        };
        try {
          current.publish(
            exchange,
            routingKey,
            Buffer.from(JSON.stringify(message)),
            { contentType: 'application/json', persistent: true, messageId: randomUUID(), timestamp: Math.floor(Date.now() / 1000), appId: options.name },
            (error: unknown) => settle(!error),
          );
        } catch {
          // The channel closed between the check and the call.
          settle(false);
        }
      });
    },
    close: () => link.close(),
  };
}
