import { resolve } from 'node:path';
import { keyTypes, tokenEnv, type KeyType } from '@st/contracts';
import { createLogger } from '@st/logging';
import { apiBindHost, eventsAmqpUrl, eventsExchangeFromEnv, exitWithProblems, readSecret, readServiceTokens, stopOnSignals } from '@st/service-kit';
import { accessSync, constants as fsConstants } from 'node:fs';
import { acmeSettingsFromEnv } from './acme/acme-env.js';
import { CertificateError } from './errors.js';
import { parseServerName } from './server-name.js';
import { createCertService } from './service.js';

function fail(line: string): never {
  return exitWithProblems('cert-service', [line]);
}

async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ service: 'cert-service' });
  let host = '';
  try {
    host = apiBindHost(env, 'CERT_HOST');
  } catch (error) {
    fail((error as Error).message);
  }
  const portText = env.CERT_PORT?.trim() || '7002';
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) fail(`CERT_PORT: "${portText}" is not a port number`);
  const dataDir = resolve(env.CERT_DATA_DIR?.trim() || './.data/cert-service');
  const serverName = env.SERVER_NAME?.trim() || 'localhost';
  const name = parseServerName(serverName);
  if (!name.ok) fail(`SERVER_NAME: ${name.message}`);

  const read = readServiceTokens([tokenEnv.admin, tokenEnv.service], env);
  if (!read.ok) fail(read.message);
  const adminToken = read.tokens[tokenEnv.admin];
  const serviceToken = read.tokens[tokenEnv.service];
  const amqpUrl = eventsAmqpUrl(env);
  const keyType = (env.CERT_KEY_TYPE?.trim() || 'rsa-2048') as KeyType;
  if (!keyTypes.includes(keyType)) fail(`CERT_KEY_TYPE: "${keyType}" is not one of ${keyTypes.join(', ')}`);
  let storeKey: string | undefined;
  try {
    storeKey = readSecret('CERT_STORE_KEY', env);
  } catch (error) {
    fail(`cannot read CERT_STORE_KEY_FILE: ${(error as Error).message}`);
  }

  const acme = acmeSettingsFromEnv({ ...env, SERVER_NAME: serverName });
  if (acme.kind === 'invalid') exitWithProblems('cert-service', acme.problems);
  if (acme.kind === 'on' && acme.settings.caFile) {
    try {
      accessSync(acme.settings.caFile, fsConstants.R_OK);
    } catch {
      fail(`ACME_CA_FILE: ${acme.settings.caFile} cannot be read`);
    }
  }

  const service = createCertService({
    dataDir,
    serverName,
    host,
    port: Number(portText),
    adminToken,
    serviceToken,
    logger,
    amqpUrl,
    eventsExchange: eventsExchangeFromEnv(env),
    keyType,
    storeKey,
    ...(acme.kind === 'on' ? { acme: acme.settings } : {}),
  });
  await service.start();
  stopOnSignals(service, logger);
}

main().catch((error: unknown) => {
  // A certificate problem (e.g. a damaged store) is the operator's to fix: say what, without a stack.
  if (error instanceof CertificateError) fail(`${error.code}: ${error.message}`);
  process.stderr.write(`cert-service: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
