import { describeAcmeProblem, describeRequestFailure, isTransient } from './acme-problems.js';

const error = (type: string) => `urn:ietf:params:acme:error:${type}`;

describe('ACME problems in plain words', () => {
  it.each([
    [
      { type: error('connection'), detail: 'Connecting to 127.0.0.1:5001: dial tcp 127.0.0.1:5001: connect: connection refused' },
      { name: 'files.example.com', challenge: 'tls-alpn-01' as const },
      'the CA could not reach port 443 of files.example.com: connection refused (nothing listens there, or a firewall rejects it)',
    ],
    [
      { type: error('connection'), detail: 'Fetching http://files.example.com/.well-known/acme-challenge/x: Timeout during connect' },
      { name: 'files.example.com', challenge: 'http-01' as const },
      'the CA could not reach port 80 of files.example.com: no answer in time (a firewall may drop the connection)',
    ],
    [
      { type: error('connection'), detail: 'something odd' },
      { name: 'a.example', challenge: 'http-01' as const },
      'the CA could not reach port 80 of a.example: the connection failed (the CA said: something odd)',
    ],
    [{ type: error('dns'), detail: 'NXDOMAIN looking up A for a.example' }, { name: 'a.example' }, 'the CA could not look up a.example in DNS: the name does not resolve in public DNS (the CA said: NXDOMAIN looking up A for a.example)'],
    [{ type: error('unauthorized'), detail: 'key authorization mismatch' }, { name: 'a.example', challenge: 'http-01' as const }, 'the CA reached port 80 of a.example but did not get the expected challenge answer: is another server answering for a.example? (the CA said: key authorization mismatch)'],
    [{ type: error('caa') }, { name: 'a.example' }, 'a CAA record of a.example forbids this CA from issuing for it'],
    [{ type: error('rateLimited'), detail: 'too many certificates' }, {}, "the CA's rate limit was reached; the order is retried later (the CA said: too many certificates)"],
    [{ type: error('badNonce') }, {}, 'the CA refused a request as replayed (bad nonce); it is sent again'],
    [
      {
        type: error('compound'),
        subproblems: [
          { type: error('connection'), detail: 'connection refused', identifier: { type: 'dns', value: 'a.example' } },
          { type: error('caa'), identifier: { type: 'dns', value: 'b.example' } },
        ],
      },
      { challenge: 'tls-alpn-01' as const },
      'the CA could not reach port 443 of a.example: connection refused (nothing listens there, or a firewall rejects it); a CAA record of b.example forbids this CA from issuing for it',
    ],
    [{ type: 'about:blank', detail: 'x'.repeat(400) }, {}, `the CA refused the request (about:blank) (the CA said: ${'x'.repeat(297)}...)`],
    [{}, {}, 'the CA refused the request'],
  ])('%j in %j: %s', (problem, context, words) => {
    expect(describeAcmeProblem(problem, context)).toBe(words);
  });

  it.each([
    [{ type: error('rateLimited') }, true],
    [{ type: error('serverInternal') }, true],
    [{ type: error('malformed'), status: 503 }, true],
    [{ type: error('connection'), status: 400 }, false],
    [{ type: error('caa') }, false],
  ])('%j transient: %s', (problem, transient) => {
    expect(isTransient(problem)).toBe(transient);
  });
});

describe('requests that got no problem document', () => {
  const directory = 'https://acme.example/dir';
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  it.each([
    { error: withCode('connect ECONNREFUSED 192.0.2.1:443', 'ECONNREFUSED'), context: { orderStarted: false }, reason: 'the ACME directory https://acme.example/dir cannot be reached: connection refused', transient: true },
    { error: withCode('getaddrinfo ENOTFOUND acme.example', 'ENOTFOUND'), context: { orderStarted: false }, reason: 'the ACME directory https://acme.example/dir cannot be reached: its name does not resolve', transient: true },
    { error: new Error('timeout of 30000ms exceeded'), context: { orderStarted: true }, reason: 'the ACME directory https://acme.example/dir did not answer in time', transient: true },
    { error: withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), context: { orderStarted: false }, reason: "the ACME directory's HTTPS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN); for a private CA set ACME_CA_FILE to its root certificate", transient: false },
    { error: withCode('socket hang up', 'ECONNRESET'), context: { orderStarted: true }, reason: 'cert-service could not finish the order: ECONNRESET (socket hang up)', transient: true },
    { error: new Error('Order is not ready'), context: { name: 'files.example.com', orderStarted: true }, reason: 'the CA refused the request for files.example.com: Order is not ready', transient: false },
    { error: new Error('Request failed with status code 503'), context: { orderStarted: false }, reason: 'the CA answered HTTP 503 (a fault or an outage at the CA)', transient: true },
    { error: new Error('Request failed with status code 404'), context: { name: 'files.example.com', orderStarted: true }, reason: 'the CA answered HTTP 404 for files.example.com', transient: false },
  ])('$error.message', ({ error, context, reason, transient }) => {
    expect(describeRequestFailure(error, directory, context)).toEqual({ reason, transient });
  });
});
