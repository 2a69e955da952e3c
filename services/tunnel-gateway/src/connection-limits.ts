import type { Limits, ListenerProtocol } from '@st/contracts';

export type ConnectionSlot = { ok: true; release: () => void } | { ok: false; refusal: ConnectionRefusal };

export interface ConnectionRefusal {
  reason: 'per-client' | 'per-listener';
  /** The limit that was reached, and the setting that sets it. */
  limit: number;
  setting: 'limits.maxConnectionsPerClient' | 'limits.maxConnectionsPerListener';
  /** Refusals of this reason since the last one that was logged, this one included. */
  refusedSinceLastRecord: number;
  /** Whether this refusal gets a log record (at most one per reason and second: a flood must not flood the logs). */
  log: boolean;
}

/**
 * Open connections of this gateway process, per client address and per kind
 * of listener, against the limits of the port map. Counted at accept, before
 * any TLS work: a refused connection costs a close, never a handshake. Pure
 * bookkeeping; the listener closes what it refuses.
 */
export class ConnectionLimits {
  private readonly perClient = new Map<string, number>();
  private readonly perKind = new Map<ListenerProtocol, number>();
  private readonly refusals = new Map<ConnectionRefusal['reason'], { count: number; loggedAt: number }>();

  constructor(
    private readonly limits: () => Pick<Limits, 'maxConnectionsPerClient' | 'maxConnectionsPerListener'>,
    private readonly now: () => number = Date.now,
  ) {}

  open(address: string, kind: ListenerProtocol): ConnectionSlot {
    const limits = this.limits();
    const fromClient = this.perClient.get(address) ?? 0;
    const onKind = this.perKind.get(kind) ?? 0;
    if (fromClient >= limits.maxConnectionsPerClient) return { ok: false, refusal: this.refuse('per-client', limits.maxConnectionsPerClient) };
    if (onKind >= limits.maxConnectionsPerListener) return { ok: false, refusal: this.refuse('per-listener', limits.maxConnectionsPerListener) };
    this.perClient.set(address, fromClient + 1);
    this.perKind.set(kind, onKind + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.perClient.get(address) ?? 1) - 1;
        if (left > 0) this.perClient.set(address, left);
        else this.perClient.delete(address);
        this.perKind.set(kind, Math.max(0, (this.perKind.get(kind) ?? 1) - 1));
      },
    };
  }

  /** Open connections from one address (for health and tests). */
  fromClient(address: string): number {
    return this.perClient.get(address) ?? 0;
  }

  private refuse(reason: ConnectionRefusal['reason'], limit: number): ConnectionRefusal {
    const now = this.now();
    const seen = this.refusals.get(reason) ?? { count: 0, loggedAt: -Infinity };
    seen.count++;
    const log = now - seen.loggedAt >= 1000;
    const refusal: ConnectionRefusal = {
      reason,
      limit,
      setting: reason === 'per-client' ? 'limits.maxConnectionsPerClient' : 'limits.maxConnectionsPerListener',
      refusedSinceLastRecord: seen.count,
      log,
    };
    if (log) {
      seen.count = 0;
      seen.loggedAt = now;
    }
    this.refusals.set(reason, seen);
    return refusal;
  }
}
