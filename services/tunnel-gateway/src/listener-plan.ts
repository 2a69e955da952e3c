import type { Listener } from '@st/contracts';

/** Listeners are the same socket when protocol, TLS mode, address and ports agree; the upstream may differ. */
export function listenerKey(listener: Listener): string {
  return `${listener.protocol}|${listener.tlsMode}|${listener.bindHost}|${listener.ports.from}-${listener.ports.to}`;
}

export interface ListenerPlan {
  open: Listener[];
  close: Listener[];
  /** Kept sockets; `to` carries the new upstream target for new connections. */
  keep: Array<{ from: Listener; to: Listener }>;
}

/** Diffs the listeners that run against the ones the port map wants. */
export function planListenerChanges(current: readonly Listener[], desired: readonly Listener[]): ListenerPlan {
  const currentByKey = new Map(current.map((listener) => [listenerKey(listener), listener]));
  const desiredKeys = new Set(desired.map(listenerKey));
  const plan: ListenerPlan = { open: [], close: [], keep: [] };
  for (const listener of desired) {
    const running = currentByKey.get(listenerKey(listener));
    if (running) plan.keep.push({ from: running, to: listener });
    else plan.open.push(listener);
  }
  for (const listener of current) if (!desiredKeys.has(listenerKey(listener))) plan.close.push(listener);
  return plan;
}
