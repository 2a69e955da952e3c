import { classifyCommand, formatEpsvReply, formatPasvReply, isPositiveCompletion, parseEpsvReply, parsePasvReply, type FtpCommand, type FtpReply } from '@st/ftp-protocol';
import { failure, logReasonOf, messageOf, type Failure } from '../errors.js';
import { DraftBase } from './control-draft.js';
import type { LinkResult } from './control-state.js';

/**
 * The control session's rules for passive mode and transfers: leasing the
 * public port, the data link claimed here or in another process, the final
 * reply held until the data connection is done (RFC 959 §3.2: the reply
 * follows the data), ABOR (RFC 959 §4.1.3) cutting the link first.
 */
export abstract class TransferRules extends DraftBase {
  protected abortTransfer(command: FtpCommand): void {
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

  protected passiveReply(verb: 'PASV' | 'EPSV', reply: FtpReply): void {
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

  protected transferReply(command: FtpCommand, reply: FtpReply): void {
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
  protected leaseUnclaimed(publicPort: number): void {
    const wait = this.wait;
    if (this.closed || wait?.kind !== 'claim-check' || wait.publicPort !== publicPort) return;
    this.passive = { kind: 'none' };
    this.transfer = null;
    this.send(wait.reply.raw);
    this.resume();
  }

  protected finishTransfer(linkId: string, command: FtpCommand, reply: FtpReply, result: LinkResult): void {
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

  // --- leases and data links -----------------------------------------------

  protected leaseAcquired(publicPort: number): void {
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

  protected leaseRefused(cause: Failure): void {
    const wait = this.wait;
    if (this.closed || wait?.kind !== 'lease') return;
    const detail = (cause.details as { reason?: unknown } | undefined)?.reason;
    this.log('warn', { error: cause.code, reason: messageOf(cause), ...(typeof detail === 'string' ? { detail } : {}), upstreamPort: wait.upstreamPort }, logReasonOf(cause));
    this.sendFailure(cause);
    this.resume();
  }

  protected linkClaimed(linkId: string, publicPort: number): void {
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

  protected linkDone(linkId: string, result: LinkResult): void {
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

  protected dropPassive(cause: Failure): void {
    const passive = this.passive;
    this.passive = { kind: 'none' };
    if (passive.kind === 'leased') this.effects.push({ type: 'release-lease', publicPort: passive.publicPort });
    if (passive.kind === 'linked' && !this.links.get(passive.linkId)?.result) this.abortLink(passive.linkId, cause);
  }
}
