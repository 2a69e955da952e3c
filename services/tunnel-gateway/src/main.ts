import { createLogger } from '@st/logging';
import { gatewayConfigFromEnv } from './config.js';
import { Gateway } from './gateway.js';

const logger = createLogger({ service: 'tunnel-gateway' });

async function main(): Promise<void> {
  let config;
  try {
    config = gatewayConfigFromEnv();
  } catch (error) {
    logger.fatal((error as Error).message);
    process.exit(2);
  }
  const gateway = new Gateway({ ...config, logger: logger.child({ replica: config.replica }) });
  await gateway.start();
  logger.info({ source: config.sourceDescription, health: gateway.healthUrl }, 'tunnel-gateway started');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'stopping');
    gateway.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  logger.fatal({ err: error }, 'tunnel-gateway failed to start');
  process.exit(1);
});
