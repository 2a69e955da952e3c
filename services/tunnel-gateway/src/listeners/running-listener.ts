import type { Listener } from '@st/contracts';

/** A listener that runs; `spec` is replaced in place when only its upstream target changes. */
export interface RunningListener {
  spec: Listener;
  close(drainMs: number): Promise<void>;
  openConnections(): number;
  /** HTTPS: upstream web connections kept for the next client. */
  idleUpstreamConnections?(): number;
}
