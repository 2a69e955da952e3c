import { resolve } from 'node:path';
import { tokenEnv } from '@st/contracts';
import { createLogger } from '@st/logging';
import { apiBindHost, eventsAmqpUrl, eventsExchangeFromEnv, exitWithProblems, readServiceTokens, stopOnSignals } from '@st/service-kit';
import { createConfigService } from './service.js';
import { formatProblem } from './validate-settings.js';
import { loadSettings } from './settings-source.js';
import { parseInteger } from './env-values.js';
import { SettingsStoreError } from './settings-store.js';

function fail(lines: readonly string[]): never {
  return exitWithProblems('config-service', lines);
}

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ service: 'config-service' });
  let host = '';
  try {
    host = apiBindHost(env, 'CONFIG_HOST');
  } catch (error) {
    fail([(error as Error).message]);
  }
  const portText = env.CONFIG_PORT?.trim() || '7001';
  const port = parseInteger(portText);
  if (!port.ok || port.value < 0 || port.value > 65535) fail([`CONFIG_PORT: "${portText}" is not a port number`]);

  const read = readServiceTokens([tokenEnv.admin, tokenEnv.service], env);
  if (!read.ok) fail([read.message]);
  const adminToken = read.tokens[tokenEnv.admin];
  const serviceToken = read.tokens[tokenEnv.service];
  const dataDir = resolve(env.CONFIG_DATA_DIR?.trim() || './.data/config-service');
  const amqpUrl = eventsAmqpUrl(env);

  const loaded = await loadSettings(env);
  if (!loaded.ok) fail(loaded.errors.map((problem) => `invalid setting ${formatProblem(problem)}`));
  for (const warning of loaded.warnings) logger.warn({ field: warning.field }, warning.message);

  const waitText = env.GATEWAY_REPORT_WAIT_MS?.trim() || '3000';
  const gatewayWait = parseInteger(waitText);
  if (!gatewayWait.ok || gatewayWait.value < 0 || gatewayWait.value > 60_000) fail([`GATEWAY_REPORT_WAIT_MS: "${waitText}" is not a number of milliseconds from 0 to 60000`]);

  // The gateways' Redis and key prefix (their defaults): the login defender's bans are listed and lifted there.
  const redisUrl = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl)) fail([`REDIS_URL: "${redisUrl}" is not a redis:// or rediss:// URL`]);
  const redis = { url: redisUrl, prefix: env.REDIS_PREFIX ?? 'st:' };

  const service = createConfigService({ seed: loaded.settings, dataDir, host, port: port.value, adminToken, serviceToken, logger, amqpUrl, eventsExchange: eventsExchangeFromEnv(env), gatewayWaitMs: gatewayWait.value, redis });
  await service.start();
  stopOnSignals(service, logger);
}

main().catch((error: unknown) => {
  // A damaged settings history is the operator's to inspect: say which file, without a stack.
  if (error instanceof SettingsStoreError) fail([error.message]);
  process.stderr.write(`config-service: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
