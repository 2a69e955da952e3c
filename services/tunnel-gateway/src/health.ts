import express from 'express';
import { healthApi, type PortMap } from '@st/contracts';
import { errorHandler } from '@st/service-kit';
import { failure, messageOf } from './errors.js';
import { gatewayHealth } from './health-state.js';
import type { RunningListener } from './listeners/index.js';
import type { PortMapFailure } from './reconciler.js';
import type { ReportedState } from './status-report.js';

export interface GatewayStatus {
  /** Serving clients (ready or degraded): the health endpoint answers 200. */
  ready: boolean;
  /** ready, degraded (serving, a newer map refused), stopped (tunnel disabled) or not-ready. */
  status: ReportedState['status'];
  reasons: string[];
  replica: string;
  pid: number;
  portMapVersion: number | null;
  tunnelEnabled: boolean | null;
  /** The newest map that could not be applied (the previous one keeps running). */
  portMapFailure: PortMapFailure | null;
  /** `alongside`: the certificate of the other key kind served beside it, if any. */
  certificate: { id: string; fingerprintSha256: string; notAfter: string; alongside?: { id: string; fingerprintSha256: string; notAfter: string } } | null;
  listeners: Array<{ id: string; protocol: string; tlsMode: string; ports: string; openConnections: number; idleUpstreamConnections?: number }>;
  listenerErrors: string[];
  controlSessions: number;
}

/** What the status is made of, read from the running gateway. */
export interface StatusInputs {
  replica: string;
  pid: number;
  certificate: { id: string; fingerprintSha256: string; notAfter: string; alongside?: { id: string; fingerprintSha256: string; notAfter: string } } | null;
  /** The latest port map known. */
  portMap: PortMap | null;
  /** The one the listeners run. */
  appliedPortMap: PortMap | null;
  portMapFailure: PortMapFailure | null;
  listeners: readonly RunningListener[];
  controlSessions: number;
}

/** The health state (health-state.ts) with what an operator looks at next: listeners, connections, certificate. */
export function gatewayStatus(inputs: StatusInputs): GatewayStatus {
  const { certificate, appliedPortMap, portMapFailure } = inputs;
  const health = gatewayHealth({ certificate: certificate !== null, known: inputs.portMap, applied: appliedPortMap, failure: portMapFailure });
  return {
    ready: health.serving,
    status: health.status,
    reasons: health.reasons,
    replica: inputs.replica,
    pid: inputs.pid,
    portMapVersion: appliedPortMap?.version ?? null,
    tunnelEnabled: appliedPortMap?.tunnelEnabled ?? null,
    portMapFailure,
    certificate: certificate
      ? {
          id: certificate.id,
          fingerprintSha256: certificate.fingerprintSha256,
          notAfter: certificate.notAfter,
          ...(certificate.alongside ? { alongside: { id: certificate.alongside.id, fingerprintSha256: certificate.alongside.fingerprintSha256, notAfter: certificate.alongside.notAfter } } : {}),
        }
      : null,
    listeners: inputs.listeners.map((listener) => ({
      id: listener.spec.id,
      protocol: listener.spec.protocol,
      tlsMode: listener.spec.tlsMode,
      ports: `${listener.spec.ports.from}-${listener.spec.ports.to}`,
      openConnections: listener.openConnections(),
      ...(listener.idleUpstreamConnections ? { idleUpstreamConnections: listener.idleUpstreamConnections() } : {}),
    })),
    listenerErrors: portMapFailure ? [messageOf(failure('PORT_MAP_NOT_APPLIED', { version: portMapFailure.version, reason: portMapFailure.reason }))] : [],
    controlSessions: inputs.controlSessions,
  };
}

/**
 * /health/live and /health/ready: 200 while serving (ready or degraded), so a
 * load balancer keeps a gateway that still serves its previous map. `status`
 * may be asked of other processes (a worker pool's primary asks its workers).
 */
export function healthApp(status: () => GatewayStatus | Promise<GatewayStatus>): express.Express {
  const app = express();
  app.get(healthApi.live, (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get(healthApi.ready, async (_req, res) => {
    const current = await status();
    res.status(current.ready ? 200 : 503).json(current);
  });
  app.use(errorHandler);
  return app;
}
