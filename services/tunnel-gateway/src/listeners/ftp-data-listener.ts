import type { Listener } from '@st/contracts';
import type { GatewayContext } from '../gateway-context.js';
import type { RunningListener } from './running-listener.js';

/**
 * The public passive range: its ports come from the shared, reference-counted
 * sockets (PassiveDataListeners), so a changed range keeps the ports it shares
 * with the old one.
 */
export async function openFtpDataListener(spec: Listener, context: GatewayContext): Promise<RunningListener> {
  const ports = await context.dataPorts.acquire(spec.bindHost, spec.ports);
  context.logger.child({ listener: spec.id }).info({ ports: spec.ports, upstream: spec.upstream }, 'listener started');
  return {
    spec,
    close: (drainMs) => ports.release(drainMs),
    openConnections: () => ports.openConnections,
  };
}
