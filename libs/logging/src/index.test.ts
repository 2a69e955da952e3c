import { Writable } from 'node:stream';
import { FakeBroker } from './fake-link.js';
import { closeLogger, createLogger, flushLogger, logShippingStats } from './index.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((line) => JSON.parse(line)) };
}

describe('createLogger', () => {
  it('stamps service and replica on every record', () => {
    const out = capture();
    createLogger({ service: 'tunnel-gateway', replica: 'r1', destination: out.stream }).info('hello');
    expect(out.lines()[0]).toMatchObject({ service: 'tunnel-gateway', replica: 'r1', level: 'info', msg: 'hello' });
  });

  it.each([
    { desc: 'top-level password', record: { password: 'hunter2' }, path: ['password'] },
    { desc: 'nested private key', record: { bundle: { privateKeyPem: '-----BEGIN' } }, path: ['bundle', 'privateKeyPem'] },
    { desc: 'authorization header', record: { req: { headers: { authorization: 'Bearer x' } } }, path: ['req', 'headers', 'authorization'] },
    { desc: 'ftp pass argument', record: { ftp: { pass: 'secret' } }, path: ['ftp', 'pass'] },
  ])('redacts $desc', ({ record, path }) => {
    const out = capture();
    createLogger({ service: 's', replica: 'r', destination: out.stream }).info(record, 'm');
    let value: unknown = out.lines()[0];
    for (const key of path) value = (value as Record<string, unknown>)[key];
    expect(value).toBe('[redacted]');
  });
});

describe('createLogger record ids', () => {
  it('gives every record, child loggers included, a distinct recordId', () => {
    const out = capture();
    const logger = createLogger({ service: 's', replica: 'r', destination: out.stream });
    logger.info('a');
    logger.child({ conn: 'c1' }).info('b');
    logger.warn({ any: 1 }, 'c');
    const ids = out.lines().map((line) => line.recordId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 8)).toBe(true);
    expect(new Set(ids).size).toBe(3);
  });

  it('differs between two loggers (replicas, restarts)', () => {
    const a = capture();
    const b = capture();
    createLogger({ service: 's', destination: a.stream }).info('x');
    createLogger({ service: 's', destination: b.stream }).info('x');
    expect(a.lines()[0]?.recordId).not.toBe(b.lines()[0]?.recordId);
  });
});

describe('createLogger shipping', () => {
  it('ships only when asked, or when AMQP_URL is set and it writes to stdout', () => {
    const out = capture();
    const withDestination = createLogger({ service: 's', destination: out.stream }, { AMQP_URL: 'amqp://x' });
    expect(logShippingStats(withDestination)).toBeUndefined();
    const withoutUrl = createLogger({ service: 's' }, {});
    expect(logShippingStats(withoutUrl)).toBeUndefined();
  });

  it('writes each line to its destination and ships the same record, redacted, keyed <service>.<level>', async () => {
    const out = capture();
    const broker = new FakeBroker();
    const logger = createLogger({ service: 'tunnel.gateway', replica: 'r1', destination: out.stream, shipping: { url: 'unused', open: broker.open } });
    logger.info({ session: 's1', password: 'hunter2' }, 'login');
    logger.child({ conn: 'c9' }).error('handshake failed');
    expect(await flushLogger(logger, 1000)).toBe(true);
    const shipped = broker.stored.map((line) => JSON.parse(line));
    const written = out.lines().filter((line) => line.msg === 'login' || line.msg === 'handshake failed');
    expect(shipped.filter((line) => line.msg !== 'log shipping to RabbitMQ connected')).toEqual(written);
    expect(written[0]).toMatchObject({ service: 'tunnel.gateway', replica: 'r1', session: 's1', password: '[redacted]' });
    const link = broker.links[0]!;
    expect(link.routingKeys).toContain('tunnel_gateway.info');
    expect(link.routingKeys).toContain('tunnel_gateway.error');
    // Each message names its first record.
    expect(link.recordIds).toEqual(link.messages.map((message) => JSON.parse(message.split('\n')[0]!).recordId));
    await closeLogger(logger);
  });

  it('logs a counted warning after records were dropped', async () => {
    const out = capture();
    const broker = new FakeBroker();
    broker.refuse = true;
    const logger = createLogger({
      service: 's',
      replica: 'r',
      destination: out.stream,
      shipping: { url: 'unused', open: broker.open, capacity: 5, backoffInitialMs: 2, backoffMaxMs: 5 },
    });
    for (let i = 0; i < 20; i++) logger.info({ i }, 'busy');
    await new Promise((resolve) => setTimeout(resolve, 20));
    broker.refuse = false;
    expect(await flushLogger(logger, 1000)).toBe(true);
    const warning = out.lines().find((line) => typeof line.droppedRecords === 'number');
    // 22 records met a buffer of 5: the 20, the "interrupted" warning, the "connected" notice.
    expect(warning).toMatchObject({ level: 'warn', droppedRecords: 17 });
    const shipped = broker.stored.map((line) => JSON.parse(line));
    expect(shipped.map((line) => line.i).filter((i) => i !== undefined)).toEqual([17, 18, 19]);
    expect(shipped[shipped.length - 1]).toMatchObject({ droppedRecords: 17 });
    await closeLogger(logger);
  });
});

describe('createLogger redaction of bindings', () => {
  it('redacts secret fields bound on a child logger', () => {
    const out = capture();
    createLogger({ service: 's', replica: 'r', destination: out.stream }).child({ token: 'abc', conn: 'C1' }).info('m');
    expect(out.lines()[0]).toMatchObject({ token: '[redacted]', conn: 'C1' });
  });
});
