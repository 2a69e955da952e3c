import { tokenEnv } from '@st/contracts';
import { closeLogger, createLogger } from '@st/logging';
import { exitWithProblems, readServiceTokens, stopOnSignals } from '@st/service-kit';
import { settingsFromEnv } from './config.js';
import { createLogService } from './service.js';

function fail(lines: readonly string[]): never {
  return exitWithProblems('log-service', lines);
}

async function main(): Promise<void> {
  const env = process.env;
  const loaded = settingsFromEnv(env);
  if (!loaded.ok) fail(loaded.errors);
  const { settings } = loaded;

  const read = readServiceTokens([tokenEnv.operator, tokenEnv.admin], env);
  if (!read.ok) fail([read.message]);
  const operatorToken = read.tokens[tokenEnv.operator];
  const adminToken = read.tokens[tokenEnv.admin];

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
