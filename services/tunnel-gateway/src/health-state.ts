import type { GatewayHealthState } from '@st/contracts';

/** What the gateway knows about itself, as far as health is concerned. */
export interface HealthInputs {
  /** A certificate is loaded. */
  certificate: boolean;
  /** The newest port map received (applied or not); null before any arrived. */
  known: { version: number } | null;
  /** The map the running listeners follow; null before one was applied. */
  applied: { version: number; tunnelEnabled: boolean } | null;
  /** The newest map that could not be applied, with why. */
  failure: { version: number; reason: string } | null;
}

export interface GatewayHealth {
  status: Exclude<GatewayHealthState, 'offline'>;
  /** Serving clients: a load balancer keeps sending them here (HTTP 200). */
  serving: boolean;
  reasons: string[];
}

/**
 * Health as a load balancer and an operator need it: ready means serving.
 * A map that could not be applied while the previous one keeps serving is
 * "degraded" (still serving, with the reason), not a reason to take the
 * gateway out; a disabled tunnel is "stopped", since nothing is served then.
 */
export function gatewayHealth(inputs: HealthInputs): GatewayHealth {
  const { applied, failure } = inputs;
  const failureReason = failure ? `port map version ${failure.version} not applied: ${failure.reason}` : null;
  if (!inputs.certificate || !applied) {
    const reasons: string[] = [];
    if (!inputs.certificate) reasons.push('no certificate yet (cert-service not reached and no cache)');
    if (!inputs.known && !applied) reasons.push('no port map yet (config-service not reached and no cache)');
    else if (failureReason) reasons.push(failureReason);
    else if (inputs.certificate) reasons.push('listeners not opened yet');
    return { status: 'not-ready', serving: false, reasons };
  }
  const serving = applied.tunnelEnabled;
  const stillServing = failureReason ? [`${failureReason}; ${serving ? 'serving' : 'staying on'} version ${applied.version}`] : [];
  if (!serving) {
    return {
      status: 'stopped',
      serving: false,
      reasons: [`the tunnel is stopped (tunnelEnabled is false in port map version ${applied.version}): no public port is open`, ...stillServing],
    };
  }
  if (failureReason) return { status: 'degraded', serving: true, reasons: stillServing };
  return { status: 'ready', serving: true, reasons: [] };
}
