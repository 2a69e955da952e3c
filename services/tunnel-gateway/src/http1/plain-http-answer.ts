/**
 * What the gateway's plain HTTP port answers: ACME HTTP-01 challenge requests
 * (RFC 8555 §8.3) with the key authorization of a pending token, everything
 * else with a permanent redirect to the same path and query on HTTPS (308,
 * which keeps the method and body, unlike 301).
 */

export const challengePathPrefix = '/.well-known/acme-challenge/';

/** RFC 8555 §8.1: a token is base64url, at least 128 bits; CAs send 43 characters. */
const tokenPattern = /^[A-Za-z0-9_-]{16,256}$/;

/** A Host header value: a DNS name, IPv4, or a bracketed IPv6 address, with an optional port. */
const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export type PlainHttpAnswer =
  | { kind: 'challenge'; token: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'refuse'; status: 400 | 404; message: string };

/**
 * `target` is the request target as sent, `host` the Host header (null when
 * missing), `httpsPort` the public HTTPS port to send clients to.
 */
export function plainHttpAnswer(method: string, target: string, host: string | null, httpsPort: number): PlainHttpAnswer {
  if (target.startsWith(challengePathPrefix)) {
    const token = target.slice(challengePathPrefix.length);
    // CAs fetch with GET (Let's Encrypt also follows redirects, but only for the challenge path itself).
    if ((method === 'GET' || method === 'HEAD') && tokenPattern.test(token)) return { kind: 'challenge', token };
    return { kind: 'refuse', status: 404, message: 'no such challenge' };
  }
  if (!host || !hostPattern.test(host)) return { kind: 'refuse', status: 400, message: 'a request to this port needs a valid Host header: it is redirected to HTTPS on that host' };
  if (!target.startsWith('/')) return { kind: 'refuse', status: 400, message: 'the request target must be a path' };
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return { kind: 'redirect', location: `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${target}` };
}

/** How far the first request line is looked for before the connection is passed on as it is (the relay refuses an over-long line). */
export const requestLineLookahead = 8 * 1024;

/**
 * With GATEWAY_HTTP=pass, who takes a plain connection, decided on the bytes
 * received so far: the gateway itself when its first request is an ACME
 * validation (the CA opens a connection of its own for each), the file
 * server's web port otherwise. `need-more` until the request line is
 * complete. Empty lines before it are skipped, as RFC 9112 §2.2 lets servers
 * do. Anything that is not a challenge request goes to the relay, whose
 * strict reader answers malformed requests itself.
 */
export function plainConnectionRoute(received: Buffer): 'answer' | 'pass' | 'need-more' {
  let start = 0;
  while (start < received.length && (received[start] === 0x0d || received[start] === 0x0a)) start++;
  const end = received.indexOf(0x0a, start);
  if (end < 0) return received.length >= requestLineLookahead ? 'pass' : 'need-more';
  const line = received.toString('latin1', start, end);
  const match = /^(GET|HEAD) (\S+) HTTP\/1\.[01]\r?$/.exec(line);
  return match && match[2]!.startsWith(challengePathPrefix) ? 'answer' : 'pass';
}
