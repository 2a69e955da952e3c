import { closeLogger, type Logger } from '@st/logging';

/**
 * Stops the service on the first SIGTERM or SIGINT and exits 0, or 1 with the
 * error logged when stopping fails. Later signals are ignored so that stop()
 * runs once. Shipped log records still buffered are flushed (bounded) first.
 */
export function stopOnSignals(service: { stop(): Promise<void> }, logger: Logger): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => closeLogger(logger).finally(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        void closeLogger(logger).finally(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
