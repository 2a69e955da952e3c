import { Writable } from 'node:stream';
import { createLogger, deferredRecordDelayMs, logDeferred, writeDeferredRecords } from './index.js';

function capture(): { records: () => Array<Record<string, unknown>>; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, records: () => chunks.join('').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('logDeferred', () => {
  afterEach(() => writeDeferredRecords());

  it('writes the record within the delay, with the time of the call, the bindings and a record id', async () => {
    const out = capture();
    const logger = createLogger({ service: 'gw', replica: 'r1', destination: out.stream }).child({ listener: 'https' });
    const before = Date.now();
    logDeferred(logger, 'info', { conn: 'web_1', sni: 'files.example' }, 'HTTPS connection opened');
    const after = Date.now();
    expect(out.records()).toEqual([]);
    await sleep(deferredRecordDelayMs + 30);
    const [record] = out.records();
    expect(record).toMatchObject({ level: 'info', service: 'gw', replica: 'r1', listener: 'https', conn: 'web_1', sni: 'files.example', msg: 'HTTPS connection opened' });
    expect(typeof record?.recordId).toBe('string');
    const time = Date.parse(String(record?.time));
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
  });

  it('goes out before any record logged after it, by any logger of the library', () => {
    const first = capture();
    const second = capture();
    const a = createLogger({ service: 'a', replica: 'r', destination: first.stream });
    const b = createLogger({ service: 'b', replica: 'r', destination: second.stream });
    const order: string[] = [];
    for (const stream of [first.stream, second.stream]) {
      const write = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: never[]) => {
        order.push(JSON.parse(String(chunk)).msg);
        return write(chunk as string, ...rest);
      }) as typeof stream.write;
    }
    logDeferred(a, 'info', { n: 1 }, 'deferred one');
    logDeferred(a, 'warn', { n: 2 }, 'deferred two');
    b.error('at once');
    expect(order).toEqual(['deferred one', 'deferred two', 'at once']);
    expect(first.records().map((r) => r.level)).toEqual(['info', 'warn']);
  });

  it.each([
    { level: 'warn', logged: 'info', written: false },
    { level: 'info', logged: 'debug', written: false },
    { level: 'info', logged: 'info', written: true },
  ] as const)('at LOG_LEVEL $level, a deferred $logged record is written: $written', async ({ level, logged, written }) => {
    const out = capture();
    const logger = createLogger({ service: 's', replica: 'r', level, destination: out.stream });
    logDeferred(logger, logged, { n: 1 }, 'm');
    writeDeferredRecords();
    await sleep(5);
    expect(out.records()).toHaveLength(written ? 1 : 0);
  });

  it('a record that cannot be serialized costs only itself', () => {
    const out = capture();
    const logger = createLogger({ service: 's', replica: 'r', destination: out.stream });
    const broken = Object.defineProperty({}, 'size', {
      enumerable: true,
      get() {
        throw new Error('no size');
      },
    });
    logDeferred(logger, 'info', { n: 1 }, 'before');
    logDeferred(logger, 'info', broken, 'broken');
    logDeferred(logger, 'info', { n: 3 }, 'after');
    writeDeferredRecords();
    expect(out.records().map((record) => record.msg)).toEqual(['before', 'after']);
  });

  it('redacts secrets in deferred records as in any other', () => {
    const out = capture();
    const logger = createLogger({ service: 's', replica: 'r', destination: out.stream });
    logDeferred(logger, 'info', { user: 'alice', password: 'hunter2' }, 'login');
    writeDeferredRecords();
    expect(out.records()[0]).toMatchObject({ user: 'alice', password: '[redacted]' });
  });
});
