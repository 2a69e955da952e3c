import cluster from 'node:cluster';
import { closeLogger, createLogger } from '@st/logging';
import { exitWithProblems, stopOnSignals } from '@st/service-kit';
import { gatewaySettingsFromEnv, replicaIdFromEnv, type GatewaySettings } from './config.js';
import { readGatewayEnv } from './env.js';
import { Gateway } from './gateway.js';
import { stateSourceFor } from './gateway-state.js';
import { answerStatusRequests, WorkerPool } from './worker-pool.js';

const logger = createLogger({ service: 'tunnel-gateway', replica: replicaIdFromEnv() });

async function main(): Promise<void> {
  const result = gatewaySettingsFromEnv(readGatewayEnv());
  if (!result.ok) exitWithProblems('tunnel-gateway', result.errors);
  const { settings } = result;
  let state;
  try {
    // Also in a primary that runs no gateway itself: a bad state source stops it here, not in every worker.
    state = stateSourceFor(settings.state);
  } catch (error) {
    exitWithProblems('tunnel-gateway', [(error as Error).message]);
  }
  if (cluster.isPrimary && settings.workers > 1) return startWorkers(settings);
  const { state: _state, workers: _workers, stopDrainMs, ...config } = settings;
  // A worker's health is answered by its primary, for all workers at once.
  const gateway = new Gateway({ ...config, ...(cluster.isWorker ? { health: null } : {}), source: state.source, logger });
  await gateway.start();
  if (cluster.isWorker) answerStatusRequests(() => gateway.status());
  logger.info({ source: state.description, health: gateway.healthUrl, pid: process.pid }, cluster.isWorker ? 'tunnel-gateway worker started' : 'tunnel-gateway started');
  // SIGTERM: open transfers may finish, for the settings' drain time but at most GATEWAY_STOP_DRAIN_MS.
  stopOnSignals({ stop: () => gateway.stop(Math.min(gateway.drainMs, stopDrainMs)) }, logger);
}

async function startWorkers(settings: GatewaySettings): Promise<void> {
  const pool = new WorkerPool({
    count: settings.workers,
    replica: settings.replica,
    health: settings.health,
    // Each worker drains for at most GATEWAY_STOP_DRAIN_MS, then releases its leases and says goodbye (a few seconds).
    stopTimeoutMs: settings.stopDrainMs + 8000,
    logger,
    // exitWithProblems' code: a worker that cannot use its configuration.
    fatalExitCode: 2,
    onFatal: (code) => void closeLogger(logger).finally(() => process.exit(code)),
  });
  await pool.start();
  stopOnSignals(pool, logger);
}

main().catch((error) => {
  logger.fatal({ err: error }, 'tunnel-gateway failed to start');
  process.exit(1);
});
