/**
 * What the shipper needs from a broker connection. The real one is amqp-link.ts;
 * tests use a fake to drive disconnects, back-pressure and refusals.
 */
export interface PublishLink {
  /**
   * Publishes one message: one or more records of one routing key as JSON
   * lines; `recordId` is the first one's. `confirmed` is called once the broker has taken it
   * (no error) or refused it (error). Returns false when the socket buffer is
   * full: wait for onDrain before publishing more. May throw when the link has
   * just died.
   */
  publish(routingKey: string, content: Buffer, recordId: string | undefined, confirmed: (error?: unknown) => void): boolean;
  onDrain(listener: () => void): void;
  /** Called once when the link is gone (broker closed it, socket error, channel error). */
  onClosed(listener: (error?: unknown) => void): void;
  close(): Promise<void>;
}

export type OpenLink = () => Promise<PublishLink>;
