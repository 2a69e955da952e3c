import express from 'express';
import { healthApi, type PortMap } from '@st/contracts';
import { errorHandler } from '@st/service-kit';
import type { RunningListener } from './listeners/index.js';

export interface GatewayStatus {
  ready: boolean;
  reasons: string[];
  portMapVersion: number | null;
  certificate: { id: string; fingerprintSha256: string; notAfter: string } | null;
  listeners: Array<{ id: string; protocol: string; ports: string; openConnections: number; idleUpstreamConnections?: number }>;
  listenerErrors: string[];
  controlSessions: number;
}

/** What the status is made of, read from the running gateway. */
export interface StatusInputs {
  certificate: { id: string; fingerprintSha256: string; notAfter: string } | null;
  /** The latest port map known. */
  portMap: PortMap | null;
  /** The one the listeners run. */
  appliedPortMap: PortMap | null;
  listeners: readonly RunningListener[];
  listenerErrors: string[];
  controlSessions: number;
}

/** Ready when a certificate and a port map are in force and every listener of the map opened. */
export function gatewayStatus(inputs: StatusInputs): GatewayStatus {
  const reasons: string[] = [];
  if (!inputs.certificate) reasons.push('no certificate yet (cert-service not reached and no cache)');
  if (!inputs.portMap) reasons.push('no port map yet (config-service not reached and no cache)');
  else if (!inputs.appliedPortMap && inputs.listenerErrors.length === 0) reasons.push('listeners not opened yet');
  if (inputs.listenerErrors.length > 0) reasons.push(...inputs.listenerErrors);
  const { certificate } = inputs;
  return {
    ready: reasons.length === 0,
    reasons,
    portMapVersion: inputs.appliedPortMap?.version ?? null,
    certificate: certificate ? { id: certificate.id, fingerprintSha256: certificate.fingerprintSha256, notAfter: certificate.notAfter } : null,
    listeners: inputs.listeners.map((listener) => ({
      id: listener.spec.id,
      protocol: listener.spec.protocol,
      ports: `${listener.spec.ports.from}-${listener.spec.ports.to}`,
      openConnections: listener.openConnections(),
      ...(listener.idleUpstreamConnections ? { idleUpstreamConnections: listener.idleUpstreamConnections() } : {}),
    })),
    listenerErrors: inputs.listenerErrors,
    controlSessions: inputs.controlSessions,
  };
}

/** /health/live and /health/ready (503 with the reasons while not ready). */
export function healthApp(status: () => GatewayStatus): express.Express {
  const app = express();
  app.get(healthApi.live, (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get(healthApi.ready, (_req, res) => {
    const current = status();
    res.status(current.ready ? 200 : 503).json({ status: current.ready ? 'ready' : 'not-ready', ...current });
  });
  app.use(errorHandler);
  return app;
}
