import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tokenEnv } from '@st/contracts';
import { closeLogger, createLogger } from '@st/logging';
import { eventsAmqpUrl, exitWithProblems, readSecret, stopOnSignals } from '@st/service-kit';
import { consoleBindHost } from './bind-host.js';
import { consoleSettingsFromEnv } from './config.js';
import { createConsoleService } from './service.js';

function fail(lines: readonly string[]): never {
  return exitWithProblems('console', lines);
}

async function main(): Promise<void> {
  const env = process.env;
  let host: string;
  try {
    host = consoleBindHost(env);
  } catch (error) {
    fail([(error as Error).message]);
  }
  const loaded = consoleSettingsFromEnv(env, host);
  if (!loaded.ok) fail(loaded.errors);
  const { settings } = loaded;

  const secrets: Record<string, string | undefined> = {};
  for (const name of [tokenEnv.admin, tokenEnv.operator, tokenEnv.service, 'CONSOLE_ADMIN_PASSWORD', 'CONSOLE_OPERATOR_PASSWORD']) {
    try {
      secrets[name] = readSecret(name, env);
    } catch (error) {
      fail([`cannot read ${name}_FILE: ${(error as Error).message}`]);
    }
  }
  const adminToken = secrets[tokenEnv.admin];
  if (!adminToken) fail([`${tokenEnv.admin} (or ${tokenEnv.admin}_FILE) must be set: the console acts for operators with it, and it never reaches the browser`]);
  for (const name of ['CONSOLE_ADMIN_PASSWORD', 'CONSOLE_OPERATOR_PASSWORD']) {
    const value = secrets[name];
    if (value !== undefined && value.length < 12) fail([`${name}: use at least 12 characters`]);
  }

  const publicDir = fileURLToPath(new URL('./public/', import.meta.url));
  if (!existsSync(`${publicDir}index.html`)) fail([`the web page is not built (${publicDir}index.html is missing): run pnpm build`]);

  const logger = createLogger({ service: 'console' });
  const service = createConsoleService({
    host: settings.host,
    port: settings.port,
    tls: settings.tls,
    configServiceUrl: settings.configServiceUrl,
    certServiceUrl: settings.certServiceUrl,
    logServiceUrl: settings.logServiceUrl,
    gatewayHealthUrls: settings.gatewayHealthUrls,
    adminToken,
    operatorToken: secrets[tokenEnv.operator],
    serviceToken: secrets[tokenEnv.service],
    adminPassword: secrets.CONSOLE_ADMIN_PASSWORD,
    operatorPassword: secrets.CONSOLE_OPERATOR_PASSWORD,
    publicDir,
    session: { idleMs: settings.sessionIdleMs, maxMs: settings.sessionMaxMs },
    amqpUrl: eventsAmqpUrl(env),
    logger,
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
  process.stderr.write(`console: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
