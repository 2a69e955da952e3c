import type { GatewayHealthState, GatewayReplicaReport, GatewayStatusEvent, GatewayVersionOutcome } from '@st/contracts';

/** A report older than this many of its replica's heartbeats is stale: the replica may be gone or cut off. */
export const staleAfterHeartbeats = 3;
/** Reports of replicas not heard of for this long are forgotten. */
export const forgetAfterMs = 24 * 60 * 60 * 1000;

/** One replica as config-service last heard of it (the contract of GET /gateways). */
export type ReplicaView = GatewayReplicaReport;

export type VersionState = 'applied' | 'failed' | 'pending';

/** Whether a replica serves a settings version: applied (it or a newer one), failed (refused, with the reason), or not yet. */
export function versionState(view: Pick<ReplicaView, 'portMapVersion' | 'failed'>, version: number): VersionState {
  if (view.portMapVersion !== null && view.portMapVersion >= version) return 'applied';
  if (view.failed && view.failed.version >= version) return 'failed';
  return 'pending';
}

export type VersionOutcome = GatewayVersionOutcome;

/** What the replicas that count (heard of recently, not offline) did with a version; pure. */
export function versionOutcome(views: readonly ReplicaView[], version: number): VersionOutcome {
  const outcome: VersionOutcome = { version, applied: [], failed: [], pending: [] };
  for (const view of views) {
    if (view.status === 'offline') continue;
    const base = { replica: view.replica, portMapVersion: view.portMapVersion, lastReportAt: view.lastReportAt };
    const state = versionState(view, version);
    if (state === 'applied' && !view.stale) outcome.applied.push(base);
    else if (state === 'failed' && !view.stale) outcome.failed.push({ ...base, reason: view.failed!.reason });
    else outcome.pending.push({ ...base, stale: view.stale });
  }
  return outcome;
}

/** True when every replica that counts has answered for the version (stale ones are not waited for). */
export function everyoneAnswered(outcome: VersionOutcome): boolean {
  return outcome.pending.every((entry) => entry.stale);
}

/** Operator sentences for the replicas that did not apply a version, for a change's warnings. */
export function outcomeWarnings(outcome: VersionOutcome): string[] {
  return [
    ...outcome.failed.map((entry) => `gateway ${entry.replica} could not apply version ${outcome.version}: ${entry.reason}; it keeps serving version ${entry.portMapVersion ?? 'none'}`),
    ...outcome.pending.map((entry) =>
      entry.stale
        ? `gateway ${entry.replica} has not reported since ${entry.lastReportAt}; it may be down or cut off from RabbitMQ`
        : `gateway ${entry.replica} has not reported version ${outcome.version} yet (it serves version ${entry.portMapVersion ?? 'none'})`,
    ),
  ];
}

/**
 * The latest report of every gateway replica, kept in memory (replicas report
 * again on every reconnection and heartbeat, so a restart of config-service
 * loses nothing for long). Waiters learn of each new report at once.
 */
export class GatewayReports {
  private readonly latest = new Map<string, { event: GatewayStatusEvent; receivedAt: number }>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  record(event: GatewayStatusEvent): void {
    const known = this.latest.get(event.replica);
    // A report overtaken by a newer one of the same replica (reordered on the way) changes nothing.
    if (known && known.event.pid === event.pid && Date.parse(known.event.sentAt) > Date.parse(event.sentAt)) return;
    this.latest.set(event.replica, { event, receivedAt: this.now() });
    for (const listener of [...this.listeners]) listener();
  }

  list(): ReplicaView[] {
    const now = this.now();
    const views: ReplicaView[] = [];
    for (const [replica, { event, receivedAt }] of this.latest) {
      if (now - receivedAt > forgetAfterMs) {
        this.latest.delete(replica);
        continue;
      }
      views.push({
        replica,
        pid: event.pid,
        status: event.status,
        reasons: event.reasons,
        portMapVersion: event.portMap.applied,
        tunnelEnabled: event.portMap.tunnelEnabled,
        failed: event.portMap.failed,
        certificate: event.certificate,
        startedAt: event.startedAt,
        lastReportAt: new Date(receivedAt).toISOString(),
        stale: now - receivedAt > staleAfterHeartbeats * event.heartbeatMs,
      });
    }
    return views.sort((a, b) => a.replica.localeCompare(b.replica));
  }

  outcome(version: number): VersionOutcome {
    return versionOutcome(this.list(), version);
  }

  /** Resolves when every replica that counts answered for the version, or after timeoutMs with whatever is known then. */
  waitFor(version: number, timeoutMs: number): Promise<VersionOutcome> {
    return new Promise((resolve) => {
      const check = () => {
        const outcome = this.outcome(version);
        if (!everyoneAnswered(outcome)) return false;
        finish(outcome);
        return true;
      };
      const finish = (outcome: VersionOutcome) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(outcome);
      };
      const listener = () => void check();
      const timer = setTimeout(() => finish(this.outcome(version)), timeoutMs);
      this.listeners.add(listener);
      check();
    });
  }
}
