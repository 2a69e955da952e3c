import { waitUntil } from '@st/service-kit';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { connect } from 'amqplib';
import { createLogger } from '@st/logging';
import { BrokerRelay } from '@st/test-kit';
import { createEventPublisher, createEventSubscriber, redactAmqpUrl, type BusMessage } from './index.js';

const amqpUrl = process.env.AMQP_URL?.trim() || 'amqp://guest:guest@127.0.0.1:5672';
const logger = createLogger({ service: 'bus-test', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

const eventually = (check: () => boolean, timeoutMs = 15_000) => waitUntil(check, timeoutMs);

describe('bus against the real RabbitMQ', () => {
  const exchange = `st.events.test.${randomBytes(4).toString('hex')}`;
  const base = { logger, exchange, initialBackoffMs: 50, maxBackoffMs: 400 };

  afterAll(async () => {
    const model = await connect(amqpUrl);
    const channel = await model.createChannel();
    await channel.deleteExchange(exchange);
    await model.close();
  });

  it('delivers a published event to every subscriber bound to its routing key, and not others', async () => {
    const received: Record<string, BusMessage[]> = { a: [], b: [], other: [] };
    const subscribers = [
      createEventSubscriber({ ...base, url: amqpUrl, name: 'sub-a', bindings: ['cert.activated'], onMessage: (m) => void received.a!.push(m) }),
      createEventSubscriber({ ...base, url: amqpUrl, name: 'sub-b', bindings: ['cert.*'], onMessage: (m) => void received.b!.push(m) }),
      createEventSubscriber({ ...base, url: amqpUrl, name: 'sub-other', bindings: ['config.updated'], onMessage: (m) => void received.other!.push(m) }),
    ];
    const publisher = createEventPublisher({ ...base, url: amqpUrl, name: 'pub' });
    try {
      await Promise.all([...subscribers, publisher].map((client) => client.whenConnected()));
      expect(await publisher.publish('cert.activated', { id: 'x', fingerprintSha256: 'AB:CD' })).toBe(true);
      await eventually(() => received.a!.length === 1 && received.b!.length === 1);
      expect(received.a).toEqual([{ routingKey: 'cert.activated', body: { id: 'x', fingerprintSha256: 'AB:CD' } }]);
      expect(received.b).toEqual(received.a);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received.other).toEqual([]);
    } finally {
      await Promise.all([...subscribers, publisher].map((client) => client.close()));
    }
  });

  it('reports an event it cannot send instead of pretending, and announces again through onConnected after reconnecting', async () => {
    const relay = new BrokerRelay(amqpUrl);
    await relay.open();
    const received: BusMessage[] = [];
    const subscriber = createEventSubscriber({ ...base, url: amqpUrl, name: 'sub', bindings: ['cert.activated'], onMessage: (m) => void received.push(m) });
    // Bound before the publisher announces, or the first announcement has no queue to land in.
    await subscriber.whenConnected();
    let connections = 0;
    const publisher = createEventPublisher({
      ...base,
      url: relay.url(),
      name: 'pub-relayed',
      onConnected: () => {
        connections++;
        void publisher.publish('cert.activated', { id: `state-${connections}`, fingerprintSha256: 'AB' });
      },
    });
    try {
      await Promise.all([subscriber.whenConnected(), publisher.whenConnected()]);
      await eventually(() => received.some((m) => (m.body as { id: string }).id === 'state-1'));

      await relay.cut();
      await eventually(() => !publisher.connected);
      expect(await publisher.publish('cert.activated', { id: 'while-down', fingerprintSha256: 'AB' })).toBe(false);

      await relay.open(relay.port);
      await publisher.whenConnected();
      await eventually(() => received.some((m) => (m.body as { id: string }).id === 'state-2'));
      expect(await publisher.publish('cert.activated', { id: 'after', fingerprintSha256: 'AB' })).toBe(true);
      await eventually(() => received.some((m) => (m.body as { id: string }).id === 'after'));
      expect(received.map((m) => (m.body as { id: string }).id)).not.toContain('while-down');
    } finally {
      await publisher.close();
      await subscriber.close();
      await relay.cut();
    }
  });

  it('resubscribes after losing its connection and calls onConnected each time (the moment to re-fetch state)', async () => {
    const relay = new BrokerRelay(amqpUrl);
    await relay.open();
    const received: BusMessage[] = [];
    let subscriptions = 0;
    const subscriber = createEventSubscriber({
      ...base,
      url: relay.url(),
      name: 'sub-relayed',
      bindings: ['config.updated'],
      onMessage: (m) => void received.push(m),
      onConnected: () => void subscriptions++,
    });
    const publisher = createEventPublisher({ ...base, url: amqpUrl, name: 'pub' });
    try {
      await Promise.all([subscriber.whenConnected(), publisher.whenConnected()]);
      expect(subscriptions).toBe(1);
      await relay.cut();
      await eventually(() => !subscriber.connected);
      await relay.open(relay.port);
      await subscriber.whenConnected();
      expect(subscriptions).toBe(2);
      await publisher.publish('config.updated', { version: 7 });
      await eventually(() => received.length === 1);
      expect(received[0]).toEqual({ routingKey: 'config.updated', body: { version: 7 } });
    } finally {
      await publisher.close();
      await subscriber.close();
      await relay.cut();
    }
  });

  it.each([0, 5, 100, 1000])('a link cut %d ms after it came back reconnects when the broker returns, and close() returns promptly', async (delayMs) => {
    const relay = new BrokerRelay(amqpUrl);
    await relay.open();
    const subscriber = createEventSubscriber({ ...base, url: relay.url(), name: `sub-cut-${delayMs}`, bindings: ['config.updated'], onMessage: () => undefined });
    try {
      await subscriber.whenConnected();
      await relay.cut();
      await relay.open(relay.port);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await relay.cut();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await relay.open(relay.port);
      await eventually(() => subscriber.connected && relay.connections > 0, 20_000);
      await relay.cut();
      const started = Date.now();
      await subscriber.close();
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await subscriber.close();
      await relay.cut();
    }
  }, 30_000);

  it('keeps retrying while the broker is unreachable, and close() stops it', async () => {
    const relay = new BrokerRelay('amqp://guest:guest@127.0.0.1:1');
    await relay.open();
    const port = relay.port;
    await relay.cut();
    const publisher = createEventPublisher({ ...base, url: `amqp://guest:guest@127.0.0.1:${port}`, name: 'pub-nowhere' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(publisher.connected).toBe(false);
    expect(await publisher.publish('cert.activated', {})).toBe(false);
    await publisher.close();
  });

  it('subscribes again when the broker cancels its consumer (its queue deleted under it), so later events still arrive', async () => {
    const queue = `st.test.cancelled.${randomBytes(4).toString('hex')}`;
    const received: BusMessage[] = [];
    let subscriptions = 0;
    const subscriber = createEventSubscriber({
      ...base,
      url: amqpUrl,
      name: 'sub-cancelled',
      queue: { name: queue, durable: false },
      bindings: ['config.updated'],
      onMessage: (m) => void received.push(m),
      onConnected: () => void subscriptions++,
    });
    const publisher = createEventPublisher({ ...base, url: amqpUrl, name: 'pub' });
    const admin = await connect(amqpUrl);
    try {
      await Promise.all([subscriber.whenConnected(), publisher.whenConnected()]);
      const channel = await admin.createChannel();
      await channel.deleteQueue(queue);
      await eventually(() => subscriptions === 2);
      expect(await publisher.publish('config.updated', { version: 8 })).toBe(true);
      await eventually(() => received.length === 1);
      expect(received[0]).toEqual({ routingKey: 'config.updated', body: { version: 8 } });
    } finally {
      await publisher.close();
      await subscriber.close();
      const channel = await admin.createChannel();
      await channel.deleteQueue(queue);
      await admin.close();
    }
  });

  it('acknowledges a handled message and drops one whose handler throws, without stopping', async () => {
    const seen: unknown[] = [];
    const subscriber = createEventSubscriber({
      ...base,
      url: amqpUrl,
      name: 'sub-throws',
      bindings: ['cert.activated'],
      onMessage: (m) => {
        seen.push(m.body);
        if ((m.body as { id: string }).id === 'bad') throw new Error('handler failed');
      },
    });
    const publisher = createEventPublisher({ ...base, url: amqpUrl, name: 'pub' });
    try {
      await Promise.all([subscriber.whenConnected(), publisher.whenConnected()]);
      await publisher.publish('cert.activated', { id: 'bad' });
      await publisher.publish('cert.activated', { id: 'good' });
      await eventually(() => seen.length === 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen).toEqual([{ id: 'bad' }, { id: 'good' }]);
      expect(subscriber.connected).toBe(true);
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });
});

describe('redactAmqpUrl', () => {
  it.each([
    { url: 'amqp://guest:guest@127.0.0.1:5672', expected: 'amqp://guest:***@127.0.0.1:5672' },
    { url: 'amqp://rabbit:5672/vhost', expected: 'amqp://rabbit:5672/vhost' },
    { url: 'not a url', expected: '(unparsable AMQP URL)' },
  ])('$url', ({ url, expected }) => {
    expect(redactAmqpUrl(url)).toBe(expected);
  });
});
