import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it.each<{ desc: string; input: unknown; expected: unknown }>([
    { desc: 'top level', input: { password: 'hunter2', user: 'alice' }, expected: { password: '[redacted]', user: 'alice' } },
    { desc: 'nested', input: { bundle: { privateKeyPem: 'PEM', fingerprint: 'ab' } }, expected: { bundle: { privateKeyPem: '[redacted]', fingerprint: 'ab' } } },
    { desc: 'three levels down', input: { req: { headers: { authorization: 'Bearer x', host: 'h' } } }, expected: { req: { headers: { authorization: '[redacted]', host: 'h' } } } },
    { desc: 'inside arrays', input: { users: [{ name: 'a', pass: 'p' }] }, expected: { users: [{ name: 'a', pass: '[redacted]' }] } },
    { desc: 'any case', input: { Authorization: 'x', PrivateKey: 'y' }, expected: { Authorization: '[redacted]', PrivateKey: '[redacted]' } },
    { desc: 'a secret that is an object', input: { key: { pem: 'PEM' } }, expected: { key: '[redacted]' } },
    { desc: 'undefined stays undefined', input: { token: undefined }, expected: { token: undefined } },
    { desc: 'no secrets', input: { a: 1, b: { c: [1, 2] } }, expected: { a: 1, b: { c: [1, 2] } } },
    { desc: 'not an object', input: 'password', expected: 'password' },
  ])('$desc', ({ input, expected }) => {
    expect(redactSecrets(input)).toEqual(expected);
  });

  it('never changes the caller\'s objects, and returns them as they are when clean', () => {
    const clean = { a: { b: 1 } };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { a: { password: 'p' }, b: { c: 1 } };
    const redacted = redactSecrets(dirty);
    expect(dirty.a.password).toBe('p');
    expect(redacted.b).toBe(dirty.b);
  });

  it('leaves class instances such as errors to their serializers', () => {
    const error = Object.assign(new Error('boom'), { key: 'k' });
    expect(redactSecrets({ err: error }).err).toBe(error);
  });
});
