import amqp from 'amqplib';
import type { OpenLink, PublishLink } from './publish-link.js';

export interface LogTopology {
  exchange: string;
  /** The durable queue to declare and bind (so records wait for the log-service); null: declare none. */
  queue: { name: string; bindingKey: string; arguments: Record<string, unknown> } | null;
}

/** Opens a RabbitMQ connection with a confirm channel and declares the logs exchange (and queue). */
export function amqpLink(url: string, topology: LogTopology, connectionName: string): OpenLink {
  return async () => {
    const connection = await amqp.connect(url, { timeout: 5000, clientProperties: { connection_name: connectionName } });
    let closedListener: ((error?: unknown) => void) | undefined;
    let closed = false;
    let lastError: unknown;
    const lost = (error?: unknown) => {
      if (closed) return;
      closed = true;
      closedListener?.(error ?? lastError);
      // A channel closed by the broker leaves the connection open; it is of no further use.
      connection.close().catch(() => undefined);
    };
    connection.on('error', (error: unknown) => {
      lastError = error;
    });
    connection.on('close', (error?: unknown) => lost(error));
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: unknown) => {
        lastError = error;
      });
      channel.on('close', () => lost());
      await channel.assertExchange(topology.exchange, 'topic', { durable: true });
      if (topology.queue) {
        await channel.assertQueue(topology.queue.name, { durable: true, arguments: topology.queue.arguments });
        await channel.bindQueue(topology.queue.name, topology.exchange, topology.queue.bindingKey);
      }
      const link: PublishLink = {
        publish(routingKey, content, recordId, confirmed) {
          return channel.publish(
            topology.exchange,
            routingKey,
            content,
            { persistent: true, contentType: 'application/x-ndjson', ...(recordId ? { messageId: recordId } : {}) },
            (error: unknown) => confirmed(error ?? undefined),
          );
        },
        onDrain(listener) {
          channel.on('drain', listener);
        },
        onClosed(listener) {
          closedListener = listener;
          if (closed) listener(lastError);
        },
        async close() {
          closed = true;
          await connection.close().catch(() => undefined);
        },
      };
      return link;
    } catch (error) {
      closed = true;
      await connection.close().catch(() => undefined);
      throw error;
    }
  };
}
