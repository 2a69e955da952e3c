import { Writable } from 'node:stream';
import { createLogger } from './index.js';

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
