import express, { type Router } from 'express';
import { healthApi } from '@st/contracts';

/** Liveness always answers; readiness answers 503 while `isReady` says no. */
export function healthRoutes(isReady: () => boolean = () => true): Router {
  const router = express.Router();
  router.get(healthApi.live, (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get(healthApi.ready, (_req, res) => {
    if (isReady()) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not-ready' });
  });
  return router;
}
