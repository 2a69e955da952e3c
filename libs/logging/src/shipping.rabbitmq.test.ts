import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { createLogger, closeLogger, flushLogger, logShippingStats } from './index.js';
import { TcpProxy } from './tcp-proxy.js';

// Real RabbitMQ: AMQP_URL, or the local broker scripts/bootstrap.sh starts.
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

interface Received {
  routingKey: string;
  messageId: string | undefined;
  persistent: boolean;
  record: Record<string, unknown>;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('log shipping to a real RabbitMQ', () => {
  const suffix = randomBytes(4).toString('hex');
  const exchange = `test.logs.${suffix}`;
  const queue = `test.logs.store.${suffix}`;
  const url = new URL(amqpUrl);
  const proxy = new TcpProxy(url.hostname, Number(url.port || 5672));
  let proxiedUrl: string;
  let consumer: amqp.ChannelModel;
  const received: Received[] = [];

  beforeAll(async () => {
    const port = await proxy.start();
    const proxied = new URL(amqpUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(port);
    proxiedUrl = proxied.toString();
  });

  afterAll(async () => {
    const channel = await consumer.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
    await consumer.close();
    await proxy.stop();
  });

  async function consume(): Promise<void> {
    consumer = await amqp.connect(amqpUrl);
    const channel = await consumer.createChannel();
    await channel.consume(queue, (message) => {
      if (!message) return;
      // A message is one or more records as JSON lines; its id is the first record's.
      message.content
        .toString()
        .split('\n')
        .forEach((line, index) => {
          received.push({
            routingKey: message.fields.routingKey,
            messageId: index === 0 ? (message.properties.messageId as string | undefined) : undefined,
            persistent: message.properties.deliveryMode === 2,
            record: JSON.parse(line),
          });
        });
      channel.ack(message);
    });
  }

  const shippingTo = () => ({ url: proxiedUrl, exchange, queue, backoffInitialMs: 50, backoffMaxMs: 200 });

  it('declares the durable queue, so records logged before any consumer exists are kept', async () => {
    const logger = createLogger({ service: 'shipping-test', replica: 'r1', level: 'debug', destination: discard(), shipping: shippingTo() }, {});
    logger.info({ session: 'S1', conn: 'C1' }, 'before the consumer');
    logger.error({ err: new Error('boom') }, 'an error');
    expect(await flushLogger(logger, 5000)).toBe(true);
    await closeLogger(logger);

    await consume();
    await until(() => received.length >= 3, 5000, 'three records');
    const records = received.map((message) => message.record);
    // Records of one routing key keep their order; across keys a batch groups them.
    const keyOf = Object.fromEntries(received.map((message) => [message.record.msg, message.routingKey]));
    expect(keyOf).toEqual({
      'before the consumer': 'shipping-test.info',
      'an error': 'shipping-test.error',
      'log shipping to RabbitMQ connected': 'shipping-test.info',
    });
    for (const message of received) {
      expect(message.persistent).toBe(true);
      if (message.messageId !== undefined) expect(message.messageId).toBe(message.record.recordId);
      expect(message.record).toMatchObject({ service: 'shipping-test', replica: 'r1' });
    }
    expect(records.find((record) => record.msg === 'before the consumer')).toMatchObject({ session: 'S1', conn: 'C1' });
  });

  it('buffers while RabbitMQ is unreachable and delivers every record after it returns', async () => {
    received.length = 0;
    const logger = createLogger({ service: 'shipping-test', replica: 'r2', destination: discard(), shipping: shippingTo() }, {});
    const log = (phase: string, i: number) => {
      logger.info({ phase, i }, 'tick');
    };
    for (let i = 0; i < 50; i++) log('before', i);
    await until(() => received.filter((message) => message.record.phase === 'before').length === 50, 5000, 'first records');

    await proxy.stop();
    for (let i = 0; i < 200; i++) log('during', i);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(logShippingStats(logger)).toMatchObject({ connected: false });
    await proxy.start();
    for (let i = 0; i < 50; i++) log('after', i);
    expect(await flushLogger(logger, 10_000)).toBe(true);
    await until(() => new Set(received.map((m) => m.record.recordId)).size >= 300 + 2, 10_000, 'every record');
    await closeLogger(logger);

    const ticks = received.filter((message) => message.record.msg === 'tick');
    const distinct = new Map(ticks.map((message) => [`${message.record.phase}:${message.record.i}`, message.record.recordId]));
    expect(distinct.size).toBe(300);
    expect(received.some((message) => message.record.msg === 'log shipping to RabbitMQ interrupted; buffering records')).toBe(true);
    expect(received.filter((message) => message.record.droppedRecords !== undefined)).toEqual([]);
  });
});
