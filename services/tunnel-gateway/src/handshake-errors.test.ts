import { messageOf } from './errors.js';
import { classifyHandshakeError } from './handshake-errors.js';

describe('classifyHandshakeError', () => {
  it.each([
    { desc: 'plain text on a TLS port', error: { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, code: 'HANDSHAKE_PLAINTEXT', expected: /plain text/ },
    { desc: 'HTTP request on a TLS port', error: { code: 'ERR_SSL_HTTP_REQUEST' }, code: 'HANDSHAKE_PLAINTEXT', expected: /plain text/ },
    { desc: 'client distrusts our CA', error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }, code: 'HANDSHAKE_CERTIFICATE_REJECTED', expected: /rejected our certificate/ },
    { desc: 'old protocol', error: { code: 'ERR_SSL_UNSUPPORTED_PROTOCOL' }, code: 'HANDSHAKE_VERSION', expected: /TLS versions/ },
    { desc: 'no common cipher', error: { code: 'ERR_SSL_NO_SHARED_CIPHER' }, code: 'HANDSHAKE_NO_SHARED_CIPHER', expected: /cipher suite/ },
    // Node gives "Client network socket disconnected before secure TLS connection was established" this code.
    { desc: 'reset, or the client gone before the handshake ended', error: { code: 'ECONNRESET' }, code: 'HANDSHAKE_CLIENT_GONE', expected: /closed the connection/ },
    { desc: 'unknown code is named', error: { code: 'ERR_SOMETHING_NEW' }, code: 'HANDSHAKE_FAILED', expected: /ERR_SOMETHING_NEW/ },
    { desc: 'no code at all', error: {}, code: 'HANDSHAKE_FAILED', expected: /unknown error/ },
    // Message text is never read: an error that only says "timeout" in words is not a timeout.
    { desc: 'a message without a code', error: { message: 'TLS handshake timeout' } as { code?: string }, code: 'HANDSHAKE_FAILED', expected: /unknown error/ },
  ])('$desc', ({ error, code, expected }) => {
    const result = classifyHandshakeError(error);
    expect(result.code).toBe(code);
    expect(messageOf(result)).toMatch(expected);
  });
});
