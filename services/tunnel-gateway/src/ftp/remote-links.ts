import type { Failure } from '../errors.js';
import type { LinkResult } from './control-state.js';
import type { LinkExchange } from './link-exchange.js';
import { initialWatchState, isAbortCause, judgeRemoteLink, type AbortCode, type RemoteLink, type WatchState } from './link-reports.js';

/** How often a control session looks at a data connection carried by another process. */
export const probeIntervalMs = 1000;
/** Links already ended, remembered so a late or repeated report does not bring one back. */
const endedRemembered = 32;

interface Watched {
  link: RemoteLink;
  state: WatchState;
  startedAt: number;
  timer: NodeJS.Timeout;
  probing: boolean;
  /** Asked to cut it: asked again at every probe until its end is known (a message can be lost). */
  abort: Failure<AbortCode> | null;
}

export interface RemoteLinkEvents {
  /** The data connection's end: reported, stored, or decided by the watchdog. */
  done(linkId: string, result: LinkResult): void;
  /** Whether the upstream's final reply (or an ABOR) waits for this link's end: only then is Redis asked, and a silent link failed. */
  replyHeld(linkId: string): boolean;
  /** The watchdog gave a link up: its carrier cannot release its lease any more. */
  abandoned(link: RemoteLink): void;
}

/**
 * One control session's data connections carried by other processes: which
 * process carries each, a watchdog per link (a report may be lost, its
 * carrier may die), and aborts sent to the carrier.
 */
export class RemoteLinks {
  private readonly watched = new Map<string, Watched>();
  private readonly ended: string[] = [];

  constructor(
    private readonly exchange: LinkExchange,
    private readonly activeKeyOf: (publicPort: number, linkId: string) => string,
    private readonly events: RemoteLinkEvents,
  ) {}

  /** Starts watching a link; false when it is known already or ended (a repeated report). */
  add(link: RemoteLink): boolean {
    if (this.watched.has(link.linkId) || this.ended.includes(link.linkId)) return false;
    const timer = setInterval(() => void this.probe(link.linkId), probeIntervalMs);
    timer.unref();
    this.watched.set(link.linkId, { link, state: initialWatchState, startedAt: Date.now(), timer, probing: false, abort: null });
    return true;
  }

  has(linkId: string): boolean {
    return this.watched.has(linkId);
  }

  /** The carrier reported the end. */
  reported(linkId: string, result: LinkResult): void {
    if (this.finish(linkId)) this.events.done(linkId, result);
  }

  /** Asks the carrier to cut the link; false when this session does not watch it. */
  abort(linkId: string, cause: Failure): boolean {
    const watched = this.watched.get(linkId);
    if (!watched) return false;
    if (isAbortCause(cause)) {
      watched.abort = cause;
      void this.exchange.send(watched.link.dataReplica, { type: 'abort', linkId, cause });
    }
    return true;
  }

  /** The session ended: no more watching (links it was still using run to their own end, as in one process). */
  closeAll(): void {
    for (const linkId of [...this.watched.keys()]) this.finish(linkId);
  }

  private async probe(linkId: string): Promise<void> {
    const watched = this.watched.get(linkId);
    if (!watched || watched.probing) return;
    // A transfer running as it should costs Redis nothing: its end is reported. Looking is for when something waits on it.
    const held = this.events.replyHeld(linkId);
    if (!held && !watched.abort) return;
    if (watched.abort) void this.exchange.send(watched.link.dataReplica, { type: 'abort', linkId, cause: watched.abort });
    watched.probing = true;
    const probe = await this.exchange.probe(watched.link, this.activeKeyOf(watched.link.publicPort, linkId));
    watched.probing = false;
    if (this.watched.get(linkId) !== watched) return;
    const decision = judgeRemoteLink(probe, watched.state, watched.link, held || watched.abort !== null, Date.now(), watched.startedAt);
    if (decision.kind === 'wait') {
      watched.state = decision.state;
      return;
    }
    if (probe.kind !== 'result') this.events.abandoned(watched.link);
    this.reported(linkId, decision.result);
  }

  private finish(linkId: string): boolean {
    const watched = this.watched.get(linkId);
    if (!watched) return false;
    clearInterval(watched.timer);
    this.watched.delete(linkId);
    this.exchange.forget(linkId);
    this.ended.push(linkId);
    if (this.ended.length > endedRemembered) this.ended.shift();
    return true;
  }
}
