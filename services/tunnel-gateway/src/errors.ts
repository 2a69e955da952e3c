import { formatReply } from '@st/ftp-protocol';

/**
 * One entry per failure the gateway can meet. `ftp` is the reply code when a
 * control session answers it, `http` the status when an HTTPS client or the
 * health endpoint is told, `log` the short reason every log record about it
 * carries, and `message` says what happened in words an operator (or a user
 * reading an FTP client's log) understands. `reply` is the FTP reply text when
 * it says more than the message.
 *
 * Callers branch on `code`, never on message text.
 */
interface Entry<Details> {
  ftp?: number;
  http?: number;
  log: string;
  message: (details: Details) => string;
  reply?: (message: string, details: Details) => string;
}

const entry = <Details = void>(spec: Entry<Details>): Entry<Details> => spec;

const passiveReply = (message: string) => `Cannot open passive data connection: ${message}.`;

/**
 * Client input quoted back in a reply: printable ASCII only, at most 40
 * characters, so garbage sent as a command cannot put control characters,
 * line breaks (a forged multi-line reply) or kilobytes into our answer.
 */
export function quoted(text: string): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}...` : printable;
}

export const gatewayErrors = {
  // --- FTP control: commands the gateway refuses itself ----------------------------------------
  ACTIVE_MODE_UNAVAILABLE: entry<{ verb: string }>({
    ftp: 502,
    log: 'active mode refused',
    message: ({ verb }) => `${quoted(verb)}: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).`,
  }),
  DATA_PROTECTION_REQUIRED: entry({
    ftp: 521,
    log: 'transfer refused before PROT P',
    message: () => 'Data connections must be encrypted: send "PBSZ 0" and "PROT P" first.',
  }),
  AUTH_NOT_NEEDED: entry({
    ftp: 534,
    log: 'AUTH on an implicit TLS connection',
    message: () => 'AUTH is not needed: this connection is already protected by TLS (implicit FTPS).',
  }),
  AUTH_ALREADY_DONE: entry({
    ftp: 534,
    log: 'AUTH repeated on a TLS connection',
    message: () => 'AUTH refused: this connection is already protected by TLS.',
  }),
  AUTH_MECHANISM_UNSUPPORTED: entry<{ mechanism: string }>({
    ftp: 504,
    log: 'AUTH mechanism refused',
    message: ({ mechanism }) => `AUTH ${quoted(mechanism)}: only AUTH TLS (or its old name AUTH SSL) is supported.`,
  }),
  LOGIN_NEEDS_TLS: entry<{ verb: string }>({
    ftp: 530,
    log: 'clear-text login refused before AUTH TLS',
    message: ({ verb }) => `${quoted(verb)} refused: log in over TLS. Send AUTH TLS first (explicit FTPS); passwords are never accepted in clear text.`,
  }),
  TLS_REQUIRED_FIRST: entry<{ verb: string }>({
    ftp: 530,
    log: 'command refused before AUTH TLS',
    message: ({ verb }) => `${quoted(verb)} refused: send AUTH TLS first. Before TLS only AUTH, FEAT, NOOP and QUIT are accepted.`,
  }),
  LOGIN_BANNED: entry<{ until: string; minutes: number }>({
    ftp: 421,
    log: 'FTP connection refused: address banned after failed logins',
    message: ({ until, minutes }) =>
      `Too many failed logins from your address: logins are refused until ${until} (about ${minutes} minute${minutes === 1 ? '' : 's'}); closing the connection.`,
  }),
  TOO_MANY_COMMANDS: entry<{ limit: number }>({
    ftp: 421,
    log: 'session closed: too many commands without a transfer',
    message: ({ limit }) => `Too many commands without a transfer (limit ${limit}); closing the connection.`,
  }),
  CCC_REFUSED: entry({
    ftp: 534,
    log: 'CCC refused',
    message: () => 'CCC refused: the control connection stays encrypted.',
  }),
  SECURITY_MECHANISM_UNSUPPORTED: entry<{ verb: string }>({
    ftp: 502,
    log: 'RFC 2228 mechanism refused',
    message: ({ verb }) => `${quoted(verb)}: RFC 2228 security mechanisms other than TLS are not supported.`,
  }),
  COMMAND_TOO_LONG: entry<{ limit: number }>({
    ftp: 500,
    log: 'command line too long',
    message: ({ limit }) => `Command line too long (limit ${limit} bytes).`,
  }),

  // --- FTP control: passive mode -------------------------------------------------------------
  UPSTREAM_BAD_PASSIVE_REPLY: entry<{ reason: string }>({
    ftp: 425,
    log: 'upstream sent an unusable passive reply',
    message: () => 'the file server sent an unusable reply',
    reply: passiveReply,
  }),
  PASV_NOT_IPV4: entry({
    ftp: 425,
    log: 'PASV cannot announce a non-IPv4 address',
    message: () => 'PASV cannot announce this server address (it is not IPv4); use EPSV.',
  }),
  /** The port map has no ftp-data listener: passive data is switched off. */
  PASSIVE_DISABLED: entry({
    ftp: 425,
    log: 'passive lease refused',
    message: () => 'passive data is not enabled on this gateway',
    reply: passiveReply,
  }),
  /** Offset mode: the upstream named a data port whose public twin is not in the public range. */
  PASSIVE_PORT_OUTSIDE_RANGE: entry<{ upstreamPort: number; range: string }>({
    ftp: 425,
    log: 'passive lease refused',
    message: ({ upstreamPort, range }) => `the file server offered passive port ${upstreamPort}, outside the configured passive range ${range}`,
    reply: passiveReply,
  }),
  /** Pool mode: every public passive port has a pending lease. */
  CLIENT_LEASE_LIMIT: entry<{ limit: number }>({
    ftp: 425,
    log: 'passive lease refused: too many waiting from this client',
    message: ({ limit }) => `too many passive ports are already waiting for connections from your address (limit ${limit}); connect to them or close other sessions first`,
    reply: passiveReply,
  }),
  POOL_EXHAUSTED: entry<{ range: string }>({
    ftp: 425,
    log: 'passive lease refused',
    message: ({ range }) => `every public passive port ${range} is leased`,
    reply: passiveReply,
  }),
  /** `reason` is for the records only: what the Redis client said. */
  LEASE_STORE_UNAVAILABLE: entry<{ reason: string }>({
    ftp: 425,
    log: 'passive lease refused: Redis unreachable',
    message: () => 'the gateway cannot reach its shared store of passive ports (Redis); try again in a moment',
    reply: passiveReply,
  }),

  // --- FTP control: the upstream and the session ---------------------------------------------
  UPSTREAM_UNREACHABLE: entry<{ reason: string }>({
    ftp: 421,
    log: 'upstream control connection failed',
    message: () => 'Service not available: the file server cannot be reached.',
  }),
  UPSTREAM_BAD_REPLY: entry<{ reason: string }>({
    ftp: 421,
    log: 'upstream broke the FTP reply syntax',
    message: () => 'The file server sent an invalid reply; closing.',
  }),
  GATEWAY_STOPPING: entry({
    ftp: 421,
    log: 'control connection closed: the gateway is stopping',
    message: () => 'Service closing: this gateway is stopping; connect again to reach another one.',
  }),
  CONTROL_IDLE: entry<{ idleMs: number }>({
    ftp: 421,
    log: 'control connection idle; closing',
    message: () => 'Idle timeout: closing control connection.',
  }),
  /** The data connection failed while the upstream reported success (or only saw the reset). */
  TRANSFER_ABORTED: entry<{ reason: string | undefined }>({
    ftp: 426,
    log: 'transfer failed',
    message: ({ reason }) => `Transfer aborted: ${reason ?? 'data connection failed'}.`,
  }),

  // --- passive data connections ----------------------------------------------------------------
  DATA_NO_LEASE: entry<{ port: number }>({
    log: 'connection refused',
    message: ({ port }) => `no passive lease for port ${port}`,
  }),
  DATA_WRONG_CLIENT: entry<{ port: number; expected: string; actual: string }>({
    log: 'connection refused',
    message: ({ port, expected, actual }) => `port ${port} is leased to ${expected}, not to ${actual}`,
  }),
  DATA_SESSION_NOT_RESUMED: entry({
    log: 'data connection refused: TLS session not resumed (required by policy)',
    message: () => "the data connection did not resume the control connection's TLS session (required by policy)",
  }),
  DATA_NOT_EXPECTED: entry({
    log: 'data connection not expected',
    message: () => 'the control session no longer expects this data connection',
  }),
  DATA_ABORTED_BY_CLIENT: entry({
    log: 'data connection aborted',
    message: () => 'client sent ABOR',
  }),
  DATA_REPLACED: entry({
    log: 'data connection abandoned',
    message: () => 'client asked for a new passive port',
  }),
  DATA_SESSION_ENDED: entry<{ reason: string }>({
    log: 'data connection abandoned',
    message: ({ reason }) => `control session ended: ${reason}`,
  }),
  DATA_HANDSHAKE_FAILED: entry<{ reason: string }>({
    log: 'data connection failed',
    message: ({ reason }) => `TLS handshake failed: ${reason}`,
  }),
  DATA_UPSTREAM_CONNECT_TIMEOUT: entry<{ port: number }>({
    log: 'data connection failed',
    message: ({ port }) => `upstream data port ${port} did not accept in time`,
  }),
  DATA_UPSTREAM_ERROR: entry<{ reason: string }>({
    log: 'data connection failed',
    message: ({ reason }) => `upstream data connection: ${reason}`,
  }),
  DATA_UPSTREAM_CLOSED_EARLY: entry({
    log: 'data connection failed',
    message: () => 'upstream closed the data connection before the transfer ended',
  }),
  DATA_CLIENT_ERROR: entry<{ reason: string }>({
    log: 'data connection failed',
    message: ({ reason }) => `client data connection: ${reason}`,
  }),
  DATA_CLIENT_CLOSED_EARLY: entry({
    log: 'data connection failed',
    message: () => 'client closed the data connection before the transfer ended',
  }),
  DATA_STALLED: entry<{ idleMs: number }>({
    log: 'data connection failed',
    message: ({ idleMs }) => `data connection stalled for ${idleMs} ms`,
  }),

  // --- HTTPS -------------------------------------------------------------------------------------
  HTTP_HEAD_TIMEOUT: entry<{ limitMs: number }>({
    http: 408,
    log: 'request head not complete in time; connection closed',
    message: ({ limitMs }) => `request head not complete within ${limitMs} ms`,
  }),
  HTTP_UPSTREAM_NO_ANSWER: entry<{ reason: string }>({
    http: 502,
    log: 'upstream web request failed',
    message: ({ reason }) => `the file server's web port did not answer (${reason})`,
  }),

  // --- TLS handshakes ----------------------------------------------------------------------------
  HANDSHAKE_PLAINTEXT: entry({ log: 'TLS handshake failed', message: () => 'client spoke plain text to a TLS port (wrong protocol or scheme)' }),
  HANDSHAKE_CERTIFICATE_REJECTED: entry({ log: 'TLS handshake failed', message: () => 'client rejected our certificate (untrusted issuer or name mismatch)' }),
  HANDSHAKE_VERSION: entry({ log: 'TLS handshake failed', message: () => 'client offered only TLS versions we do not accept' }),
  HANDSHAKE_NO_SHARED_CIPHER: entry({ log: 'TLS handshake failed', message: () => 'no cipher suite in common with the client' }),
  HANDSHAKE_CLIENT_GONE: entry({ log: 'TLS handshake failed', message: () => 'client closed the connection during the handshake' }),
  HANDSHAKE_TIMEOUT: entry({ log: 'TLS handshake failed', message: () => 'client did not complete the TLS handshake in time' }),
  HANDSHAKE_ADMISSION_INTERRUPTED: entry({
    log: 'TLS handshake failed',
    message: () => 'connection closed while its admission was checked (client gone, or the listener closing)',
  }),
  HANDSHAKE_FAILED: entry<{ code: string }>({ log: 'TLS handshake failed', message: ({ code }) => `TLS handshake failed: ${code}` }),

  // --- port map and health -----------------------------------------------------------------------
  /** Health says 200 "degraded" while a previous map keeps serving, 503 "not-ready" when there is none (health-state.ts). */
  PORT_MAP_NOT_APPLIED: entry<{ version: number; reason: string }>({
    log: 'port map not applied; previous listeners keep running',
    message: ({ version, reason }) => `port map version ${version} not applied: ${reason}`,
  }),
} as const;

export type GatewayErrorCode = keyof typeof gatewayErrors;
type DetailsOf<Code extends GatewayErrorCode> = (typeof gatewayErrors)[Code] extends Entry<infer Details> ? Details : never;

/**
 * A failure as data: cheap to make (no stack trace), so pure state machines
 * can return it in their effects. Throw sites wrap it in a GatewayError.
 */
export interface Failure<Code extends GatewayErrorCode = GatewayErrorCode> {
  code: Code;
  details: DetailsOf<Code>;
}

export function failure<Code extends GatewayErrorCode>(
  code: Code,
  ...details: DetailsOf<Code> extends void ? [] : [DetailsOf<Code>]
): Failure<Code> {
  return { code, details: details[0] as DetailsOf<Code> };
}

function entryOf(code: GatewayErrorCode): Entry<unknown> {
  return gatewayErrors[code] as Entry<unknown>;
}

/** What happened, in plain words. */
export function messageOf(failure: Failure): string {
  return entryOf(failure.code).message(failure.details);
}

/** The short reason log records carry as their message. */
export function logReasonOf(failure: Failure): string {
  return entryOf(failure.code).log;
}

/** The HTTP status for a failure told to an HTTPS client or by the health endpoint. */
export function httpStatusOf(failure: Failure): number | undefined {
  return entryOf(failure.code).http;
}

/** The complete FTP reply (code, text, CRLF); only for failures a control session answers. */
export function ftpReplyOf(failure: Failure): string {
  const spec = entryOf(failure.code);
  if (spec.ftp === undefined) throw new Error(`${failure.code} has no FTP reply`);
  const message = spec.message(failure.details);
  return formatReply(spec.ftp, spec.reply ? spec.reply(message, failure.details) : message);
}

/** A failure thrown across an async boundary (the lease store, the listeners). */
export class GatewayError<Code extends GatewayErrorCode = GatewayErrorCode> extends Error {
  readonly failure: Failure<Code>;

  constructor(failure: Failure<Code>) {
    super(messageOf(failure));
    this.name = 'GatewayError';
    this.failure = failure;
  }

  get code(): Code {
    return this.failure.code;
  }
}
