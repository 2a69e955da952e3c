import { createLogger } from '@st/logging';
import { stopOnSignals } from '@st/service-kit';
import { gatewayConfigFromEnv, replicaIdFromEnv } from './config.js';
import { Gateway } from './gateway.js';

const logger = createLogger({ service: 'tunnel-gateway', replica: replicaIdFromEnv() });

async function main(): Promise<void> {
  let config;
  try {
    config = gatewayConfigFromEnv();
  } catch (error) {
    logger.fatal((error as Error).message);
    process.exit(2);
  }
  const gateway = new Gateway({ ...config, logger });
  await gateway.start();
  logger.info({ source: config.sourceDescription, health: gateway.healthUrl }, 'tunnel-gateway started');
  stopOnSignals(gateway, logger);
}

main().catch((error) => {
  logger.fatal({ err: error }, 'tunnel-gateway failed to start');
  process.exit(1);
});
