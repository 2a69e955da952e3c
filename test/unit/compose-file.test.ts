/**
 * compose.yaml and the services must agree: every variable a service reads is
 * set by compose or deliberately left to the service's default, every variable
 * compose sets is read by someone, published ports match the default settings,
 * and every service has a health check and comes back after a reboot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { defaultServerSettings, tokenEnv } from '@st/contracts';
import { publicPassiveRange, settingsEnvBindings } from '@st/config-service';

const root = resolve(__dirname, '../..');

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  secrets?: string[];
  cap_add?: string[];
  cap_drop?: string[];
}
interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
}

const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8'), { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);

/** `${NAME:-default}` → default; anything else as it is. */
function defaultOf(value: string): string {
  return value.replace(/\$\{[A-Z_0-9]+:-([^}]*)\}/g, '$1');
}

/** The package directory a compose service runs (`node /app/<dir>/dist/main.js`). */
function packageOf(service: ComposeService): string | undefined {
  const script = service.command?.find((part) => part.endsWith('/dist/main.js'));
  return script?.split('/')[2];
}

// Files where services and libraries read their environment.
const envFile = /(^|\/)(main|config|[a-z-]*env[a-z-]*|settings-source|secrets|index|http-service)\.ts$/;
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => envFile.test(file) && !file.endsWith('.test.ts'))
    .map((file) => join(dir, file));
}

/** Variables read in a package's sources: env.NAME, env['NAME'], 'NAME' in env-reading files, tokenEnv.x. */
function variablesReadIn(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    if (!/\benv\b|process\.env/.test(text)) continue;
    for (const match of text.matchAll(/env\.([A-Z][A-Z0-9_]+)|env\[['"]([A-Z][A-Z0-9_]+)['"]\]|['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"]/g)) {
      names.add((match[1] ?? match[2] ?? match[3])!);
    }
    for (const match of text.matchAll(/tokenEnv\.(admin|service|operator)/g)) names.add(tokenEnv[match[1] as keyof typeof tokenEnv]);
  }
  return names;
}

function workspaceLibsOf(packageDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, packageDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {})
    .filter((name) => name.startsWith('@st/'))
    .map((name) => `libs/${name.slice(4)}`);
}

function variablesReadBy(packageName: string): Set<string> {
  const packageDir = `services/${packageName}`;
  const names = variablesReadIn(join(root, packageDir, 'src'));
  for (const lib of workspaceLibsOf(packageDir)) for (const name of variablesReadIn(join(root, lib, 'src'))) names.add(name);
  // Literals in libs' env files that are not variables (cipher suites, exchange names).
  for (const name of [...names]) if (name.startsWith('TLS_AES') || name.startsWith('TLS_CHACHA') || name.startsWith('LOG_EXCHANGE') || name.startsWith('LOG_QUEUE')) names.delete(name);
  return names;
}

/**
 * Variables each service reads that compose leaves to the service's default,
 * with the reason. A new variable must be added to compose.yaml or here.
 */
const leftToDefaults: Record<string, Record<string, string>> = {
  'config-service': {
    CONFIG_HOST: 'API_BIND_HOST is the setting compose uses',
    SETTINGS_FILE: 'optional: a settings file mounted by the operator',
    EVENTS_EXCHANGE: 'one deployment per broker: the contract exchange',
    GATEWAY_REPORT_WAIT_MS: 'three seconds for the gateways to report a change',
    REDIS_PREFIX: "one deployment per Redis: the gateways' default prefix",
  },
  'cert-service': {
    CERT_HOST: 'API_BIND_HOST is the setting compose uses',
    CERT_KEY_TYPE: 'rsa-2048 is the default key type of the first self-signed certificate',
    CERT_STORE_KEY: 'optional: encryption of keys at rest',
    EVENTS_EXCHANGE: 'one deployment per broker: the contract exchange',
  },
  'log-service': {
    LOG_SERVICE_HOST: 'API_BIND_HOST is the setting compose uses',
    LOG_DB_SYNC: 'NORMAL is right for a volume',
    LOG_RETENTION_INTERVAL: 'one minute',
    EVENTS_EXCHANGE: 'read by a service-kit helper the log-service does not call',
  },
  'tunnel-gateway': {
    ADMIN_TOKEN: 'a fallback of single-box runs; compose gives the gateway only the service token',
    REPLICA_ID: 'each container is named by its host name, unique per replica',
    REDIS_PREFIX: 'one deployment per Redis',
    GATEWAY_HEALTH_HOST: 'API_BIND_HOST is the setting compose uses',
    GATEWAY_BIND_HOST: 'each container has its own network address; the settings bind every replica the same',
    GATEWAY_REFRESH_INTERVAL_MS: 'one minute',
    GATEWAY_HEARTBEAT_MS: 'fifteen seconds between status reports',
    EVENTS_EXCHANGE: 'one deployment per broker: the contract exchange',
    GATEWAY_PORT_MAP_FILE: 'the standalone mode of benchmarks, not for compose',
    GATEWAY_CERT_FILE: 'the standalone mode of benchmarks, not for compose',
    GATEWAY_KEY_FILE: 'the standalone mode of benchmarks, not for compose',
    GATEWAY_HTTP_PORT: 'the plain HTTP port is 80 inside the container; balancer-http publishes it as HTTP_PORT',
  },
  console: {
    CONSOLE_TLS: 'on: HTTPS with the active certificate',
    GATEWAY_HEALTH_URLS: "replicas are listed from config-service's gateway reports",
    CONSOLE_SESSION_IDLE_MS: 'the default idle limit of a signed-in session',
    CONSOLE_SESSION_MAX_MS: 'the default longest session',
    CONSOLE_ADMIN_PASSWORD: 'optional: operators sign in with the tokens',
    CONSOLE_OPERATOR_PASSWORD: 'optional: operators sign in with the tokens',
    EVENTS_EXCHANGE: 'one deployment per broker: the contract exchange',
  },
  'demo-upstream': {
    DEMO_MAX_UPLOAD_BYTES: '1 GiB',
    DEMO_PASV_PROMISCUOUS: 'on: replicas open data connections from other addresses than the control connection',
  },
};
const everyService = ['LOG_LEVEL', 'REPLICA_ID'];

function setsVariable(service: ComposeService, name: string): boolean {
  const environment = service.environment ?? {};
  return name in environment || `${name}_FILE` in environment;
}

describe('compose.yaml', () => {
  it('has no top-level name (docker-compose 1.29 refuses it; the project name comes from the directory)', () => {
    expect(compose.name).toBeUndefined();
  });

  it.each(services.map(([name, service]) => ({ name, service })))('$name has a health check and restarts unless stopped', ({ service }) => {
    expect(service.healthcheck?.test?.[0]).toBe('CMD');
    expect(service.restart).toBe('unless-stopped');
  });

  it.each(services.filter(([, service]) => packageOf(service)).map(([name, service]) => ({ name, service, pkg: packageOf(service)! })))(
    '$name: every variable it reads is set by compose or left to its default on purpose',
    ({ service, pkg }) => {
      const read = variablesReadBy(pkg);
      const allowed = { ...Object.fromEntries(everyService.map((name) => [name, 'service default'])), ...leftToDefaults[pkg] };
      const unset = [...read].filter((name) => !setsVariable(service, name) && !(name in allowed));
      expect(unset).toEqual([]);
      const unread = Object.keys(service.environment ?? {}).filter((name) => !read.has(name) && !read.has(name.replace(/_FILE$/, '')));
      expect(unread).toEqual([]);
      const staleDefaults = Object.keys(leftToDefaults[pkg] ?? {}).filter((name) => !read.has(name));
      expect(staleDefaults).toEqual([]);
    },
  );

  it('config-service passes every settings variable through, so an .env file can seed any setting', () => {
    const environment = compose.services['config-service']!.environment!;
    expect(settingsEnvBindings.map((binding) => binding.name).filter((name) => !(name in environment))).toEqual([]);
  });

  it('the balancer publishes the ports of the default settings (explicit FTPS on the classic FTP port 21), and config-service seeds the same', () => {
    const config = compose.services['config-service']!.environment!;
    const seeded = {
      httpsPort: Number(defaultOf(config.HTTPS_PORT!)),
      ftpsPort: Number(defaultOf(config.FTPS_PORT!)),
      explicitFtpsPort: Number(defaultOf(config.EXPLICIT_FTPS_PORT!)),
      passive: defaultOf(config.PUBLIC_PASSIVE_RANGE!),
    };
    const defaults = publicPassiveRange(defaultServerSettings);
    expect(seeded).toEqual({
      httpsPort: defaultServerSettings.public.httpsPort,
      ftpsPort: defaultServerSettings.public.ftpsPort,
      // Off in the settings' defaults; a deployment in front of an FTP server offers it where FTP clients look first.
      explicitFtpsPort: 21,
      passive: `${defaults.from}-${defaults.to}`,
    });
    const published = compose.services.balancer!.ports!.map(defaultOf);
    expect(published).toEqual([
      `${seeded.httpsPort}:${seeded.httpsPort}`,
      `${seeded.ftpsPort}:${seeded.ftpsPort}`,
      `${seeded.explicitFtpsPort}:${seeded.explicitFtpsPort}`,
      `${seeded.passive}:${seeded.passive}`,
    ]);
    // The balancer's own variables (its configuration binds them) have the same defaults.
    const balancer = compose.services.balancer!.environment!;
    expect([balancer.HTTPS_PORT, balancer.FTPS_PORT, balancer.EXPLICIT_FTPS_PORT, balancer.PUBLIC_PASSIVE_RANGE].map((value) => defaultOf(value!))).toEqual([
      String(seeded.httpsPort),
      String(seeded.ftpsPort),
      String(seeded.explicitFtpsPort),
      seeded.passive,
    ]);
    const haproxy = readFileSync(join(root, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    for (const name of ['HTTPS_PORT', 'FTPS_PORT', 'EXPLICIT_FTPS_PORT', 'PUBLIC_PASSIVE_RANGE']) expect(haproxy).toContain(`"\${${name}}"`);
  });

  it('the per-client connection limit is kept by the balancer (the gateways see only its address), on every public port', () => {
    const balancer = compose.services.balancer!.environment!;
    expect(defaultOf(balancer.MAX_CONNECTIONS_PER_CLIENT!)).toBe(String(defaultServerSettings.limits.maxConnectionsPerClient));
    const haproxy = readFileSync(join(root, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    const publicFrontends = haproxy.split(/^frontend /m).slice(1).filter((block) => !block.startsWith('health'));
    expect(publicFrontends).toHaveLength(4);
    for (const block of publicFrontends) {
      expect(block).toContain('tcp-request connection track-sc0 src table per-client');
      expect(block).toContain('tcp-request connection reject if { sc0_conn_cur gt "${MAX_CONNECTIONS_PER_CLIENT}" }');
    }
    // The gateways' own per-client bound must not get in the way of the balancer's address.
    const config = compose.services['config-service']!.environment!;
    expect(Number(defaultOf(config.MAX_CONNECTIONS_PER_CLIENT!))).toBeGreaterThanOrEqual(defaultServerSettings.limits.maxConnectionsPerListener);
  });

  it('the demo upstream serves the ports config-service points at by default', () => {
    const config = compose.services['config-service']!.environment!;
    const demo = compose.services['demo-upstream']!.environment!;
    expect(defaultOf(config.UPSTREAM_HOST!)).toBe('demo-upstream');
    expect(defaultOf(config.UPSTREAM_FTP_PORT!)).toBe(demo.DEMO_FTP_PORT);
    expect(defaultOf(config.UPSTREAM_WEB_PORT!)).toBe(demo.DEMO_HTTP_PORT);
    expect(defaultOf(config.UPSTREAM_PASSIVE_RANGE!)).toBe(`${demo.DEMO_PASSIVE_FROM}-${demo.DEMO_PASSIVE_TO}`);
    expect(compose.services['demo-upstream']!.profiles).toEqual(['demo']);
  });

  it('every base image is a variable with the public image as default', () => {
    const images = Object.fromEntries(services.filter(([, s]) => !s.build).map(([name, s]) => [name, s.image]));
    expect(images).toEqual({
      redis: '${REDIS_IMAGE:-redis:7-bookworm}',
      rabbitmq: '${RABBITMQ_IMAGE:-rabbitmq:3.13}',
      balancer: '${HAPROXY_IMAGE:-haproxy:2.8}',
      'balancer-http': '${HAPROXY_IMAGE:-haproxy:2.8}',
    });
    for (const [, service] of services.filter(([, s]) => s.build)) expect(service.build!.args).toEqual({ NODE_IMAGE: '${NODE_IMAGE:-node:20-bookworm-slim}' });
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
  });

  it('only the gateway may bind low ports; every secret file is one compose-secrets.sh creates', () => {
    for (const [name, service] of services.filter(([, s]) => packageOf(s) && packageOf(s) !== 'demo-upstream')) {
      expect({ name, drop: service.cap_drop, add: service.cap_add ?? [] }).toEqual({ name, drop: ['ALL'], add: name === 'tunnel-gateway' ? ['NET_BIND_SERVICE'] : [] });
    }
    const script = readFileSync(join(root, 'scripts/compose-secrets.sh'), 'utf8');
    for (const { file } of Object.values(compose.secrets)) {
      const base = file.split('/').pop()!.replace(/-token$/, '');
      expect(script).toContain(base);
    }
  });
});
