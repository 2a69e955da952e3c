import { tokenEnv } from '@st/contracts';
import { closeLogger, createLogger } from '@st/logging';
import { readSecret, stopOnSignals } from '@st/service-kit';
import { settingsFromEnv } from './config.js';
import { createLogService } from './service.js';

function fail(lines: string[]): never {
  for (const line of lines) process.stderr.write(`log-service: ${line}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const env = process.env;
  const loaded = settingsFromEnv(env);
  if (!loaded.ok) fail(loaded.errors);
  const { settings } = loaded;

  let operatorToken: string | undefined;
  let adminToken: string | undefined;
  try {
    operatorToken = readSecret(tokenEnv.operator, env);
    adminToken = readSecret(tokenEnv.admin, env);
  } catch (error) {
    fail([`cannot read a token file: ${(error as Error).message}`]);
  }
  if (!operatorToken && !adminToken) {
    fail([`set ${tokenEnv.operator} or ${tokenEnv.admin} (or their _FILE variants): nothing is served without a token`]);
  }

  // Its own records go through RabbitMQ like everyone else's, and so end up in its own store.
  const logger = createLogger({ service: 'log-service' });
  const service = createLogService({
    host: settings.host,
    port: settings.port,
    dbPath: settings.dbPath,
    sync: settings.sync,
    operatorToken,
    adminToken,
    logger,
    amqp: settings.amqp,
    retention: settings.retention,
  });
  await service.start();
  stopOnSignals(
    {
      async stop() {
        await service.stop();
        await closeLogger(logger);
      },
    },
    logger,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`log-service: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
