import express, { type Router } from 'express';
import { healthApi } from '@st/contracts';

/** A readiness answer with reasons and details (merged into the response body). */
export interface HealthReport {
  ready: boolean;
  /** Why it is not ready (or what is wrong while still ready). */
  reasons?: string[];
  details?: Record<string, unknown>;
}

/**
 * Liveness always answers; readiness answers 503 while the check says no.
 * The check returns a boolean, or a report whose reasons and details are shown.
 */
export function healthRoutes(check: () => boolean | HealthReport = () => true): Router {
  const router = express.Router();
  router.get(healthApi.live, (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get(healthApi.ready, (_req, res) => {
    const result = check();
    const report: HealthReport = typeof result === 'boolean' ? { ready: result } : result;
    const body = { status: report.ready ? 'ready' : 'not-ready', ...(report.reasons ? { reasons: report.reasons } : {}), ...report.details };
    res.status(report.ready ? 200 : 503).json(body);
  });
  return router;
}
