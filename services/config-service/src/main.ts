import { resolve } from 'node:path';
import { tokenEnv } from '@st/contracts';
import { createLogger } from '@st/logging';
import { readSecret, stopOnSignals } from '@st/service-kit';
import { createConfigService } from './service.js';
import { formatProblem } from './validate-settings.js';
import { loadSettings } from './settings-source.js';
import { parseInteger } from './env-values.js';
import { SettingsStoreError } from './settings-store.js';

function fail(lines: string[]): never {
  for (const line of lines) process.stderr.write(`config-service: ${line}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ service: 'config-service' });
  const host = env.CONFIG_HOST?.trim() || '0.0.0.0';
  const portText = env.CONFIG_PORT?.trim() || '7001';
  const port = parseInteger(portText);
  if (!port.ok || port.value < 0 || port.value > 65535) fail([`CONFIG_PORT: "${portText}" is not a port number`]);

  let adminToken: string | undefined;
  let serviceToken: string | undefined;
  try {
    adminToken = readSecret(tokenEnv.admin, env);
    serviceToken = readSecret(tokenEnv.service, env);
  } catch (error) {
    fail([`cannot read a token file: ${(error as Error).message}`]);
  }
  if (!adminToken && !serviceToken) {
    fail([`set ${tokenEnv.admin} or ${tokenEnv.service} (or their _FILE variants): nothing is served without a token`]);
  }

  const dataDir = resolve(env.CONFIG_DATA_DIR?.trim() || './.data/config-service');
  // Versions are announced on the local broker unless AMQP_URL says otherwise; "off" runs without them.
  const amqpSetting = env.AMQP_URL?.trim() || 'amqp://guest:guest@127.0.0.1:5672';
  const amqpUrl = amqpSetting === 'off' ? undefined : amqpSetting;

  const loaded = await loadSettings(env);
  if (!loaded.ok) fail(loaded.errors.map((problem) => `invalid setting ${formatProblem(problem)}`));
  for (const warning of loaded.warnings) logger.warn({ field: warning.field }, warning.message);

  const service = createConfigService({ seed: loaded.settings, dataDir, host, port: port.value, adminToken, serviceToken, logger, amqpUrl });
  await service.start();
  stopOnSignals(service, logger);
}

main().catch((error: unknown) => {
  // A damaged settings history is the operator's to inspect: say which file, without a stack.
  if (error instanceof SettingsStoreError) fail([error.message]);
  process.stderr.write(`config-service: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
