/**
 * Client-supplied fields that claim where a request came from: at the edge
 * only what we saw is true, so these are dropped (in heads) or refused (in
 * trailers) and ours are added. Names compare with "_" read as "-", because
 * CGI-style servers (PHP, WSGI) turn both X-Forwarded-For and
 * X_Forwarded_For into the same HTTP_X_FORWARDED_FOR.
 */
const untrustedForwardingFields = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-prefix',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-original-forwarded-for',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
]);

/** `key` is a lower-case field name. */
export function isUntrustedForwardingField(key: string): boolean {
  return untrustedForwardingFields.has(key.includes('_') ? key.replaceAll('_', '-') : key);
}
