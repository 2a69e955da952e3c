import type { PublishLink } from './publish-link.js';

/** A broker stand-in for shipper tests: refuse connections, kill links, hold confirms, fill socket buffers. */
export class FakeBroker {
  refuse = false;
  /** Confirms are sent at once unless held. */
  holdConfirms = false;
  /** A link's close() never completes (a broker that does not answer the close). */
  hangOnClose = false;
  /** publish() reports a full buffer after this many writes on a link. */
  writesBeforeFull = Infinity;
  readonly links: FakeLink[] = [];
  /** Every record the broker confirmed (the lines of its messages), in order; a record sent twice appears twice. */
  readonly stored: string[] = [];
  opens = 0;

  readonly open = async (): Promise<PublishLink> => {
    this.opens++;
    if (this.refuse) throw new Error('connect ECONNREFUSED');
    const link = new FakeLink(this);
    this.links.push(link);
    return link;
  };

  get current(): FakeLink | undefined {
    const last = this.links[this.links.length - 1];
    return last && !last.dead ? last : undefined;
  }
}

export class FakeLink implements PublishLink {
  dead = false;
  writes = 0;
  readonly routingKeys: string[] = [];
  readonly recordIds: Array<string | undefined> = [];
  /** Message bodies as published (JSON lines). */
  readonly messages: string[] = [];
  readonly unconfirmed: Array<{ content: string; confirmed: (error?: unknown) => void }> = [];
  private drainListener: (() => void) | undefined;
  private closedListener: ((error?: unknown) => void) | undefined;

  constructor(private readonly broker: FakeBroker) {}

  publish(routingKey: string, content: Buffer, recordId: string | undefined, confirmed: (error?: unknown) => void): boolean {
    if (this.dead) throw new Error('Channel closed');
    this.writes++;
    this.routingKeys.push(routingKey);
    this.recordIds.push(recordId);
    this.messages.push(content.toString());
    this.unconfirmed.push({ content: content.toString(), confirmed });
    if (!this.broker.holdConfirms) queueMicrotask(() => this.confirmAll());
    return this.writes < this.broker.writesBeforeFull;
  }

  confirmAll(): void {
    for (const { content, confirmed } of this.unconfirmed.splice(0)) {
      this.broker.stored.push(...content.split('\n'));
      confirmed();
    }
  }

  nackFirst(): void {
    this.unconfirmed.shift()?.confirmed(new Error('message nacked'));
  }

  drain(): void {
    this.broker.writesBeforeFull = Infinity;
    this.drainListener?.();
  }

  /** The broker goes away: unconfirmed records are lost from its point of view. */
  kill(): void {
    this.dead = true;
    this.unconfirmed.length = 0;
    this.closedListener?.(new Error('CONNECTION_FORCED'));
  }

  onDrain(listener: () => void): void {
    this.drainListener = listener;
  }

  onClosed(listener: (error?: unknown) => void): void {
    this.closedListener = listener;
  }

  async close(): Promise<void> {
    if (this.broker.hangOnClose) return new Promise(() => undefined);
    this.dead = true;
  }
}
