/** Turns OpenSSL's error codes into a reason an operator can act on. */
export function describeHandshakeError(error: { code?: string; message?: string } | undefined): string {
  const code = error?.code ?? '';
  const message = error?.message ?? '';
  const table: Array<[RegExp, string]> = [
    [/WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST/, 'client spoke plain text to a TLS port (wrong protocol or scheme)'],
    [/UNKNOWN_CA|CERTIFICATE_UNKNOWN|BAD_CERTIFICATE/, 'client rejected our certificate (untrusted issuer or name mismatch)'],
    [/UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|PROTOCOL_VERSION/, 'client offered only TLS versions we do not accept'],
    [/NO_SHARED_CIPHER|HANDSHAKE_FAILURE/, 'no cipher suite in common with the client'],
    [/ECONNRESET|EPIPE/, 'client closed the connection during the handshake'],
    [/handshake timeout/i, 'client did not complete the TLS handshake in time'],
    [/closed while it was admitted/, 'connection closed while its admission was checked (client gone, or the listener closing)'],
  ];
  for (const [pattern, reason] of table) if (pattern.test(code) || pattern.test(message)) return reason;
  if (/socket disconnected|socket hang up/i.test(message)) return 'client closed the connection during the handshake';
  return `TLS handshake failed: ${code || message || 'unknown error'}`;
}
