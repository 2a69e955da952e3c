import type { GatewayStatus } from './health.js';

/** A worker as the primary sees it: its index, whether it runs, and its status unless it did not answer. */
export interface WorkerView {
  index: number;
  /** False between a worker's death and its replacement. */
  running: boolean;
  status: GatewayStatus | null;
}

export type CombinedStatus = GatewayStatus & { workers: Array<{ index: number; replica: string | null; pid: number | null; status: GatewayStatus['status'] | 'not-answering' | 'not-running' }> };

const rank: Record<GatewayStatus['status'], number> = { ready: 0, degraded: 1, stopped: 2, 'not-ready': 3, offline: 4 };

/**
 * One status for a gateway of several worker processes, as its health port
 * tells it: ready only when every worker is, the worst worker's state
 * otherwise (each reason names its worker); connections and sessions summed
 * per listener; the oldest port map version any worker runs (so "applied
 * version N" holds for all of them). Pure, for the primary process.
 */
export function combineWorkerStatuses(replica: string, pid: number, expected: number, views: readonly WorkerView[]): CombinedStatus {
  const answered = views.filter((view): view is WorkerView & { status: GatewayStatus } => view.status !== null);
  const reasons: string[] = [];
  for (const view of views) {
    if (!view.running) reasons.push(`worker ${view.index}: not running (being started again)`);
    else if (!view.status) reasons.push(`worker ${view.index}: not answering`);
    else for (const reason of view.status.reasons) reasons.push(`worker ${view.index}: ${reason}`);
  }
  const worst = answered.reduce<GatewayStatus['status']>((state, view) => (rank[view.status.status] > rank[state] ? view.status.status : state), 'ready');
  const complete = answered.length === expected;
  const status: GatewayStatus['status'] = complete ? worst : 'not-ready';
  const first = answered[0]?.status ?? null;
  const versions = answered.map((view) => view.status.portMapVersion);
  const certificates = new Set(answered.map((view) => view.status.certificate?.fingerprintSha256 ?? null));
  if (certificates.size > 1) reasons.push('worker processes serve different certificates (a change is being applied)');
  const listeners = new Map<string, GatewayStatus['listeners'][number]>();
  for (const view of answered) {
    for (const listener of view.status.listeners) {
      const known = listeners.get(listener.id);
      if (!known) listeners.set(listener.id, { ...listener });
      else {
        known.openConnections += listener.openConnections;
        if (listener.idleUpstreamConnections !== undefined) known.idleUpstreamConnections = (known.idleUpstreamConnections ?? 0) + listener.idleUpstreamConnections;
      }
    }
  }
  return {
    ready: complete && answered.every((view) => view.status.ready),
    status,
    reasons,
    replica,
    pid,
    portMapVersion: versions.includes(null) || versions.length === 0 ? null : Math.min(...(versions as number[])),
    tunnelEnabled: first?.tunnelEnabled ?? null,
    portMapFailure: answered.find((view) => view.status.portMapFailure)?.status.portMapFailure ?? null,
    certificate: first?.certificate ?? null,
    listeners: [...listeners.values()],
    listenerErrors: [...new Set(answered.flatMap((view) => view.status.listenerErrors))],
    controlSessions: answered.reduce((sum, view) => sum + view.status.controlSessions, 0),
    workers: views.map((view) => ({ index: view.index, replica: view.status?.replica ?? null, pid: view.status?.pid ?? null, status: view.status?.status ?? (view.running ? 'not-answering' : 'not-running') })),
  };
}
