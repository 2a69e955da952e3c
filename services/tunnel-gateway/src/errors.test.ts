import { failure, ftpReplyOf, gatewayErrors, GatewayError, httpStatusOf, logReasonOf, messageOf, type Failure } from './errors.js';

describe('gateway error catalogue', () => {
  it('every entry has a log reason and a message; reply codes are FTP failure codes, statuses HTTP error statuses', () => {
    for (const [code, spec] of Object.entries(gatewayErrors)) {
      expect({ code, log: spec.log.length > 0 }).toEqual({ code, log: true });
      const ftp = (spec as { ftp?: number }).ftp;
      const http = (spec as { http?: number }).http;
      if (ftp !== undefined) expect({ code, ftp: ftp >= 400 && ftp <= 599 }).toEqual({ code, ftp: true });
      if (http !== undefined) expect({ code, http: http >= 400 && http <= 599 }).toEqual({ code, http: true });
    }
  });

  // The replies clients and tests have always seen: the catalogue must not change a byte of them.
  it.each<{ desc: string; failure: Failure; reply: string }>([
    { desc: 'active mode', failure: failure('ACTIVE_MODE_UNAVAILABLE', { verb: 'PORT' }), reply: '502 PORT: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).\r\n' },
    { desc: 'transfer before PROT P', failure: failure('DATA_PROTECTION_REQUIRED'), reply: '521 Data connections must be encrypted: send "PBSZ 0" and "PROT P" first.\r\n' },
    { desc: 'AUTH on implicit TLS', failure: failure('AUTH_NOT_NEEDED'), reply: '534 AUTH is not needed: this connection is already protected by TLS (implicit FTPS).\r\n' },
    { desc: 'AUTH again after AUTH TLS', failure: failure('AUTH_ALREADY_DONE'), reply: '534 AUTH refused: this connection is already protected by TLS.\r\n' },
    { desc: 'AUTH KERBEROS', failure: failure('AUTH_MECHANISM_UNSUPPORTED', { mechanism: 'KERBEROS_V4' }), reply: '504 AUTH KERBEROS_V4: only AUTH TLS (or its old name AUTH SSL) is supported.\r\n' },
    {
      desc: 'USER before AUTH TLS',
      failure: failure('LOGIN_NEEDS_TLS', { verb: 'USER' }),
      reply: '530 USER refused: log in over TLS. Send AUTH TLS first (explicit FTPS); passwords are never accepted in clear text.\r\n',
    },
    { desc: 'LIST before AUTH TLS', failure: failure('TLS_REQUIRED_FIRST', { verb: 'LIST' }), reply: '530 LIST refused: send AUTH TLS first. Before TLS only AUTH, FEAT, NOOP and QUIT are accepted.\r\n' },
    {
      desc: 'garbage as a command before AUTH TLS: quoted printable and short, never a forged multi-line reply',
      failure: failure('TLS_REQUIRED_FIRST', { verb: '\u0016\u0003\n999 FORGED\r\x00' }),
      reply: '530 ???999 FORGED?? refused: send AUTH TLS first. Before TLS only AUTH, FEAT, NOOP and QUIT are accepted.\r\n',
    },
    {
      desc: 'an AUTH mechanism of 4 KiB',
      failure: failure('AUTH_MECHANISM_UNSUPPORTED', { mechanism: 'X'.repeat(4096) }),
      reply: `504 AUTH ${'X'.repeat(40)}...: only AUTH TLS (or its old name AUTH SSL) is supported.\r\n`,
    },
    { desc: 'CCC', failure: failure('CCC_REFUSED'), reply: '534 CCC refused: the control connection stays encrypted.\r\n' },
    { desc: 'other RFC 2228 mechanisms', failure: failure('SECURITY_MECHANISM_UNSUPPORTED', { verb: 'ADAT' }), reply: '502 ADAT: RFC 2228 security mechanisms other than TLS are not supported.\r\n' },
    { desc: 'command too long', failure: failure('COMMAND_TOO_LONG', { limit: 4096 }), reply: '500 Command line too long (limit 4096 bytes).\r\n' },
    { desc: 'unusable upstream passive reply', failure: failure('UPSTREAM_BAD_PASSIVE_REPLY', { reason: 'x' }), reply: '425 Cannot open passive data connection: the file server sent an unusable reply.\r\n' },
    { desc: 'PASV without IPv4', failure: failure('PASV_NOT_IPV4'), reply: '425 PASV cannot announce this server address (it is not IPv4); use EPSV.\r\n' },
    { desc: 'passive disabled', failure: failure('PASSIVE_DISABLED'), reply: '425 Cannot open passive data connection: passive data is not enabled on this gateway.\r\n' },
    {
      desc: 'passive port outside the range',
      failure: failure('PASSIVE_PORT_OUTSIDE_RANGE', { upstreamPort: 2999, range: '3000-3008' }),
      reply: '425 Cannot open passive data connection: the file server offered passive port 2999, outside the configured passive range 3000-3008.\r\n',
    },
    { desc: 'pool exhausted', failure: failure('POOL_EXHAUSTED', { range: '5000-5001' }), reply: '425 Cannot open passive data connection: every public passive port 5000-5001 is leased.\r\n' },
    { desc: 'lease store down', failure: failure('LEASE_STORE_UNAVAILABLE', { reason: 'ECONNREFUSED' }), reply: '425 Cannot open passive data connection: the gateway cannot reach its shared store of passive ports (Redis); try again in a moment.\r\n' },
    { desc: 'upstream unreachable', failure: failure('UPSTREAM_UNREACHABLE', { reason: 'ECONNREFUSED' }), reply: '421 Service not available: the file server cannot be reached.\r\n' },
    { desc: 'upstream broke the syntax', failure: failure('UPSTREAM_BAD_REPLY', { reason: 'x' }), reply: '421 The file server sent an invalid reply; closing.\r\n' },
    { desc: 'idle', failure: failure('CONTROL_IDLE', { idleMs: 1000 }), reply: '421 Idle timeout: closing control connection.\r\n' },
    { desc: 'transfer aborted with a reason', failure: failure('TRANSFER_ABORTED', { reason: 'client sent ABOR' }), reply: '426 Transfer aborted: client sent ABOR.\r\n' },
    { desc: 'transfer aborted without one', failure: failure('TRANSFER_ABORTED', { reason: undefined }), reply: '426 Transfer aborted: data connection failed.\r\n' },
  ])('FTP reply: $desc', ({ failure: given, reply }) => {
    expect(ftpReplyOf(given)).toBe(reply);
  });

  // The reasons data connections fail with (in logs and 426 replies), as they always read.
  it.each<{ failure: Failure; message: string }>([
    { failure: failure('DATA_ABORTED_BY_CLIENT'), message: 'client sent ABOR' },
    { failure: failure('DATA_REPLACED'), message: 'client asked for a new passive port' },
    { failure: failure('DATA_SESSION_ENDED', { reason: 'idle timeout' }), message: 'control session ended: idle timeout' },
    { failure: failure('DATA_NOT_EXPECTED'), message: 'the control session no longer expects this data connection' },
    { failure: failure('DATA_SESSION_NOT_RESUMED'), message: "the data connection did not resume the control connection's TLS session (required by policy)" },
    { failure: failure('DATA_HANDSHAKE_FAILED', { reason: 'no cipher suite in common with the client' }), message: 'TLS handshake failed: no cipher suite in common with the client' },
    { failure: failure('DATA_UPSTREAM_CONNECT_TIMEOUT', { port: 3004 }), message: 'upstream data port 3004 did not accept in time' },
    { failure: failure('DATA_UPSTREAM_ERROR', { reason: 'read ECONNRESET' }), message: 'upstream data connection: read ECONNRESET' },
    { failure: failure('DATA_UPSTREAM_CLOSED_EARLY'), message: 'upstream closed the data connection before the transfer ended' },
    { failure: failure('DATA_CLIENT_ERROR', { reason: 'read ECONNRESET' }), message: 'client data connection: read ECONNRESET' },
    { failure: failure('DATA_CLIENT_CLOSED_EARLY'), message: 'client closed the data connection before the transfer ended' },
    { failure: failure('DATA_STALLED', { idleMs: 5000 }), message: 'data connection stalled for 5000 ms' },
    { failure: failure('DATA_NO_LEASE', { port: 4004 }), message: 'no passive lease for port 4004' },
    { failure: failure('DATA_WRONG_CLIENT', { port: 4004, expected: '192.0.2.1', actual: '192.0.2.2' }), message: 'port 4004 is leased to 192.0.2.1, not to 192.0.2.2' },
  ])('data connection: $failure.code', ({ failure: given, message }) => {
    expect(messageOf(given)).toBe(message);
  });

  it('POOL_EXHAUSTED means only a full pool: a disabled passive mode and a port outside the range have codes of their own', () => {
    const codes = new Set([failure('PASSIVE_DISABLED').code, failure('PASSIVE_PORT_OUTSIDE_RANGE', { upstreamPort: 1, range: '2-3' }).code, failure('POOL_EXHAUSTED', { range: '2-3' }).code]);
    expect(codes.size).toBe(3);
  });

  it('HTTP statuses and log reasons come with the code', () => {
    expect(httpStatusOf(failure('HTTP_HEAD_TIMEOUT', { limitMs: 10 }))).toBe(408);
    expect(httpStatusOf(failure('HTTP_UPSTREAM_NO_ANSWER', { reason: 'ECONNREFUSED' }))).toBe(502);
    expect(logReasonOf(failure('HTTP_HEAD_TIMEOUT', { limitMs: 10 }))).toBe('request head not complete in time; connection closed');
    expect(messageOf(failure('PORT_MAP_NOT_APPLIED', { version: 2, reason: 'listen EADDRINUSE' }))).toBe('port map version 2 not applied: listen EADDRINUSE');
  });

  it('a failure without an FTP reply is not turned into one', () => {
    expect(() => ftpReplyOf(failure('DATA_NO_LEASE', { port: 1 }))).toThrow(/no FTP reply/);
  });

  it('GatewayError carries the failure and its message', () => {
    const error = new GatewayError(failure('POOL_EXHAUSTED', { range: '5000-5001' }));
    expect(error.code).toBe('POOL_EXHAUSTED');
    expect(error.message).toBe('every public passive port 5000-5001 is leased');
    expect(error).toBeInstanceOf(Error);
  });
});
