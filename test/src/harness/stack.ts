import { chmod, mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { destination } from 'pino';
import { Redis } from 'ioredis';
import { configApi, defaultServerSettings, type ServerSettings } from '@st/contracts';
import { closeLogger, createLogger, type Logger } from '@st/logging';
import { createConfigService } from '@st/config-service';
import { createCertService } from '@st/cert-service';
import { waitUntil } from '@st/service-kit';
import { Gateway, ServiceStateSource, type GatewayConfig } from '@st/tunnel-gateway';
import { createFileBrowser, startVsftpd, type RunningVsftpd } from '@st/demo-upstream';
import { freePort, freePortBlock } from '@st/test-kit';
import { testAmqpUrl, testRedisUrl } from './infrastructure.js';
import { startNginx } from './nginx.js';

export const ftpUser = 'sttest';
export const ftpPassword = 'test-Passw0rd';

export interface StackOptions {
  /** Size of the upstream passive range (and of the public one). */
  passivePorts?: number;
  settings?: (settings: ServerSettings) => ServerSettings;
  /**
   * The upstream web port: this HTTP server, or Debian's nginx serving the
   * stack's files (with WebDAV uploads and an access log of the forwarding
   * headers at `nginxAccessLog`); the demo file browser when absent.
   */
  webUpstream?: Server | 'nginx';
  /** nginx as the upstream reads a PROXY protocol header first on every connection (and logs the client it names). */
  nginxProxyProtocol?: boolean;
  /** Also open an explicit FTPS port (AUTH TLS) at ports.explicitFtps. */
  explicitFtps?: boolean;
  /** Start config-service and cert-service (default true). */
  withServices?: boolean;
  /** How often the gateway's session-ticket keys rotate (default one hour). */
  ticketRotationMs?: number;
  /** How often the stack's gateway reports its status without a change (the gateway's default, 15 s, when absent). */
  heartbeatMs?: number;
  /** Redis key prefix; another stack given the same one shares its leases and login bans, like a second replica. */
  redisPrefix?: string;
  /** A Redis of the test's own (one it stops and starts again); the shared test Redis otherwise. */
  redisUrl?: string;
  /** Ship the gateway's logs over RabbitMQ to this exchange and durable queue (log-service tests). */
  shipLogs?: { exchange: string; queue: string };
  /** The name cert-service makes certificates for (SERVER_NAME; 127.0.0.1 by default). */
  serverName?: string;
  /** Longest sleep of cert-service's ACME renewal check (short-lived test certificates). */
  acmeMaxSleepMs?: number;
  /** Open the gateway's plain HTTP port (ACME HTTP-01 answers, redirects to HTTPS) here. */
  plainHttpPort?: number;
  /** What the plain HTTP port does with other requests (default redirect). */
  plainHttpMode?: 'redirect' | 'pass';
}

export interface GatewayOverrides {
  amqpUrl?: string;
  cache?: GatewayConfig['cache'];
  replica?: string;
  bindHost?: string;
  healthPort?: number;
  plainHttpPort?: number;
}

export interface Stack {
  dir: string;
  filesDir: string;
  /** The access log of nginx when it is the upstream: `request|status|X-Forwarded-For|-Proto|-Port|Forwarded` per line. */
  nginxAccessLog: string;
  cacheDir: string;
  redis: Redis;
  redisUrl: string;
  redisPrefix: string;
  /** The session-ticket secret every gateway of the stack shares (TLS_TICKET_KEYS for gateway processes). */
  ticketKeysHex: string;
  settings: ServerSettings;
  caPem: string;
  caFile: string;
  adminToken: string;
  certServiceUrl: string;
  configServiceUrl: string;
  /** PATCHes the settings through the config-service API (admin token); returns the response body. */
  patchSettings(patch: unknown, comment?: string): Promise<{ outcome: string; version: number }>;
  ports: { https: number; ftps: number; explicitFtps: number | null; passiveFrom: number; passiveTo: number; upstreamFtp: number; upstreamWeb: number; health: number };
  gateway: Gateway;
  logger: Logger;
  logFile: string;
  vsftpd: RunningVsftpd;
  startConfigService(): Promise<void>;
  stopConfigService(): Promise<void>;
  startCertService(): Promise<void>;
  stopCertService(): Promise<void>;
  /**
   * A gateway over this stack's services; `amqpUrl` lets a test route its bus
   * link through a relay it can cut, `cache` slow down its disk cache;
   * `replica`, `bindHost` and `healthPort` make it another replica beside the
   * stack's own (same Redis prefix and ticket keys).
   */
  newGateway(overrides?: GatewayOverrides): Gateway;
  amqpUrl: string;
  /** The stack's own events exchange (config.updated, cert.activated). */
  eventsExchange: string;
  /** The service token gateways use (also accepted by cert-service for the active bundle). */
  serviceToken: string;
  /** Every lease key of this stack: pending, active, and the per-address sets of waiting ports. */
  leaseKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

const adminToken = 'test-admin-token-0123456789';
const serviceToken = 'test-service-token-0123456789';

/** Waits until `check` returns true, polling. */
export const waitFor = (check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> =>
  waitUntil(check, timeoutMs, what, 50);

/**
 * Everything the tunnel needs, on free loopback ports: a real vsftpd and an
 * HTTP file browser as the upstream, config-service, cert-service, and a
 * gateway using real Redis (its own key prefix, so lease checks see only
 * this stack's keys).
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'st-stack-'));
  const filesDir = join(dir, 'files');
  const cacheDir = join(dir, 'gateway-cache');
  await mkdir(filesDir, { recursive: true });
  // vsftpd serves the files as the FTP user, who must be able to reach them.
  await chmod(dir, 0o755);
  const logFile = join(dir, 'services.log');
  const logger = createLogger({ service: 'test', replica: 'test', level: 'debug', destination: destination({ dest: logFile, sync: true }) });

  const passivePorts = options.passivePorts ?? 9;
  const upstreamPassiveFrom = await freePortBlock(passivePorts);
  const publicPassiveFrom = await freePortBlock(passivePorts);
  const ports = {
    https: await freePort(),
    ftps: await freePort(),
    explicitFtps: options.explicitFtps ? await freePort() : null,
    passiveFrom: publicPassiveFrom,
    passiveTo: publicPassiveFrom + passivePorts - 1,
    upstreamFtp: await freePort(),
    upstreamWeb: await freePort(),
    health: await freePort(),
  };

  const vsftpd = await startVsftpd({
    host: '127.0.0.1',
    port: ports.upstreamFtp,
    passiveRange: { from: upstreamPassiveFrom, to: upstreamPassiveFrom + passivePorts - 1 },
    rootDir: filesDir,
    user: ftpUser,
    password: ftpPassword,
    workDir: join(dir, 'vsftpd'),
  });

  const nginxAccessLog = join(dir, 'nginx', 'access.log');
  const nginx =
    options.webUpstream === 'nginx'
      ? await startNginx({ dir: join(dir, 'nginx'), rootDir: filesDir, port: ports.upstreamWeb, accessLog: nginxAccessLog, webdav: true, ...(options.nginxProxyProtocol ? { proxyProtocol: true } : {}) })
      : null;
  const web = options.webUpstream === 'nginx' ? null : (options.webUpstream ?? createFileBrowser({ rootDir: filesDir }));
  if (web) await new Promise<void>((resolve) => web.listen(ports.upstreamWeb, '127.0.0.1', resolve));

  const base: ServerSettings = {
    ...defaultServerSettings,
    upstream: {
      host: '127.0.0.1',
      web: { enabled: true, port: ports.upstreamWeb },
      ftp: { enabled: true, port: ports.upstreamFtp, passiveRange: { from: upstreamPassiveFrom, to: upstreamPassiveFrom + passivePorts - 1 } },
    },
    public: {
      ...defaultServerSettings.public,
      address: '127.0.0.1',
      bindHost: '127.0.0.1',
      httpsPort: ports.https,
      ftpsPort: ports.ftps,
      explicitFtpsPort: ports.explicitFtps,
      passiveOffset: publicPassiveFrom - upstreamPassiveFrom,
      passiveRange: null,
    },
    timeouts: { ...defaultServerSettings.timeouts, dataIdleMs: 15_000, passiveLeaseMs: 20_000, drainMs: 5_000 },
  };
  const settings = options.settings ? options.settings(base) : base;

  // Each stack has its own exchange, so parallel test files never see each other's events.
  const amqpUrl = await testAmqpUrl();
  const eventsExchange = `st.test.${randomBytes(4).toString('hex')}`;
  const configPort = await freePort();
  const certPort = await freePort();
  let configService: Awaited<ReturnType<typeof createConfigService>> | null = null;
  let certService: Awaited<ReturnType<typeof createCertService>> | null = null;
  const certDataDir = join(dir, 'cert-service');
  const configDataDir = join(dir, 'config-service');

  const redisUrl = options.redisUrl ?? (await testRedisUrl());
  const redis = new Redis(redisUrl);
  const redisPrefix = options.redisPrefix ?? `sttest:${randomBytes(4).toString('hex')}:`;
  const startConfigService = async () => {
    configService = createConfigService({
      seed: settings,
      dataDir: configDataDir,
      host: '127.0.0.1',
      port: configPort,
      adminToken,
      serviceToken,
      amqpUrl,
      eventsExchange,
      redis: { url: redisUrl, prefix: redisPrefix },
      logger: logger.child({ service: 'config-service' }),
    });
    await configService.start();
  };
  const stopConfigService = async () => {
    await configService?.stop();
    configService = null;
  };
  const startCertService = async () => {
    certService = createCertService({
      dataDir: certDataDir,
      serverName: options.serverName ?? '127.0.0.1',
      host: '127.0.0.1',
      port: certPort,
      adminToken,
      serviceToken,
      amqpUrl,
      eventsExchange,
      logger: logger.child({ service: 'cert-service' }),
      ...(options.acmeMaxSleepMs ? { acmeMaxSleepMs: options.acmeMaxSleepMs } : {}),
    });
    await certService.start();
  };
  const stopCertService = async () => {
    await certService?.stop();
    certService = null;
  };

  const shippingLoggers: Logger[] = [];
  const track = (shipping: Logger) => {
    shippingLoggers.push(shipping);
    return shipping;
  };
  // Shared by every gateway of the stack, as by replicas: a data connection resumes on any of them.
  const ticketKeys = randomBytes(48);
  const newGateway = (overrides: GatewayOverrides = {}) =>
    new Gateway({
      ...(overrides.cache ? { cache: overrides.cache } : {}),
      ...(overrides.bindHost ? { bindHost: overrides.bindHost } : {}),
      ...((overrides.plainHttpPort ?? options.plainHttpPort) !== undefined
        ? { plainHttp: { port: (overrides.plainHttpPort ?? options.plainHttpPort)!, mode: options.plainHttpMode ?? 'redirect' } }
        : {}),
      replica: overrides.replica ?? 'test-gw',
      ticketKeys,
      ...(options.ticketRotationMs ? { ticketRotationMs: options.ticketRotationMs } : {}),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
      redisUrl,
      redisPrefix,
      cacheDir,
      source: new ServiceStateSource(`http://127.0.0.1:${configPort}`, `http://127.0.0.1:${certPort}`, serviceToken),
      health: { host: '127.0.0.1', port: overrides.healthPort ?? ports.health },
      refreshIntervalMs: 60_000,
      amqpUrl: overrides.amqpUrl ?? amqpUrl,
      eventsExchange,
      logger: options.shipLogs
        ? track(createLogger({
            service: 'tunnel-gateway',
            replica: 'test-gw',
            level: 'debug',
            destination: destination({ dest: logFile, sync: true }),
            shipping: { url: amqpUrl, exchange: options.shipLogs.exchange, queue: options.shipLogs.queue },
          }))
        : logger.child({ service: 'tunnel-gateway', ...(overrides.replica ? { replica: overrides.replica } : {}) }),
    });

  if (options.withServices !== false) {
    await startConfigService();
    await startCertService();
  }
  const gateway = newGateway();
  const stack: Stack = {
    dir,
    filesDir,
    nginxAccessLog,
    cacheDir,
    redis,
    redisUrl,
    redisPrefix,
    ticketKeysHex: ticketKeys.toString('hex'),
    settings,
    caPem: '',
    caFile: join(certDataDir, 'active-cert-for-tests.pem'),
    adminToken,
    certServiceUrl: `http://127.0.0.1:${certPort}`,
    configServiceUrl: `http://127.0.0.1:${configPort}`,
    patchSettings: async (patch, comment) => {
      const response = await fetch(`http://127.0.0.1:${configPort}/settings`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/merge-patch+json', ...(comment ? { 'x-change-comment': comment } : {}) },
        body: JSON.stringify(patch),
      });
      const body = (await response.json()) as { outcome: string; version: number };
      if (!response.ok) throw new Error(`PATCH /settings answered ${response.status}: ${JSON.stringify(body)}`);
      return body;
    },
    ports,
    gateway,
    logger,
    logFile,
    vsftpd,
    startConfigService,
    stopConfigService,
    startCertService,
    stopCertService,
    newGateway,
    amqpUrl,
    eventsExchange,
    serviceToken,
    leaseKeys: () => redis.keys(`${redisPrefix}lease*`),
    stop: async () => {
      await stack.gateway.stop().catch(() => undefined);
      // A shipping logger holds a RabbitMQ connection until closed.
      for (const shipping of shippingLoggers) await closeLogger(shipping).catch(() => undefined);
      await stopConfigService().catch(() => undefined);
      await stopCertService().catch(() => undefined);
      await vsftpd.stop().catch(() => undefined);
      await nginx?.stop().catch(() => undefined);
      if (web) {
        const webClosed = new Promise<void>((resolve) => web.close(() => resolve()));
        web.closeAllConnections();
        await webClosed;
      }
      redis.disconnect();
      if (!process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
    },
  };
  if (options.withServices !== false) {
    try {
      await gateway.start();
      await waitFor(() => gateway.status().ready, 30_000, 'gateway ready').catch((error: Error) => {
        // Say why: the gateway's own reasons (a port taken, a service not reached).
        throw new Error(`${error.message}: ${JSON.stringify({ status: gateway.status().status, reasons: gateway.status().reasons })}`);
      });
      // A test that changes settings expects config-service to wait for this gateway's answer, which it does
      // only for replicas it has heard from: their reports travel over the bus, which connects on its own time.
      await waitFor(
        async () => {
          try {
            const response = await fetch(`http://127.0.0.1:${configPort}${configApi.gateways}`, { headers: { authorization: `Bearer ${adminToken}` } });
            const body = (await response.json()) as { replicas?: Array<{ replica: string; status: string }> };
            return response.ok && (body.replicas ?? []).some((known) => known.replica === 'test-gw' && known.status !== 'offline');
          } catch {
            return false;
          }
        },
        20_000,
        'config-service to hear from the gateway over the bus',
      );
      await loadTrustedCertificate(stack);
    } catch (error) {
      // The test never gets the stack to stop: what was started (vsftpd, nginx, the services) goes now.
      await stack.stop().catch(() => undefined);
      throw error;
    }
  }
  return stack;
}

/** The certificate the gateway presents, as a CA for clients (it is self-signed). */
export async function loadTrustedCertificate(stack: Stack): Promise<void> {
  const bundlePath = join(stack.cacheDir, 'bundle.json');
  const bundle = JSON.parse(await readFile(bundlePath, 'utf8')) as { certificatePem: string };
  stack.caPem = bundle.certificatePem;
  const { writeFile } = await import('node:fs/promises');
  stack.caFile = join(stack.dir, 'ca.pem');
  await writeFile(stack.caFile, bundle.certificatePem);
}
