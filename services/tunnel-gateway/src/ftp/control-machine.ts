import {
  classifyCommand,
  dataConnectionAllowed,
  formatCommandForLog,
  formatEpsvReply,
  formatPasvReply,
  handlePbsz,
  handleProt,
  isPositiveCompletion,
  isPreliminary,
  parseEpsvReply,
  parsePasvReply,
  rewriteFeatReply,
  type FtpCommand,
  type FtpReply,
  type ProtectionState,
} from '@st/ftp-protocol';
import { failure, ftpReplyOf, logReasonOf, messageOf, type Failure } from '../errors.js';
import { authTlsAccepted, commandBeforeTls } from './explicit-tls.js';
import { loginOutcome } from './login-outcome.js';
import type { Awaiting, ClientInput, ControlChannel, ControlEffect, ControlEnv, ControlEvent, ControlState, LinkResult, LinkState, Passive, Transfer, Wait } from './control-state.js';

export {
  initialControlState,
  initialControlStateFor,
  type ClientInput,
  type ControlEffect,
  type ControlEnv,
  type ControlEvent,
  type ControlState,
  type LinkResult,
} from './control-state.js';


/**
 * The FTP control session as a pure state machine: `step(state, event, env)`
 * returns the next state and the effects the socket wrapper
 * (FtpControlSession) applies. No I/O, no timers, no objects with a life of
 * their own: a data link is known by its id, and what happens to it arrives as
 * events. So a data link on another process (or replica) is only another
 * source of the same events, and an explicit-FTPS plain phase only another
 * value of `channel` with its AUTH TLS rule.
 *
 * Explicit FTPS (RFC 4217): before TLS only AUTH, FEAT, NOOP and QUIT are
 * taken; AUTH TLS is answered 234 here, anything the client pipelined behind
 * it is dropped (bytes sent in clear text must not count as protected: the
 * STARTTLS injection attack), and nothing moves until the handshake is done.
 *
 * The rules, each from the protocol:
 * - Commands are taken one at a time: the next waits for the final reply to
 *   the previous (RFC 959 §5.4 allows no pipelining guarantee), so replies the
 *   gateway writes itself never overtake the upstream's. 1xx replies are
 *   preliminary and pass at once.
 * - ABOR is the exception (RFC 959 §4.1.3): it goes upstream at once while a
 *   transfer runs. The upstream would notice it during a transfer only through
 *   TCP urgent data, which cannot cross TLS; the data link is cut instead,
 *   which makes the upstream end the transfer. A transfer the upstream already
 *   finished completes normally (226, then ABOR's 225).
 * - A transfer's final reply waits until its data link is done, so the client
 *   never reads "complete" before the last byte (RFC 959 §3.2: the reply
 *   follows the data). A failed link turns the upstream's 2xx (or its own
 *   425/426, which only saw the reset) into a 426 with the reason we know.
 * - A rewritten 227/229 is built only from our public address and a leased
 *   public port (bounce protection); PBSZ and PROT are answered here (RFC 4217
 *   §9, data-protection.ts).
 * - Replies are handled strictly in order: while one waits (for a lease, for
 *   a data link), those behind it wait too, and so does the upstream's close.
 */


export function step(state: ControlState, event: ControlEvent, env: ControlEnv): { state: ControlState; effects: ControlEffect[] } {
  const draft = new Draft(state, env);
  draft.handle(event);
  return { state: draft.result(), effects: draft.effects };
}

/** A working copy of the state for one step; mutated, then frozen into the next state. */
class Draft {
  readonly effects: ControlEffect[] = [];
  private queue: ClientInput[];
  private awaiting: Awaiting[];
  private wait: Wait | null;
  private backlog: FtpReply[];
  private protection: ProtectionState;
  private passive: Passive;
  private transfer: Transfer | null;
  private links: Map<string, LinkState>;
  private upstreamClosed: boolean;
  private closed: boolean;
  private user: string | null;
  private channel: ControlChannel;
  private commandsWithoutTransfer: number;
  private draining: boolean;
  private deferredAbort: ControlState['deferredAbort'];

  constructor(
    private readonly state: ControlState,
    private readonly env: ControlEnv,
  ) {
    this.queue = [...state.queue];
    this.awaiting = [...state.awaiting];
    this.wait = state.wait;
    this.backlog = [...state.backlog];
    this.protection = state.protection;
    this.passive = state.passive;
    this.transfer = state.transfer ? { ...state.transfer } : null;
    this.links = new Map([...state.links].map(([id, link]) => [id, { ...link }]));
    this.upstreamClosed = state.upstreamClosed;
    this.closed = state.closed;
    this.user = state.user;
    this.channel = state.channel;
    this.commandsWithoutTransfer = state.commandsWithoutTransfer;
    this.draining = state.draining;
    this.deferredAbort = state.deferredAbort;
  }

  result(): ControlState {
    return {
      channel: this.channel,
      commandsWithoutTransfer: this.commandsWithoutTransfer,
      draining: this.draining,
      deferredAbort: this.deferredAbort,
      queue: this.queue,
      awaiting: this.awaiting,
      wait: this.wait,
      backlog: this.backlog,
      protection: this.protection,
      passive: this.passive,
      transfer: this.transfer,
      links: this.links,
      upstreamClosed: this.upstreamClosed,
      closed: this.closed,
      user: this.user,
    };
  }

  handle(event: ControlEvent): void {
    this.handleEvent(event);
    if (this.draining) this.closeIfIdle();
  }

  private handleEvent(event: ControlEvent): void {
    switch (event.type) {
      case 'shutdown':
        this.draining = true;
        return;
      case 'client-input':
        return this.clientInput(event.inputs);
      case 'upstream-reply':
        if (this.closed) return;
        if (this.wait) this.backlog.push(event.reply);
        else this.dispatchReply(event.reply);
        return this.closeIfUpstreamGone();
      case 'upstream-reply-invalid':
        if (this.closed) return;
        this.log('warn', { reason: event.reason }, logReasonOf(failure('UPSTREAM_BAD_REPLY', { reason: event.reason })));
        this.sendFailure(failure('UPSTREAM_BAD_REPLY', { reason: event.reason }));
        return this.close('invalid upstream reply');
      case 'upstream-failed':
        if (this.closed) return;
        this.log('warn', { reason: event.reason }, logReasonOf(failure('UPSTREAM_UNREACHABLE', { reason: event.reason })));
        // The close that follows ends the session.
        return this.sendFailure(failure('UPSTREAM_UNREACHABLE', { reason: event.reason }));
      case 'upstream-closed':
        this.upstreamClosed = true;
        return this.closeIfUpstreamGone();
      case 'client-closed':
        return this.close('client closed the control connection');
      case 'idle-timeout':
        return this.idle(event.idleMs);
      case 'lease-acquired':
        return this.leaseAcquired(event.publicPort);
      case 'lease-refused':
        return this.leaseRefused(event.failure);
      case 'data-link-claimed':
        return this.linkClaimed(event.linkId, event.publicPort);
      case 'lease-unclaimed':
        return this.leaseUnclaimed(event.publicPort);
      case 'data-link-upstream-complete': {
        const link = this.links.get(event.linkId);
        if (link) link.upstreamComplete = true;
        return;
      }
      case 'data-link-done':
        return this.linkDone(event.linkId, event.result);
      case 'tls-established':
        return this.tlsEstablished();
      case 'tls-failed':
        return this.close(`TLS handshake after AUTH TLS failed: ${event.reason}`);
      case 'login-allowed':
        return this.loginAllowed();
      case 'login-refused':
        return this.loginRefused(event.failure);
    }
  }

  // --- client side ---------------------------------------------------------

  private clientInput(inputs: readonly ClientInput[]): void {
    if (this.closed) return;
    if (this.wait?.kind === 'tls') {
      // Clear text that arrived after AUTH TLS: never taken as if it were protected.
      this.log('warn', { dropped: inputs.length }, 'commands sent in clear text after AUTH TLS were dropped');
      return;
    }
    for (const input of inputs) {
      // ABOR must reach the upstream while the transfer it aborts is still running.
      if ('command' in input && this.transfer && classifyCommand(input.command.verb) === 'abort') this.abortTransfer(input.command);
      else this.queue.push(input);
    }
    this.processQueue();
  }

  private processQueue(): void {
    // A stopping gateway starts nothing new: the session ends instead (closeIfIdle).
    while (!this.closed && !this.draining && this.awaiting.length === 0 && this.wait === null && this.queue.length > 0) {
      const next = this.queue.shift()!;
      if ('tooLong' in next) this.sendFailure(failure('COMMAND_TOO_LONG', { limit: next.tooLong }));
      else this.handleCommand(next.command);
    }
  }

  private handleCommand(command: FtpCommand): void {
    this.log('debug', { command: formatCommandForLog(command) }, 'command');
    // Counted for every command; only a transfer that goes upstream starts the count again (a refused
    // one costs us as much as any other command).
    this.commandsWithoutTransfer += 1;
    if (this.commandsWithoutTransfer > this.env.maxCommandsWithoutTransfer) {
      const cause = failure('TOO_MANY_COMMANDS', { limit: this.env.maxCommandsWithoutTransfer });
      this.log('warn', { limit: this.env.maxCommandsWithoutTransfer, user: this.user, client: this.env.client.address }, logReasonOf(cause));
      this.sendFailure(cause);
      return this.close('too many commands without a transfer');
    }
    if (this.channel === 'plain') return this.commandBeforeTls(command);
    switch (classifyCommand(command.verb)) {
      case 'tls':
        return this.securityCommand(command);
      case 'active':
        return this.sendFailure(failure('ACTIVE_MODE_UNAVAILABLE', { verb: command.verb }));
      case 'passive':
        // A new PASV abandons the previous data connection (RFC 959: one per transfer).
        this.dropPassive(failure('DATA_REPLACED'));
        return this.forward(command, { kind: 'passive', verb: command.verb === 'PASV' ? 'PASV' : 'EPSV' });
      case 'download':
      case 'upload':
        if (!dataConnectionAllowed(this.protection, this.env.policy)) return this.sendFailure(failure('DATA_PROTECTION_REQUIRED'));
        this.transfer = { command, abortRequested: false, linkId: null };
        this.commandsWithoutTransfer = 0;
        return this.forward(command, { kind: 'transfer', command });
      case 'feat':
        return this.forward(command, { kind: 'feat' });
      default:
        if (command.verb === 'USER') {
          this.user = command.argument;
          this.log('info', { user: this.user }, 'FTP login attempt');
        }
        if (command.verb === 'PASS') return this.checkLogin(command);
        return this.forward(command, { kind: 'relay', verb: command.verb });
    }
  }

  /** An explicit FTPS port before AUTH TLS (explicit-tls.ts has the rules). */
  private commandBeforeTls(command: FtpCommand): void {
    const decision = commandBeforeTls(command.verb, command.argument);
    switch (decision.kind) {
      case 'start-tls':
        return this.startTls();
      case 'relay':
        return this.forward(command, decision.verb === 'FEAT' ? { kind: 'feat' } : { kind: 'relay', verb: decision.verb });
      case 'refuse-mechanism':
        return this.sendFailure(failure('AUTH_MECHANISM_UNSUPPORTED', { mechanism: decision.mechanism }));
      case 'refuse-login': {
        if (decision.verb === 'USER') this.user = command.argument;
        const cause = failure('LOGIN_NEEDS_TLS', { verb: decision.verb });
        // Who tried to log in without TLS, from where (never the password).
        this.log('warn', { user: this.user, client: this.env.client.address, verb: decision.verb }, logReasonOf(cause));
        return this.sendFailure(cause);
      }
      case 'refuse':
        return this.sendFailure(failure('TLS_REQUIRED_FIRST', { verb: decision.verb }));
    }
  }

  private startTls(): void {
    this.send(authTlsAccepted);
    if (this.queue.length > 0) this.log('warn', { dropped: this.queue.length }, 'commands sent in clear text after AUTH TLS were dropped');
    this.queue = [];
    this.wait = { kind: 'tls' };
    this.effects.push({ type: 'start-tls' });
  }

  private tlsEstablished(): void {
    if (this.closed || this.wait?.kind !== 'tls') return;
    this.channel = 'explicit-tls';
    this.resume();
  }

  /**
   * A password goes upstream only once the login defender agreed: an address
   * banned by another session (or replica) gets no further guess in, not even
   * on a connection it opened before the ban.
   */
  private checkLogin(command: FtpCommand): void {
    this.wait = { kind: 'login-check', command };
    this.effects.push({ type: 'check-login' });
  }

  private loginAllowed(): void {
    const wait = this.wait;
    if (this.closed || wait?.kind !== 'login-check') return;
    this.forward(wait.command, { kind: 'relay', verb: wait.command.verb });
    this.resume();
  }

  /** Banned: before a password (the check), or by this session's own failure. The 421 ends the session. */
  private loginRefused(cause: Failure): void {
    if (this.closed) return;
    this.log('warn', { user: this.user, client: this.env.client.address, reason: messageOf(cause) }, logReasonOf(cause));
    this.sendFailure(cause);
    this.close('client address banned after failed logins');
  }

  /** RFC 2228 / RFC 4217 commands: answered here, never relayed. */
  private securityCommand(command: FtpCommand): void {
    switch (command.verb) {
      case 'PBSZ': {
        const result = handlePbsz(this.protection, command.argument);
        this.protection = result.state;
        return this.send(result.reply);
      }
      case 'PROT': {
        const result = handleProt(this.protection, command.argument, this.env.policy);
        this.protection = result.state;
        return this.send(result.reply);
      }
      case 'AUTH':
        // Before TLS, AUTH is taken by commandBeforeTls; here the connection is already protected.
        return this.sendFailure(failure(this.channel === 'implicit-tls' ? 'AUTH_NOT_NEEDED' : 'AUTH_ALREADY_DONE'));
      case 'CCC':
        return this.sendFailure(failure('CCC_REFUSED'));
      default:
        return this.sendFailure(failure('SECURITY_MECHANISM_UNSUPPORTED', { verb: command.verb }));
    }
  }

  private abortTransfer(command: FtpCommand): void {
    const transfer = this.transfer!;
    transfer.abortRequested = true;
    const linkId = transfer.linkId ?? (this.passive.kind === 'linked' ? this.passive.linkId : null);
    const link = linkId ? this.links.get(linkId) : undefined;
    this.log('debug', { link: linkId, upstreamComplete: link?.upstreamComplete ?? null, done: link ? link.result !== null : null }, 'ABOR during a transfer');
    // A transfer the upstream already finished completes normally (226, then ABOR's 225), as it would without us.
    if (this.deferredAbort && this.deferredAbort.linkId === linkId) {
      // Another ABOR while the first waits: each gets its reply, in order.
      this.deferredAbort = { linkId, commands: [...this.deferredAbort.commands, command] };
      return;
    }
    if (linkId && link && !link.upstreamComplete && !link.result) {
      this.abortLink(linkId, failure('DATA_ABORTED_BY_CLIENT'));
      // The file server hears of ABOR once the link is cut (see deferredAbort).
      this.deferredAbort = { linkId, commands: [command] };
      return;
    }
    this.forward(command, { kind: 'relay', verb: command.verb });
  }

  private idle(idleMs: number): void {
    if (this.closed) return;
    // Not idle while a transfer runs: the control connection is quiet by design then.
    if (this.transfer) return;
    if (this.passive.kind === 'linked' && !this.links.get(this.passive.linkId)?.result) return;
    const cause = failure('CONTROL_IDLE', { idleMs });
    this.log('info', { idleMs }, logReasonOf(cause));
    this.sendFailure(cause);
    this.close('idle timeout');
  }

  // --- upstream replies ----------------------------------------------------

  private forward(command: FtpCommand, awaiting: Awaiting): void {
    this.awaiting.push(awaiting);
    this.effects.push({ type: 'send-upstream', data: command.raw });
  }

  private dispatchReply(reply: FtpReply): void {
    const awaiting = this.awaiting[0];
    if (!awaiting || isPreliminary(reply.code)) return this.send(reply.raw);
    this.awaiting.shift();
    this.finalReply(awaiting, reply);
    if (!this.wait) this.processQueue();
  }

  private finalReply(awaiting: Awaiting, reply: FtpReply): void {
    switch (awaiting.kind) {
      case 'greeting':
        return this.send(reply.raw);
      case 'relay':
        this.logLoginOutcome(awaiting.verb, reply.code);
        return this.send(reply.raw);
      case 'feat':
        return this.send(rewriteFeatReply(reply.code === 211 ? reply : null, { authTls: this.channel !== 'implicit-tls' }));
      case 'passive':
        return this.passiveReply(awaiting.verb, reply);
      case 'transfer':
        return this.transferReply(awaiting.command, reply);
    }
  }

  /** Who logged in, or failed to, from where: what an operator (or fail2ban) needs to see guessing. Never the password. */
  private logLoginOutcome(verb: string, code: number): void {
    const outcome = loginOutcome(verb, code);
    if (!outcome) return;
    const fields = { user: this.user, client: this.env.client.address, clientPort: this.env.client.port, outcome, reply: code };
    if (outcome === 'succeeded') return this.log('info', fields, 'FTP login succeeded');
    this.log('warn', fields, 'FTP login failed');
    this.effects.push({ type: 'login-failed', user: this.user });
  }

  private passiveReply(verb: 'PASV' | 'EPSV', reply: FtpReply): void {
    if (reply.code !== 227 && reply.code !== 229) return this.send(reply.raw);
    let upstreamPort: number;
    try {
      upstreamPort = reply.code === 227 ? parsePasvReply(reply.text).port : parseEpsvReply(reply.text).port;
    } catch (error) {
      const cause = failure('UPSTREAM_BAD_PASSIVE_REPLY', { reason: (error as Error).message });
      this.log('warn', { reason: (error as Error).message }, logReasonOf(cause));
      return this.sendFailure(cause);
    }
    const address = verb === 'PASV' ? this.env.pasvAddress() : null;
    if (verb === 'PASV' && address === null) return this.sendFailure(failure('PASV_NOT_IPV4'));
    this.wait = { kind: 'lease', verb, address, upstreamPort };
    this.effects.push({ type: 'acquire-lease', upstreamPort, protectionLevel: this.protection.level });
  }

  private transferReply(command: FtpCommand, reply: FtpReply): void {
    const passive = this.passive;
    if (passive.kind === 'leased') {
      // No data connection known: one may have been claimed in another process, its report still on the way.
      this.wait = { kind: 'claim-check', publicPort: passive.publicPort, reply, command };
      this.effects.push({ type: 'settle-lease', publicPort: passive.publicPort });
      return;
    }
    this.passive = { kind: 'none' };
    if (passive.kind !== 'linked') {
      this.transfer = null;
      return this.send(reply.raw);
    }
    if (this.transfer) this.transfer.linkId = passive.linkId;
    const result = this.links.get(passive.linkId)?.result;
    if (result) this.finishTransfer(passive.linkId, command, reply, result);
    // The completion reply must not reach the client before the data connection delivered every byte.
    else this.wait = { kind: 'link', linkId: passive.linkId, reply, command };
  }

  /** The client never connected to the lease (the settle step released it): the reply goes as it came. */
  private leaseUnclaimed(publicPort: number): void {
    const wait = this.wait;
    if (this.closed || wait?.kind !== 'claim-check' || wait.publicPort !== publicPort) return;
    this.passive = { kind: 'none' };
    this.transfer = null;
    this.send(wait.reply.raw);
    this.resume();
  }

  private finishTransfer(linkId: string, command: FtpCommand, reply: FtpReply, result: LinkResult): void {
    this.log(
      'info',
      {
        command: command.verb,
        path: command.argument,
        direction: classifyCommand(command.verb),
        bytesToClient: result.bytesToClient,
        bytesToUpstream: result.bytesToUpstream,
        durationMs: result.durationMs,
        reply: reply.code,
        ok: result.ok,
      },
      'transfer finished',
    );
    this.transfer = null;
    this.links.delete(linkId);
    // A failed data connection overrides "complete" and the upstream's own data-connection
    // failure (425/426: it only saw the reset) with the reason the gateway knows.
    if (!result.ok && (isPositiveCompletion(reply.code) || reply.code === 425 || reply.code === 426)) {
      return this.sendFailure(failure('TRANSFER_ABORTED', { reason: result.reason }));
    }
    this.send(reply.raw);
  }

  /** The wait is over: the replies behind it are handled, then the queue. */
  private resume(): void {
    this.wait = null;
    this.processQueue();
    while (!this.closed && !this.wait && this.backlog.length > 0) this.dispatchReply(this.backlog.shift()!);
    this.closeIfUpstreamGone();
  }

  /** Every reply the upstream sent before closing (QUIT's 221, a held 226) reaches the client first. */
  private closeIfUpstreamGone(): void {
    if (this.upstreamClosed && !this.closed && !this.wait && this.backlog.length === 0) this.close('upstream closed the control connection');
  }

  // --- leases and data links -----------------------------------------------

  private leaseAcquired(publicPort: number): void {
    const wait = this.wait;
    if (this.closed || wait?.kind !== 'lease') {
      this.effects.push({ type: 'release-lease', publicPort });
      return;
    }
    this.passive = { kind: 'leased', publicPort };
    this.log('debug', { publicPort, upstreamPort: wait.upstreamPort }, 'passive port leased');
    this.send(wait.verb === 'PASV' ? formatPasvReply(wait.address!, publicPort) : formatEpsvReply(publicPort));
    this.resume();
  }

  private leaseRefused(cause: Failure): void {
    const wait = this.wait;
    if (this.closed || wait?.kind !== 'lease') return;
    const detail = (cause.details as { reason?: unknown } | undefined)?.reason;
    this.log('warn', { error: cause.code, reason: messageOf(cause), ...(typeof detail === 'string' ? { detail } : {}), upstreamPort: wait.upstreamPort }, logReasonOf(cause));
    this.sendFailure(cause);
    this.resume();
  }

  private linkClaimed(linkId: string, publicPort: number): void {
    // Reported twice (its report and the settle step): the link is known already, in use or finished.
    if (this.links.has(linkId) || this.transfer?.linkId === linkId || (this.passive.kind === 'linked' && this.passive.linkId === linkId)) return;
    if (this.closed || this.passive.kind !== 'leased' || this.passive.publicPort !== publicPort) {
      this.abortLink(linkId, failure('DATA_NOT_EXPECTED'));
      return;
    }
    this.passive = { kind: 'linked', linkId };
    this.links.set(linkId, { upstreamComplete: false, result: null });
    if (this.transfer?.abortRequested) this.abortLink(linkId, failure('DATA_ABORTED_BY_CLIENT'));
    const wait = this.wait;
    if (wait?.kind === 'claim-check' && wait.publicPort === publicPort) {
      // The transfer's reply was held for this: it now waits for the data connection's end.
      this.wait = null;
      this.transferReply(wait.command, wait.reply);
      if (!this.wait) this.resume();
    }
  }

  private linkDone(linkId: string, result: LinkResult): void {
    if (this.deferredAbort?.linkId === linkId && !this.closed) {
      const { commands } = this.deferredAbort;
      this.deferredAbort = null;
      for (const command of commands) this.forward(command, { kind: 'relay', verb: command.verb });
    }
    const link = this.links.get(linkId);
    if (!link) return;
    link.result = result;
    this.log('info', { link: linkId, ...result }, result.ok ? 'data connection finished' : 'data connection failed');
    const wait = this.wait;
    if (wait?.kind === 'link' && wait.linkId === linkId) {
      this.finishTransfer(linkId, wait.command, wait.reply, result);
      return this.resume();
    }
    const inUse = (this.passive.kind === 'linked' && this.passive.linkId === linkId) || this.transfer?.linkId === linkId;
    if (!inUse) this.links.delete(linkId);
  }

  private dropPassive(cause: Failure): void {
    const passive = this.passive;
    this.passive = { kind: 'none' };
    if (passive.kind === 'leased') this.effects.push({ type: 'release-lease', publicPort: passive.publicPort });
    if (passive.kind === 'linked' && !this.links.get(passive.linkId)?.result) this.abortLink(passive.linkId, cause);
  }

  private abortLink(linkId: string, cause: Failure): void {
    this.effects.push({ type: 'abort-link', linkId, cause });
  }

  // --- output --------------------------------------------------------------

  private send(data: string | Buffer): void {
    if (!this.closed) this.effects.push({ type: 'send-client', data });
  }

  private sendFailure(cause: Failure): void {
    this.send(ftpReplyOf(cause));
  }

  private log(level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, message: string): void {
    this.effects.push({ type: 'log', level, fields, message });
  }

  /**
   * Stopping gateway: a session ends once nothing is under way (no command
   * waiting for its reply, no transfer, no wait), so a running transfer
   * finishes and gets its 226 first. Commands queued behind are not started.
   */
  private closeIfIdle(): void {
    if (this.closed || this.awaiting.length > 0 || this.wait || this.transfer) return;
    this.sendFailure(failure('GATEWAY_STOPPING'));
    this.close('the gateway is stopping');
  }

  /** The one end: the passive port is given back, a data link not yet used is cut, both connections end. */
  private close(reason: string): void {
    if (this.closed) return;
    this.dropPassive(failure('DATA_SESSION_ENDED', { reason }));
    this.closed = true;
    this.effects.push({ type: 'close', reason });
  }
}
