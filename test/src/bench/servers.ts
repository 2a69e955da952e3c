import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultServerSettings, tls12ForwardSecretCiphers, tls13CipherSuites, type ServerSettings } from '@st/contracts';
import { derivePortMap, formatProblem, validateSettings } from '@st/config-service';
import { guestAccountName, renderVsftpdConfig, vsftpdBinary } from '@st/demo-upstream';
import { prepareNginx } from '../harness/nginx.js';
import type { CertificateFiles } from './certificates.js';
import { sleep, waitForPort, type ManagedProcess, type ProcessRegistry } from './processes.js';

export interface PortRange {
  from: number;
  to: number;
}

/** nginx as the plain HTTP upstream: static files, keep-alive, sendfile (the tests' configuration). */
export async function startNginx(registry: ProcessRegistry, options: { dir: string; rootDir: string; port: number; workers: string }): Promise<ManagedProcess> {
  const args = await prepareNginx(options);
  const server = registry.start({
    name: 'nginx',
    command: 'nginx',
    args,
    logFile: join(options.dir, 'nginx.out'),
    gracefulSignal: 'SIGTERM',
  });
  await waitForPort(options.port, 10_000, server);
  return server;
}

/** stunnel4 in server mode, one service: TLS on `port`, plain to `upstreamPort`. */
export async function startStunnel(
  registry: ProcessRegistry,
  options: { dir: string; name: string; port: number; upstreamPort: number; cert: CertificateFiles },
): Promise<ManagedProcess> {
  await mkdir(options.dir, { recursive: true });
  const config = `; Written by the benchmark for this run.
foreground = yes
pid =
syslog = no
debug = notice

[https]
accept = 127.0.0.1:${options.port}
connect = 127.0.0.1:${options.upstreamPort}
cert = ${options.cert.certFile}
key = ${options.cert.keyFile}
sslVersionMin = TLSv1.2
; The gateway's suites in the gateway's order, chosen by the server: all three terminators then
; negotiate the same suite (otherwise stunnel follows the client's AES-256 preference).
ciphers = ${tls12ForwardSecretCiphers.join(':')}
ciphersuites = ${tls13CipherSuites.join(':')}
options = CIPHER_SERVER_PREFERENCE
`;
  const configFile = join(options.dir, `${options.name}.conf`);
  await writeFile(configFile, config, { mode: 0o600 });
  const server = registry.start({
    name: options.name,
    command: 'stunnel4',
    args: [configFile],
    logFile: join(options.dir, `${options.name}.log`),
    gracefulSignal: 'SIGTERM',
  });
  await waitForPort(options.port, 10_000, server);
  return server;
}

/** The bare Node TLS relay (node-relay.js), a separate process. */
export async function startRelay(
  registry: ProcessRegistry,
  options: { dir: string; name: string; script: string; port: number; upstreamPort: number; cert: CertificateFiles },
): Promise<ManagedProcess> {
  const server = registry.start({
    name: options.name,
    command: process.execPath,
    args: [options.script, String(options.port), String(options.upstreamPort), options.cert.certFile, options.cert.keyFile],
    logFile: join(options.dir, `${options.name}.log`),
    gracefulSignal: 'SIGTERM',
  });
  await waitForPort(options.port, 10_000, server);
  return server;
}

export interface GatewayPorts {
  https: number;
  health: number;
  /** Absent: the gateway fronts only the web port (the ECDSA set). */
  ftp?: { ftps: number; publicPassive: PortRange; upstreamFtp: number; upstreamPassive: PortRange };
}

export interface GatewayOptions {
  repoRoot: string;
  dir: string;
  name: string;
  cert: CertificateFiles;
  upstreamWebPort: number;
  ports: GatewayPorts;
  redisUrl: string;
  redisPrefix: string;
  logLevel?: string;
  /** Directory for a V8 CPU profile (node --cpu-prof), written when the gateway stops. */
  cpuProfileDir?: string;
  /** timeouts.upstreamKeepAliveMs when not the default. */
  upstreamKeepAliveMs?: number;
  /** GATEWAY_WORKERS (1: the one-process gateway; the default there would be one per CPU). */
  workers?: number;
}

/** The settings an operator would give config-service for this layout; the port map is derived from them the same way. */
function gatewaySettings(options: GatewayOptions): ServerSettings {
  const { ports } = options;
  const ftp = ports.ftp;
  return {
    ...defaultServerSettings,
    upstream: {
      host: '127.0.0.1',
      web: { enabled: true, port: options.upstreamWebPort },
      ftp: ftp
        ? { enabled: true, port: ftp.upstreamFtp, passiveRange: { ...ftp.upstreamPassive } }
        : { ...defaultServerSettings.upstream.ftp, enabled: false },
    },
    public: {
      address: '127.0.0.1',
      bindHost: '127.0.0.1',
      httpsPort: ports.https,
      ftpsPort: ftp?.ftps ?? defaultServerSettings.public.ftpsPort,
      explicitFtpsPort: null,
      passiveOffset: ftp ? ftp.publicPassive.from - ftp.upstreamPassive.from : defaultServerSettings.public.passiveOffset,
      passiveRange: null,
    },
    // Every load client connects from 127.0.0.1: one address opens thousands of connections here.
    limits: { ...defaultServerSettings.limits, maxConnectionsPerClient: 1_000_000, maxPassiveLeasesPerClient: 100_000 },
    timeouts: { ...defaultServerSettings.timeouts, drainMs: 0, ...(options.upstreamKeepAliveMs !== undefined ? { upstreamKeepAliveMs: options.upstreamKeepAliveMs } : {}) },
  };
}

/** `node services/tunnel-gateway/dist/main.js` standalone from files; resolves once /health/ready answers 200. */
export async function startGateway(registry: ProcessRegistry, options: GatewayOptions): Promise<ManagedProcess> {
  const settings = gatewaySettings(options);
  const report = validateSettings(settings);
  if (report.errors.length > 0) throw new Error(`bench gateway settings invalid: ${report.errors.map(formatProblem).join('; ')}`);
  const portMap = derivePortMap(settings, 1, new Date().toISOString());
  await mkdir(options.dir, { recursive: true });
  const portMapFile = join(options.dir, 'port-map.json');
  await writeFile(portMapFile, `${JSON.stringify(portMap, null, 2)}\n`);
  const cacheDir = join(options.dir, 'cache');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    GATEWAY_PORT_MAP_FILE: portMapFile,
    GATEWAY_CERT_FILE: options.cert.certFile,
    GATEWAY_KEY_FILE: options.cert.keyFile,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.redisPrefix,
    GATEWAY_HEALTH_HOST: '127.0.0.1',
    GATEWAY_HEALTH_PORT: String(options.ports.health),
    GATEWAY_CACHE_DIR: cacheDir,
    REPLICA_ID: options.name,
    GATEWAY_WORKERS: String(options.workers ?? 1),
  };
  if (options.logLevel) env.LOG_LEVEL = options.logLevel;
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir, '--cpu-prof-name', `${options.name}.cpuprofile`] : [];
  const gateway = registry.start({
    name: options.name,
    command: process.execPath,
    args: [...nodeArgs, join(options.repoRoot, 'services/tunnel-gateway/dist/main.js')],
    env,
    cwd: options.repoRoot,
    logFile: join(options.dir, 'gateway.log'),
    gracefulSignal: 'SIGTERM',
  });
  const readyUrl = `http://127.0.0.1:${options.ports.health}/health/ready`;
  const deadline = Date.now() + 30_000;
  let last = '';
  for (;;) {
    if (gateway.hasExited()) throw new Error(`${options.name} exited during start:\n${gateway.logTail()}`);
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return gateway;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${options.name} not ready after 30 s (${last}):\n${gateway.logTail()}`);
    await sleep(100);
  }
}

/**
 * The FTPS reference: a second vsftpd with its own implicit TLS. The plain
 * renderer from @st/demo-upstream writes everything but TLS; its single
 * `ssl_enable=NO` line is replaced by the TLS settings.
 */
export function renderVsftpdFtpsConfig(input: {
  port: number;
  passiveRange: PortRange;
  rootDir: string;
  workDir: string;
  /** The login of the plain vsftpd (same virtual user, same files). */
  pamService: string;
  cert: CertificateFiles;
}): string {
  const plain = renderVsftpdConfig({
    host: '127.0.0.1',
    port: input.port,
    passiveRange: input.passiveRange,
    rootDir: input.rootDir,
    userListFile: join(input.workDir, 'vsftpd.user_list'),
    pamService: input.pamService,
    guestAccount: guestAccountName,
    xferLogFile: join(input.workDir, 'xferlog'),
    vsftpdLogFile: join(input.workDir, 'vsftpd.log'),
    secureChrootDir: join(input.workDir, 'empty'),
    pasvPromiscuous: false,
    banner: 'Secure Transfers benchmark (vsftpd implicit FTPS)',
  });
  const tls = [
    'ssl_enable=YES',
    'implicit_ssl=YES',
    `rsa_cert_file=${input.cert.certFile}`,
    `rsa_private_key_file=${input.cert.keyFile}`,
    'force_local_data_ssl=YES',
    'force_local_logins_ssl=YES',
    'require_ssl_reuse=NO',
    'ssl_sslv2=NO',
    'ssl_sslv3=NO',
    'ssl_tlsv1=YES',
    // vsftpd 3.0.3's default is DES-CBC3-SHA, which today's clients refuse; offer what the gateway offers.
    'ssl_ciphers=ECDHE+AESGCM:ECDHE+CHACHA20',
  ];
  if (!/^ssl_enable=NO$/m.test(plain)) throw new Error('the plain vsftpd config no longer has ssl_enable=NO; update the FTPS renderer');
  return plain.replace(/^ssl_enable=NO$/m, tls.join('\n'));
}

export async function startVsftpdFtps(
  registry: ProcessRegistry,
  options: { workDir: string; rootDir: string; user: string; pamService: string; port: number; passiveRange: PortRange; cert: CertificateFiles },
): Promise<ManagedProcess> {
  await mkdir(join(options.workDir, 'empty'), { recursive: true });
  await chmod(join(options.workDir, 'empty'), 0o555);
  await writeFile(join(options.workDir, 'vsftpd.user_list'), `${options.user}\n`, { mode: 0o644 });
  const configFile = join(options.workDir, 'vsftpd.conf');
  await writeFile(configFile, renderVsftpdFtpsConfig({ ...options }), { mode: 0o600 });
  // As in startVsftpd: vsftpd writes fatal errors to fd 0, so point it at the log.
  const server = registry.start({
    name: 'vsftpd-ftps',
    command: '/bin/sh',
    args: ['-c', 'exec "$0" "$1" 0>&2', vsftpdBinary, configFile],
    logFile: join(options.workDir, 'vsftpd.out'),
    gracefulSignal: null,
  });
  await waitForPort(options.port, 10_000, server);
  return server;
}
