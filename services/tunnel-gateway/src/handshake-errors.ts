import { failure, type Failure } from './errors.js';

/**
 * Turns the TLS layer's error codes (OpenSSL's, and Node's ECONNRESET for a
 * peer gone mid-handshake) into a catalogue entry an operator can act on.
 * Failures the gateway itself detects (its handshake deadline, a connection
 * closed during admission) never come here: they are named where they happen.
 */
export function classifyHandshakeError(error: { code?: string } | undefined): Failure {
  const code = error?.code ?? '';
  for (const [pattern, result] of table) if (pattern.test(code)) return result;
  return failure('HANDSHAKE_FAILED', { code: code || 'unknown error' });
}

const table: Array<[RegExp, Failure]> = [
  [/WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST/, failure('HANDSHAKE_PLAINTEXT')],
  [/UNKNOWN_CA|CERTIFICATE_UNKNOWN|BAD_CERTIFICATE/, failure('HANDSHAKE_CERTIFICATE_REJECTED')],
  [/UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|PROTOCOL_VERSION/, failure('HANDSHAKE_VERSION')],
  [/NO_SHARED_CIPHER|HANDSHAKE_FAILURE/, failure('HANDSHAKE_NO_SHARED_CIPHER')],
  [/^(ECONNRESET|EPIPE)$/, failure('HANDSHAKE_CLIENT_GONE')],
];
