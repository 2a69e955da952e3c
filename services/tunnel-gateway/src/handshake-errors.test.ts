import { describeHandshakeError } from './handshake-errors.js';

describe('describeHandshakeError', () => {
  it.each([
    { desc: 'plain text on a TLS port', error: { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, expected: /plain text/ },
    { desc: 'HTTP request on a TLS port', error: { code: 'ERR_SSL_HTTP_REQUEST' }, expected: /plain text/ },
    { desc: 'client distrusts our CA', error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }, expected: /rejected our certificate/ },
    { desc: 'old protocol', error: { code: 'ERR_SSL_UNSUPPORTED_PROTOCOL' }, expected: /TLS versions/ },
    { desc: 'reset', error: { code: 'ECONNRESET' }, expected: /closed the connection/ },
    { desc: 'timeout', error: { message: 'TLS handshake timeout' }, expected: /in time/ },
    { desc: 'disconnect before secure', error: { message: 'Client network socket disconnected before secure TLS connection was established' }, expected: /closed the connection/ },
    { desc: 'closed during an asynchronous admission', error: { message: 'connection closed while it was admitted' }, expected: /while its admission was checked/ },
    { desc: 'unknown code is named', error: { code: 'ERR_SOMETHING_NEW' }, expected: /ERR_SOMETHING_NEW/ },
  ])('$desc', ({ error, expected }) => {
    expect(describeHandshakeError(error)).toMatch(expected);
  });
});
