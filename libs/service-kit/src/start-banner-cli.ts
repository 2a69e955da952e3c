/**
 * `node start-banner-cli.js --ca-file PATH --output-dir DIR [--demo]`: run by
 * scripts/start.sh once the gateway it started answers. Reads what is live
 * (the gateway's health, config-service's settings, cert-service's active
 * certificate), writes the active chain to PATH for clients' --cacert and
 * prints the banner (start-banner.ts). Tokens, ports and URLs come from the
 * environment start.sh exports; the demo login from DEMO_USER/DEMO_PASSWORD.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { activeCertificateAlias, apiPath, certApi, configApi, healthApi, tokenEnv } from '@st/contracts';
import { writeFileAtomic } from './atomic-file.js';
import { fetchJson } from './fetch-json.js';
import { readSecret } from './secrets.js';
import { apiBindHost } from './bind-host-env.js';
import { buildBanner } from './start-banner.js';

const { values } = parseArgs({ options: { 'ca-file': { type: 'string' }, 'output-dir': { type: 'string' }, demo: { type: 'boolean' }, console: { type: 'boolean' } } });
const caFile = values['ca-file'];
if (!caFile) {
  process.stderr.write('start-banner: --ca-file is required\n');
  process.exit(2);
}

const env = process.env;
const port = (name: string, fallback: number) => Number(env[name]?.trim() || fallback);
const bindHost = apiBindHost(env);
const localHost = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost.includes(':') ? `[${bindHost}]` : bindHost;
const configUrl = env.CONFIG_SERVICE_URL ?? `http://${localHost}:${port('CONFIG_PORT', 7001)}`;
const certUrl = env.CERT_SERVICE_URL ?? `http://${localHost}:${port('CERT_PORT', 7002)}`;
const healthUrl = `http://${localHost}:${port('GATEWAY_HEALTH_PORT', 7003)}${healthApi.ready}`;
const adminToken = readSecret(tokenEnv.admin, env);
if (!adminToken) {
  process.stderr.write('start-banner: ADMIN_TOKEN or ADMIN_TOKEN_FILE must be set\n');
  process.exit(2);
}

const healthSchema = z.object({
  status: z.string(),
  reasons: z.array(z.string()),
  portMapVersion: z.number().nullable(),
  listeners: z.array(z.object({ protocol: z.string(), tlsMode: z.string().optional(), ports: z.string() })),
});
const settingsSchema = z.object({ version: z.number(), settings: z.object({ public: z.object({ address: z.string().nullable(), bindHost: z.string() }) }) });
const certificateSchema = z.object({ subject: z.string(), issuer: z.string(), chain: z.array(z.string()), notAfter: z.string(), certificatePem: z.string() });

try {
  // The health answer is 503 while the tunnel is stopped; it is read either way.
  const healthResponse = await fetch(healthUrl, { signal: AbortSignal.timeout(5000) });
  const gateway = healthSchema.parse(await healthResponse.json());
  const [settings, certificate] = await Promise.all([
    fetchJson(`${configUrl}${configApi.settings}`, adminToken, settingsSchema),
    fetchJson(`${certUrl}${apiPath(certApi.certificate, { id: activeCertificateAlias })}`, adminToken, certificateSchema),
  ]);
  await writeFileAtomic(caFile, certificate.certificatePem, 0o644);
  process.stdout.write(
    buildBanner({
      gateway,
      settings: { version: settings.version, public: settings.settings.public },
      certificate,
      caFile,
      demo: values.demo && env.DEMO_USER && env.DEMO_PASSWORD ? { user: env.DEMO_USER, password: env.DEMO_PASSWORD } : null,
      apiPorts: { config: port('CONFIG_PORT', 7001), cert: port('CERT_PORT', 7002), health: port('GATEWAY_HEALTH_PORT', 7003), logs: port('LOG_SERVICE_PORT', 7004) },
      console: values.console ? { url: `${/^(false|0|no|off)$/i.test(env.CONSOLE_TLS?.trim() ?? '') ? 'http' : 'https'}://${localHost}:${port('CONSOLE_PORT', 7005)}/` } : null,
      apiBindHost: bindHost,
      operatorTokenFile: env.OPERATOR_TOKEN_FILE ?? '$OPERATOR_TOKEN',
      adminTokenFile: env.ADMIN_TOKEN_FILE ?? '$ADMIN_TOKEN',
      outputDir: values['output-dir'] ?? '.',
    }),
  );
} catch (error) {
  process.stderr.write(`start-banner: could not read the live state: ${(error as Error).message}\n`);
  process.exit(1);
}
