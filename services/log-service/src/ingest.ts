import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { logsQueue } from '@st/contracts';
import type { Logger } from '@st/logging';
import { backoffDelay, sleep } from '@st/service-kit';
import { normalizeRecord, type IncomingRecord } from './record.js';
import type { LogStore } from './store.js';

export interface IngestOptions {
  url: string;
  exchange: string;
  queue: string;
  store: LogStore;
  logger: Logger;
  /** Unacknowledged deliveries (messages) the broker may send ahead. */
  prefetch?: number;
  /** Messages stored per transaction (at most)… */
  batchSize?: number;
  /** …and bytes: a message may carry hundreds of records, and one transaction should stay short. */
  batchBytes?: number;
  /** How long a partial batch waits for more records. */
  batchDelayMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface IngestStats {
  consuming: boolean;
  stored: number;
  duplicates: number;
  refused: number;
  batches: number;
  /** Time spent parsing and storing batches (the rest of ingest time is the broker and the client library). */
  storeMs: number;
}

interface Batch {
  channel: Channel;
  generation: number;
  messages: ConsumeMessage[];
  bytes: number;
}

/**
 * Consumes the logs queue and acknowledges a delivery only once its record is
 * committed, so a log-service that stops or crashes loses nothing: whatever
 * was not acknowledged is delivered again, and the store drops the second
 * copy by record id. Deliveries are stored in batches (one transaction each)
 * and acknowledged with one `multiple` ack.
 */
export class LogIngest {
  private connection: ChannelModel | undefined;
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private generation = 0;
  private batch: Batch | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly abort = new AbortController();
  private readonly counters = { stored: 0, duplicates: 0, refused: 0, batches: 0, storeMs: 0 };
  private readonly batchSize: number;
  private readonly batchBytes: number;
  private readonly batchDelayMs: number;

  constructor(private readonly options: IngestOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.batchBytes = options.batchBytes ?? 1024 * 1024;
    this.batchDelayMs = options.batchDelayMs ?? 20;
  }

  get consuming(): boolean {
    return this.consumerTag !== undefined;
  }

  stats(): IngestStats {
    return { consuming: this.consuming, ...this.counters };
  }

  /** Starts consuming in the background; reconnects with backoff whenever the link is lost. */
  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort(new Error('log ingest stopping'));
    this.wake?.();
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    // What was delivered so far is stored and acknowledged; anything later goes back to the queue on close.
    this.flush();
    this.consumerTag = undefined;
    await this.connection?.close().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    let attempt = 0;
    while (!this.stopping) {
      try {
        const closed = await this.connect();
        attempt = 0;
        logger.info({ queue: this.options.queue }, 'log ingest consuming');
        const reason = await closed;
        if (this.stopping) break;
        logger.warn({ reason }, 'log ingest lost RabbitMQ; reconnecting');
      } catch (error) {
        if (this.stopping) break;
        if (attempt === 0) logger.warn({ reason: (error as Error).message }, 'log ingest cannot reach RabbitMQ; retrying');
      }
      const delay = backoffDelay(attempt++, this.options.backoffInitialMs ?? 200, this.options.backoffMaxMs ?? 5_000);
      await sleep(delay, this.abort.signal).catch(() => undefined);
    }
  }

  /** Connects and starts consuming; resolves with a promise that settles (with the reason) when the link is gone. */
  private async connect(): Promise<Promise<string>> {
    const { url, exchange, queue } = this.options;
    const connection = await amqp.connect(url, { timeout: 5000, clientProperties: { connection_name: 'log-service ingest' } });
    const generation = ++this.generation;
    let resolveClosed: (reason: string) => void = () => undefined;
    const closed = new Promise<string>((resolve) => {
      resolveClosed = resolve;
    });
    let lastError = 'connection closed';
    const lost = () => {
      if (generation !== this.generation) return;
      this.generation++;
      this.connection = undefined;
      this.channel = undefined;
      this.consumerTag = undefined;
      // Unacknowledged deliveries return to the queue with the channel; storing them now could not be acknowledged.
      this.dropBatch();
      connection.close().catch(() => undefined);
      resolveClosed(lastError);
    };
    this.wake = () => resolveClosed('stopping');
    connection.on('error', (error: Error) => {
      lastError = error.message;
    });
    connection.on('close', lost);
    try {
      const channel = await connection.createChannel();
      channel.on('error', (error: Error) => {
        lastError = error.message;
      });
      channel.on('close', lost);
      await channel.assertExchange(exchange, 'topic', { durable: true });
      await channel.assertQueue(queue, { durable: true, arguments: { ...logsQueue.arguments } });
      await channel.bindQueue(queue, exchange, logsQueue.bindingKey);
      await channel.prefetch(this.options.prefetch ?? this.batchSize);
      this.connection = connection;
      this.channel = channel;
      const { consumerTag } = await channel.consume(queue, (message) => this.received(channel, generation, message), { noAck: false });
      if (this.stopping) {
        await connection.close().catch(() => undefined);
        return closed;
      }
      this.consumerTag = consumerTag;
      return closed;
    } catch (error) {
      this.generation++;
      this.connection = undefined;
      this.channel = undefined;
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  private received(channel: Channel, generation: number, message: ConsumeMessage | null): void {
    if (generation !== this.generation) return;
    if (!message) {
      // The broker cancelled the consumer (queue deleted): start over, which declares it again.
      channel.close().catch(() => undefined);
      return;
    }
    this.batch ??= { channel, generation, messages: [], bytes: 0 };
    this.batch.messages.push(message);
    this.batch.bytes += message.content.length;
    if (this.batch.messages.length >= this.batchSize || this.batch.bytes >= this.batchBytes) this.flush();
    else this.batchTimer ??= setTimeout(() => this.flush(), this.batchDelayMs);
  }

  private dropBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.batch = undefined;
  }

  private flush(): void {
    const batch = this.batch;
    this.dropBatch();
    if (!batch || batch.messages.length === 0 || batch.generation !== this.generation) return;
    const now = Date.now();
    const started = performance.now();
    const records: IncomingRecord[] = [];
    let refused = 0;
    for (const message of batch.messages) {
      // One message carries one or more records as JSON lines (shippers batch a backlog).
      const lines = message.content.toString('utf8').split('\n');
      const single = lines.length === 1;
      for (const line of lines) {
        if (line.trim() === '') continue;
        const result = normalizeRecord(line, {
          // The message id names the first record; it stands in for a missing record id only when it is the only one.
          messageId: single ? (message.properties.messageId as string | undefined) : undefined,
          routingKey: message.fields.routingKey,
          now,
        });
        if (result.ok) records.push(result.record);
        else refused++;
      }
    }
    let stored;
    try {
      stored = this.options.store.insert(records);
    } catch (error) {
      // Not stored, so not acknowledged: closing the channel hands the deliveries back, and the reconnect waits a backoff.
      this.options.logger.error({ err: error, records: records.length }, 'storing log records failed; they stay in the queue');
      batch.channel.close().catch(() => undefined);
      return;
    }
    try {
      batch.channel.ack(batch.messages[batch.messages.length - 1] as ConsumeMessage, true);
    } catch {
      // The channel closed after the commit: the broker delivers them again and the store skips the copies.
    }
    this.counters.stored += stored.stored;
    this.counters.duplicates += stored.duplicates;
    this.counters.refused += refused;
    this.counters.batches++;
    this.counters.storeMs += performance.now() - started;
    // A record that is not a JSON object can never be stored; it is acknowledged (dropped) and counted.
    if (refused > 0) this.options.logger.warn({ refused }, 'log messages refused: not JSON objects');
  }
}
