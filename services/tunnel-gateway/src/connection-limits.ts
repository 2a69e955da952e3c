import type { Limits, ListenerProtocol } from '@st/contracts';

/** `overLimit`: over the per-listener limit, let in only to be told so (HTTPS answers 503); the refusal says whether to log it. */
export type ConnectionSlot = { ok: true; release: () => void; overLimit?: ConnectionRefusal } | { ok: false; refusal: ConnectionRefusal };

/**
 * Connections let in over a kind's total limit to be answered "busy" in
 * their own protocol (HTTP 503) instead of a bare close: a few, so that under
 * a real flood the rest still cost no more than a close.
 */
export function overLimitAllowance(limit: number): number {
  return Math.min(64, Math.ceil(limit / 100));
}

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
  private readonly overLimit = new Map<ListenerProtocol, number>();
  private readonly refusals = new Map<ConnectionRefusal['reason'], { count: number; loggedAt: number }>();

  constructor(
    private readonly limits: () => Pick<Limits, 'maxConnectionsPerClient' | 'maxConnectionsPerListener'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** `answerOverLimit`: the listener can tell a client over its kind's total limit so in its protocol (HTTPS). */
  open(address: string, kind: ListenerProtocol, answerOverLimit = false): ConnectionSlot {
    const limits = this.limits();
    const fromClient = this.perClient.get(address) ?? 0;
    const onKind = this.perKind.get(kind) ?? 0;
    if (fromClient >= limits.maxConnectionsPerClient) return { ok: false, refusal: this.refuse('per-client', limits.maxConnectionsPerClient) };
    if (onKind >= limits.maxConnectionsPerListener) {
      const refusal = this.refuse('per-listener', limits.maxConnectionsPerListener);
      const over = this.overLimit.get(kind) ?? 0;
      if (!answerOverLimit || over >= overLimitAllowance(limits.maxConnectionsPerListener)) return { ok: false, refusal };
      this.overLimit.set(kind, over + 1);
      let released = false;
      return {
        ok: true,
        overLimit: refusal,
        release: () => {
          if (released) return;
          released = true;
          this.overLimit.set(kind, Math.max(0, (this.overLimit.get(kind) ?? 1) - 1));
        },
      };
    }
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
