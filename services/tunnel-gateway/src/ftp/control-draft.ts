import type { FtpCommand, FtpReply, ProtectionState } from '@st/ftp-protocol';
import { ftpReplyOf, type Failure } from '../errors.js';
import type { Awaiting, ClientInput, ControlChannel, ControlEffect, ControlEnv, ControlState, LinkState, Passive, Transfer, Wait } from './control-state.js';

/**
 * A working copy of the control session's state for one step (control-machine.ts):
 * mutated by the rules, then frozen into the next state; what every rule
 * shares — the state, the effects going out, waiting and resuming.
 */
export abstract class DraftBase {
  readonly effects: ControlEffect[] = [];
  protected queue: ClientInput[];
  protected awaiting: Awaiting[];
  protected wait: Wait | null;
  protected backlog: FtpReply[];
  protected protection: ProtectionState;
  protected passive: Passive;
  protected transfer: Transfer | null;
  protected links: Map<string, LinkState>;
  protected upstreamClosed: boolean;
  protected closed: boolean;
  protected user: string | null;
  protected channel: ControlChannel;
  protected commandsWithoutTransfer: number;
  protected draining: boolean;
  protected deferredAbort: ControlState['deferredAbort'];

  constructor(
    protected readonly state: ControlState,
    protected readonly env: ControlEnv,
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

  /** Takes the next queued commands while nothing waits (control-machine.ts). */
  protected abstract processQueue(): void;
  /** One final or preliminary reply from the upstream, in order. */
  protected abstract dispatchReply(reply: FtpReply): void;
  /** The one end of the session. */
  protected abstract close(reason: string): void;

  protected forward(command: FtpCommand, awaiting: Awaiting): void {
    this.awaiting.push(awaiting);
    this.effects.push({ type: 'send-upstream', data: command.raw });
  }

  protected resume(): void {
    this.wait = null;
    this.processQueue();
    while (!this.closed && !this.wait && this.backlog.length > 0) this.dispatchReply(this.backlog.shift()!);
    this.closeIfUpstreamGone();
  }

  /** Every reply the upstream sent before closing (QUIT's 221, a held 226) reaches the client first. */
  protected closeIfUpstreamGone(): void {
    if (this.upstreamClosed && !this.closed && !this.wait && this.backlog.length === 0) this.close('upstream closed the control connection');
  }

  protected abortLink(linkId: string, cause: Failure): void {
    this.effects.push({ type: 'abort-link', linkId, cause });
  }

  // --- output --------------------------------------------------------------

  protected send(data: string | Buffer): void {
    if (!this.closed) this.effects.push({ type: 'send-client', data });
  }

  protected sendFailure(cause: Failure): void {
    this.send(ftpReplyOf(cause));
  }

  protected log(level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, message: string): void {
    this.effects.push({ type: 'log', level, fields, message });
  }
}
