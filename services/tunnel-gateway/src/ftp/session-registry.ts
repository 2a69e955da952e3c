import type { DataLink } from './data-link.js';
import type { LinkReport, RemoteLink } from './link-reports.js';
import type { PassiveLease } from './passive-ports.js';

/** What a data listener (or another process's report) needs from the control session a lease belongs to. */
export interface DataLinkOwner {
  readonly id: string;
  attachDataLink(link: DataLink, lease: PassiveLease): void;
  /** True when the link is new to the session (it now waits on it). */
  attachRemoteLink(link: RemoteLink): boolean;
  remoteLinkReport(report: Extract<LinkReport, { type: 'upstream-complete' | 'done' }>): void;
  /** The gateway is stopping: end once idle. */
  shutdown(): void;
}

/** Control sessions of this replica, by session id, so a claimed lease finds its session. */
export class SessionRegistry {
  private readonly sessions = new Map<string, DataLinkOwner>();

  add(session: DataLinkOwner): void {
    this.sessions.set(session.id, session);
  }

  remove(session: DataLinkOwner): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  get(id: string): DataLinkOwner | undefined {
    return this.sessions.get(id);
  }

  /** Every session of this process (a snapshot: sessions may end while it is walked). */
  all(): DataLinkOwner[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}
