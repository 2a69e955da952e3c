import { FakeBroker } from './fake-link.js';
import { LogShipper, type ShipperOptions } from './shipper.js';

const record = (n: number) => ({ routingKey: `svc.info`, content: Buffer.from(`r${n}`), recordId: `id-${n}` });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function shipperWith(broker: FakeBroker, options: Partial<ShipperOptions> = {}) {
  const events: string[] = [];
  const dropped: number[] = [];
  const shipper = new LogShipper({
    open: broker.open,
    backoffInitialMs: 2,
    backoffMaxMs: 10,
    maxBatchRecords: 1,
    onInterrupted: () => events.push('interrupted'),
    onConnected: () => events.push('connected'),
    onDropped: (count) => dropped.push(count),
    ...options,
  });
  return { shipper, events, dropped };
}

describe('LogShipper', () => {
  const shippers: LogShipper[] = [];
  afterEach(async () => {
    await Promise.all(shippers.splice(0).map((shipper) => shipper.close(10)));
  });
  const track = <T extends { shipper: LogShipper }>(made: T): T => {
    shippers.push(made.shipper);
    return made;
  };

  it('publishes records in order with their routing keys and ids', async () => {
    const broker = new FakeBroker();
    const { shipper } = track(shipperWith(broker));
    for (const n of range(1, 5)) shipper.ship(record(n));
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(range(1, 5).map((n) => `r${n}`));
    expect(broker.current?.recordIds).toEqual(range(1, 5).map((n) => `id-${n}`));
    expect(shipper.stats()).toMatchObject({ connected: true, buffered: 0, inFlight: 0, published: 5, dropped: 0 });
  });

  it('buffers while the broker is unreachable, keeps the newest, and reports the drops once the backlog is out', async () => {
    const broker = new FakeBroker();
    broker.refuse = true;
    const { shipper, events, dropped } = track(shipperWith(broker, { capacity: 3 }));
    for (const n of range(1, 10)) shipper.ship(record(n));
    await until(() => broker.opens >= 3);
    expect(events).toEqual(['interrupted']);
    expect(shipper.stats()).toMatchObject({ connected: false, buffered: 3, dropped: 7 });
    expect(dropped).toEqual([]);

    broker.refuse = false;
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(['r8', 'r9', 'r10']);
    expect(dropped).toEqual([7]);
    expect(events).toEqual(['interrupted', 'connected']);
  });

  it('sends unconfirmed records again after the link dies, ahead of newer ones', async () => {
    const broker = new FakeBroker();
    broker.holdConfirms = true;
    const { shipper, events } = track(shipperWith(broker));
    for (const n of range(1, 3)) shipper.ship(record(n));
    await until(() => broker.current?.unconfirmed.length === 3);
    broker.current?.kill();
    for (const n of range(4, 5)) shipper.ship(record(n));
    broker.holdConfirms = false;
    await until(() => broker.links.length === 2);
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(range(1, 5).map((n) => `r${n}`));
    expect(events).toEqual(['connected', 'interrupted', 'connected']);
  });

  it('treats a refused record as a broken link and sends everything unconfirmed again in order', async () => {
    const broker = new FakeBroker();
    broker.holdConfirms = true;
    const { shipper } = track(shipperWith(broker));
    for (const n of range(1, 3)) shipper.ship(record(n));
    await until(() => broker.current?.unconfirmed.length === 3);
    broker.links[0]?.nackFirst();
    broker.holdConfirms = false;
    await until(() => broker.links.length === 2);
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(['r1', 'r2', 'r3']);
  });

  it('never throws into the caller, even when publishing throws', async () => {
    const broker = new FakeBroker();
    const { shipper } = track(shipperWith(broker));
    await until(() => broker.current !== undefined);
    const first = broker.current!;
    first.dead = true; // publish() now throws, and no close event was sent
    expect(() => shipper.ship(record(1))).not.toThrow();
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(['r1']);
    expect(broker.links.length).toBe(2);
  });

  it('waits for drain when the socket buffer is full', async () => {
    const broker = new FakeBroker();
    broker.writesBeforeFull = 2;
    const { shipper } = track(shipperWith(broker));
    for (const n of range(1, 5)) shipper.ship(record(n));
    await until(() => broker.current?.writes === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(broker.current?.writes).toBe(2);
    broker.current?.drain();
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(range(1, 5).map((n) => `r${n}`));
  });

  it('keeps at most maxInFlight records unconfirmed', async () => {
    const broker = new FakeBroker();
    broker.holdConfirms = true;
    const { shipper } = track(shipperWith(broker, { maxInFlight: 4 }));
    for (const n of range(1, 10)) shipper.ship(record(n));
    await until(() => broker.current?.unconfirmed.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(shipper.stats()).toMatchObject({ inFlight: 4, buffered: 6 });
    broker.holdConfirms = false;
    broker.current?.confirmAll();
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(range(1, 10).map((n) => `r${n}`));
  });

  it('sends a backlog as JSON-lines messages, one per routing key, within the batch limits', async () => {
    const broker = new FakeBroker();
    broker.refuse = true;
    const { shipper } = track(shipperWith(broker, { maxBatchRecords: 3 }));
    const keyed = (n: number, level: string) => ({ routingKey: `svc.${level}`, content: Buffer.from(`r${n}`), recordId: `id-${n}` });
    for (const n of range(1, 5)) shipper.ship(keyed(n, n === 2 ? 'error' : 'info'));
    broker.refuse = false;
    expect(await shipper.flush(1000)).toBe(true);
    const link = broker.links[0]!;
    // First batch: r1..r3 (r2 on its own key), then r4..r5.
    expect(link.messages).toEqual(['r1\nr3', 'r2', 'r4\nr5']);
    expect(link.routingKeys).toEqual(['svc.info', 'svc.error', 'svc.info']);
    expect(link.recordIds).toEqual(['id-1', 'id-2', 'id-4']);
    expect(shipper.stats()).toMatchObject({ published: 5, inFlight: 0 });
  });

  it('puts every record of an unconfirmed batch back when the link dies', async () => {
    const broker = new FakeBroker();
    broker.holdConfirms = true;
    broker.refuse = true;
    const { shipper } = track(shipperWith(broker, { maxBatchRecords: 100 }));
    for (const n of range(1, 6)) shipper.ship(record(n));
    broker.refuse = false;
    await until(() => broker.current?.unconfirmed.length === 1);
    broker.current?.kill();
    broker.holdConfirms = false;
    expect(await shipper.flush(1000)).toBe(true);
    expect(broker.stored).toEqual(range(1, 6).map((n) => `r${n}`));
  });

  it('flush gives up after its timeout while the broker is away', async () => {
    const broker = new FakeBroker();
    broker.refuse = true;
    const { shipper } = track(shipperWith(broker));
    shipper.ship(record(1));
    expect(await shipper.flush(30)).toBe(false);
  });

  it('ignores records after close', async () => {
    const broker = new FakeBroker();
    const { shipper } = track(shipperWith(broker));
    shipper.ship(record(1));
    await shipper.close(1000);
    shipper.ship(record(2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(broker.stored).toEqual(['r1']);
  });

  it('closes within its limits when the broker never answers the close (the process can exit)', async () => {
    const broker = new FakeBroker();
    const { shipper } = shipperWith(broker);
    shipper.ship(record(1));
    await until(() => broker.stored.length === 1);
    broker.hangOnClose = true;
    const started = Date.now();
    await shipper.close(50);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
