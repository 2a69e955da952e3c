import type { Listener, PortMap } from '@st/contracts';
import { failure, logReasonOf } from './errors.js';
import type { GatewayContext } from './gateway-context.js';
import { listenerKey, planListenerChanges } from './listener-plan.js';
import { openListener, type RunningListener } from './listeners/index.js';

/** A port map the gateway could not apply, and why (as the health endpoint and status reports tell it). */
export interface PortMapFailure {
  version: number;
  reason: string;
  at: string;
}

/**
 * Turns a port map into running listeners: diffs desired against running
 * (planListenerChanges), opens what is new first, and only if every socket
 * opened retargets kept listeners and drains removed ones (all or nothing:
 * a refused map leaves the previous one running). Maps are applied one at a
 * time, in the order they were handed in.
 */
export class Reconciler {
  private readonly running = new Map<string, RunningListener>();
  private applying: Promise<boolean> = Promise.resolve(true);
  /** The port map the running listeners were built from. */
  private applied: PortMap | null = null;
  /** The newest map that could not be applied (the previous one keeps running); null once one is. */
  private failure: PortMapFailure | null = null;

  constructor(private readonly context: GatewayContext) {}

  get appliedPortMap(): PortMap | null {
    return this.applied;
  }

  get portMapFailure(): PortMapFailure | null {
    return this.failure;
  }

  get listeners(): RunningListener[] {
    return [...this.running.values()];
  }

  /** Resolves true once the map is in force (or remembered until a certificate arrives), false when it was refused. */
  apply(portMap: PortMap, from: string): Promise<boolean> {
    this.applying = this.applying.then(() => this.reconcile(portMap, from));
    return this.applying;
  }

  /**
   * Waits for the map being applied, then closes every listener: at once
   * (drainMs 0), or gracefully: HTTPS and FTPS control ports stop accepting
   * and their connections get until the deadline to end (`closingControl`
   * asks control sessions to end once idle); passive data ports keep
   * admitting leased connections meanwhile (a session may still be about to
   * start a transfer) and close last, with the time left.
   */
  async closeAll(drainMs = 0, closingControl: () => void = () => undefined): Promise<void> {
    await this.applying;
    const listeners = [...this.running.values()];
    this.running.clear();
    if (drainMs === 0) {
      await Promise.all(listeners.map((listener) => listener.close(0)));
      return;
    }
    const deadline = Date.now() + drainMs;
    const data = listeners.filter((listener) => listener.spec.protocol === 'ftp-data');
    const front = listeners.filter((listener) => listener.spec.protocol !== 'ftp-data');
    const frontClosed = Promise.all(front.map((listener) => listener.close(drainMs)));
    closingControl();
    await frontClosed;
    await Promise.all(data.map((listener) => listener.close(Math.max(0, deadline - Date.now()))));
  }

  private async reconcile(portMap: PortMap, from: string): Promise<boolean> {
    const { context } = this;
    const { logger } = context;
    if (!context.contexts.active) {
      // Listeners need a certificate; the map is remembered and applied once one arrives.
      context.portMap = portMap;
      this.failure = null;
      return true;
    }
    const bindHost = context.config.bindHost;
    // A gateway told to listen on its own address (several on one host) keeps every port there.
    const listeners = bindHost ? portMap.listeners.map((listener) => ({ ...listener, bindHost })) : portMap.listeners;
    const desired = portMap.tunnelEnabled ? listeners : [];
    const plan = planListenerChanges(this.listeners.map((listener) => listener.spec), desired);
    const opened: RunningListener[] = [];
    const previous = this.applied;
    context.portMap = portMap;
    context.contexts.setPolicy(portMap.tls);
    try {
      for (const spec of plan.open) opened.push(await openListener(spec, context));
    } catch (error) {
      await Promise.all(opened.map((listener) => listener.close(0)));
      context.portMap = previous ?? portMap;
      if (previous) context.contexts.setPolicy(previous.tls);
      const notApplied = failure('PORT_MAP_NOT_APPLIED', { version: portMap.version, reason: (error as Error).message });
      this.failure = { version: portMap.version, reason: (error as Error).message, at: new Date().toISOString() };
      logger.error({ err: error, version: portMap.version, from, error: notApplied.code }, logReasonOf(notApplied));
      return false;
    }
    for (const listener of opened) this.running.set(listenerKey(listener.spec), listener);
    for (const { to } of plan.keep) {
      const listener = this.running.get(listenerKey(to));
      if (listener) listener.spec = to;
    }
    for (const spec of plan.close) this.closeListener(spec, portMap.timeouts.drainMs);
    this.applied = portMap;
    this.failure = null;
    logger.info(
      { version: portMap.version, from, opened: plan.open.map((l) => l.id), closed: plan.close.map((l) => l.id), tunnelEnabled: portMap.tunnelEnabled },
      'port map applied',
    );
    return true;
  }

  private closeListener(spec: Listener, drainMs: number): void {
    const key = listenerKey(spec);
    const listener = this.running.get(key);
    this.running.delete(key);
    listener?.close(drainMs).catch((error) => this.context.logger.warn({ err: error }, 'listener close failed'));
    this.context.logger.info({ listener: spec.id, ports: spec.ports }, 'listener closed');
  }
}
