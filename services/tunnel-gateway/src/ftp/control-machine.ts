import { classifyCommand, dataConnectionAllowed, formatCommandForLog, handlePbsz, handleProt, isPreliminary, rewriteFeatReply, type FtpCommand, type FtpReply } from '@st/ftp-protocol';
import { failure, logReasonOf, messageOf, type Failure } from '../errors.js';
import type { Awaiting, ClientInput, ControlEffect, ControlEnv, ControlEvent, ControlState } from './control-state.js';
import { TransferRules } from './control-transfers.js';
import { authTlsAccepted, commandBeforeTls } from './explicit-tls.js';
import { loginOutcome } from './login-outcome.js';

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

/** One step's rules for commands, replies, login and the session's end; passive mode and transfers in TransferRules. */
class Draft extends TransferRules {
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

  protected processQueue(): void {
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

  protected dispatchReply(reply: FtpReply): void {
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
  protected close(reason: string): void {
    if (this.closed) return;
    this.dropPassive(failure('DATA_SESSION_ENDED', { reason }));
    this.closed = true;
    this.effects.push({ type: 'close', reason });
  }
}
