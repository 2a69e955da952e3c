import { initialProtection, type DataProtectionPolicy, type FtpCommand, type FtpReply, type ProtectionState } from '@st/ftp-protocol';
import type { Failure } from '../errors.js';

/** The FTP control session's events, effects and state (control-machine.ts holds the rules). */

/** How a data link ended (DataLink's result). */
export interface LinkResult {
  ok: boolean;
  /** Why it failed: told to the client in the 426, so never an internal name. */
  reason?: string;
  /** Which gateway process carried it, when another one did (for the records only). */
  carrier?: string;
  error?: Failure['code'];
  bytesToClient: number;
  bytesToUpstream: number;
  durationMs: number;
}

/** One command line from the client, or a line over the length limit. */
export type ClientInput = { command: FtpCommand } | { tooLong: number };

export type ControlEvent =
  /** The commands of one chunk from the client, in order. */
  | { type: 'client-input'; inputs: readonly ClientInput[] }
  | { type: 'upstream-reply'; reply: FtpReply }
  | { type: 'upstream-reply-invalid'; reason: string }
  | { type: 'upstream-failed'; reason: string }
  | { type: 'upstream-closed' }
  | { type: 'client-closed' }
  | { type: 'idle-timeout'; idleMs: number }
  | { type: 'lease-acquired'; publicPort: number }
  | { type: 'lease-refused'; failure: Failure }
  /** The client's data connection claimed a lease of this session (in this process or another). */
  | { type: 'data-link-claimed'; linkId: string; publicPort: number }
  /** The settle step found the lease unused: the client never connected (the lease is released). */
  | { type: 'lease-unclaimed'; publicPort: number }
  /** The upstream side of the link ended cleanly: an ABOR has nothing left to stop. */
  | { type: 'data-link-upstream-complete'; linkId: string }
  | { type: 'data-link-done'; linkId: string; result: LinkResult }
  /** Explicit FTPS: the handshake that followed our 234 completed; the client speaks TLS from here on. */
  | { type: 'tls-established' }
  /** Explicit FTPS: that handshake failed (the wrapper logged why). */
  | { type: 'tls-failed'; reason: string }
  /** The login defender lets this client's password through. */
  | { type: 'login-allowed' }
  /** The login defender refuses this client (banned now or from before): the session ends with the failure's 421. */
  | { type: 'login-refused'; failure: Failure }
  /** The gateway is stopping: end the session with a 421 as soon as no command or transfer is under way. */
  | { type: 'shutdown' };

export type ControlEffect =
  | { type: 'send-client'; data: string | Buffer }
  | { type: 'send-upstream'; data: Buffer }
  | { type: 'acquire-lease'; upstreamPort: number; protectionLevel: ProtectionState['level'] }
  | { type: 'release-lease'; publicPort: number }
  /**
   * A transfer's final reply came while the lease had no data connection the
   * session knew of: ask Redis whether one took it elsewhere (answered by
   * data-link-claimed or lease-unclaimed).
   */
  | { type: 'settle-lease'; publicPort: number }
  | { type: 'abort-link'; linkId: string; cause: Failure }
  /** Explicit FTPS: after the 234 just sent is out, the client connection turns into TLS (server side). */
  | { type: 'start-tls' }
  /** Ask the login defender whether this client may send a password (answered by login-allowed or login-refused). */
  | { type: 'check-login' }
  /** The upstream refused a login: the login defender counts it (the user name tried, never the password). */
  | { type: 'login-failed'; user: string | null }
  /** End both connections (after what was sent), whatever the reason. */
  | { type: 'close'; reason: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; fields: Record<string, unknown>; message: string };

/** What the wrapper knows at the moment of a step. */
export interface ControlEnv {
  policy: DataProtectionPolicy;
  /** Commands a session may send between transfers before it is closed (limits.maxCommandsWithoutTransfer). */
  maxCommandsWithoutTransfer: number;
  /** Who the client is, for the login records. */
  client: { address: string; port: number };
  /** The IPv4 address a 227 announces (the configured public one, or where the client reached us); null when there is none. */
  pasvAddress: () => string | null;
}

/** What the upstream's next final reply answers. */
export type Awaiting =
  | { kind: 'greeting' }
  /** `verb`: login commands' replies say whether the login succeeded. */
  | { kind: 'relay'; verb: string }
  | { kind: 'feat' }
  | { kind: 'passive'; verb: 'PASV' | 'EPSV' }
  | { kind: 'transfer'; command: FtpCommand };

/** A final reply the session cannot pass on yet. */
export type Wait =
  | { kind: 'lease'; verb: 'PASV' | 'EPSV'; address: string | null; upstreamPort: number }
  | { kind: 'link'; linkId: string; reply: FtpReply; command: FtpCommand }
  /** The transfer's final reply waits until the settle step says whether a data connection took the lease. */
  | { kind: 'claim-check'; publicPort: number; reply: FtpReply; command: FtpCommand }
  /** AUTH TLS was answered: nothing moves until the handshake is done. */
  | { kind: 'tls' }
  /** A password waits for the login defender's word before it goes upstream. */
  | { kind: 'login-check'; command: FtpCommand };

export type Passive = { kind: 'none' } | { kind: 'leased'; publicPort: number } | { kind: 'linked'; linkId: string };

export interface LinkState {
  upstreamComplete: boolean;
  result: LinkResult | null;
}

export interface Transfer {
  command: FtpCommand;
  /** Set by ABOR: a data connection that arrives late is torn down too. */
  abortRequested: boolean;
  /** The data link whose end the final reply waits for, once that reply came. */
  linkId: string | null;
}

export type ControlChannel = 'implicit-tls' | 'plain' | 'explicit-tls';

export interface ControlState {
  /**
   * The control connection's protection. Implicit FTPS is TLS from the first
   * byte; an explicit port starts 'plain' and turns 'explicit-tls' after AUTH TLS.
   */
  readonly channel: ControlChannel;
  readonly queue: readonly ClientInput[];
  readonly awaiting: readonly Awaiting[];
  readonly wait: Wait | null;
  /** Replies that came while one waits. */
  readonly backlog: readonly FtpReply[];
  readonly protection: ProtectionState;
  readonly passive: Passive;
  /** The transfer command in flight, from sending it until its final reply went to the client. */
  readonly transfer: Readonly<Transfer> | null;
  readonly links: ReadonlyMap<string, Readonly<LinkState>>;
  readonly upstreamClosed: boolean;
  readonly closed: boolean;
  readonly user: string | null;
  /** Commands since the last transfer command (or the start). */
  readonly commandsWithoutTransfer: number;
  /** The gateway is stopping: the session ends at its next idle moment. */
  readonly draining: boolean;
  /**
   * ABOR waits to go upstream until the data link it cut is done: told first,
   * the file server would close its data connection cleanly and the link
   * (carried by another process, the abort still on its way) could pass that
   * on as a complete stream.
   */
  readonly deferredAbort: { linkId: string; commands: readonly FtpCommand[] } | null;
}

/** A new session: the upstream's greeting is the first reply it waits for. */
export const initialControlState: ControlState = Object.freeze<ControlState>({
  channel: 'implicit-tls',
  queue: [],
  awaiting: [{ kind: 'greeting' }],
  wait: null,
  backlog: [],
  protection: initialProtection,
  passive: { kind: 'none' },
  transfer: null,
  links: new Map(),
  upstreamClosed: false,
  closed: false,
  user: null,
  commandsWithoutTransfer: 0,
  draining: false,
  deferredAbort: null,
});

/** A new session on an explicit FTPS port: plain text until AUTH TLS. */
export const initialExplicitControlState: ControlState = Object.freeze<ControlState>({ ...initialControlState, channel: 'plain' });

export function initialControlStateFor(tlsMode: 'implicit' | 'explicit'): ControlState {
  return tlsMode === 'explicit' ? initialExplicitControlState : initialControlState;
}
