/**
 * `pnpm bench`: the gateway side by side with stunnel, nginx, HAProxy, a bare
 * Node TLS relay and vsftpd's own implicit FTPS, in front of the same nginx and
 * vsftpd, on loopback, in one run. The README's performance section and
 * docs/performance.md explain the figures; test/bench-results/latest.md has the last run.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startVsftpd, type RunningVsftpd } from '@st/demo-upstream';
import { freePortBlock } from '@st/test-kit';
import { intEnv } from './bench-env.js';
import { makeSelfSigned, type CertificateFiles, type KeyKind } from './certificates.js';
import { ab, curlFtps, curlHttps, describeTls, probeTls, wrk, type Download } from './clients.js';
import { renderProfileSection, type CpuProfile } from './cpu-profile.js';
import { ProcessRegistry, sleep, type ManagedProcess } from './processes.js';
import { openIdleTls } from './idle-connections.js';
import { pollPeakRss, TreeCpuTracker, treeRssBytes } from './proc-stats.js';
import { addSample, emptySamples, renderReport, reportRows, terminatorTitles, type Metric, type Samples, type Terminator } from './report.js';
import { startGateway, startNginx, startRelay, startStunnel, startVsftpdFtps, type PortRange } from './servers.js';
import { haproxyInstalled, resumes, startHaproxyTls, startNginxTls, type Resumption } from './tls-terminators.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

const phases = ['https-bulk', 'ftps-bulk', 'keepalive', 'handshakes', 'resumed', 'memory'] as const;
type Phase = (typeof phases)[number];

interface BenchConfig {
  rounds: number;
  bulkMiB: number;
  wrkSeconds: number;
  wrkConnections: number;
  wrkThreads: number;
  abRequests: number;
  abSeconds: number;
  abConcurrency: number;
  memStreams: number;
  memMiB: number;
  /** Idle TLS connections held open during the memory run. */
  memIdleTls: number;
  nginxWorkers: string;
  phases: Set<Phase>;
  warmup: boolean;
  timeLimitMin: number;
  out: string | null;
  gatewayLogLevel: string | undefined;
  /** The gateway's timeouts.upstreamKeepAliveMs (undefined: the default; 0 shows the gateway without upstream reuse). */
  upstreamKeepAliveMs: number | undefined;
  cpuProfileDir: string | undefined;
  keepTmp: boolean;
  redisUrl: string;
}

function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const only = (env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const phase of only) if (!(phases as readonly string[]).includes(phase)) throw new Error(`BENCH_ONLY: unknown "${phase}" (known: ${phases.join(', ')})`);
  const out = env.BENCH_OUT === undefined ? join(repoRoot, 'test/bench-results/latest.md') : env.BENCH_OUT === '' || env.BENCH_OUT === '-' ? null : resolve(env.BENCH_OUT);
  return {
    rounds: intEnv(env, 'BENCH_ROUNDS', 3),
    bulkMiB: intEnv(env, 'BENCH_BULK_MIB', 1024),
    wrkSeconds: intEnv(env, 'BENCH_WRK_SECONDS', 10),
    wrkConnections: intEnv(env, 'BENCH_WRK_CONNECTIONS', 64),
    wrkThreads: intEnv(env, 'BENCH_WRK_THREADS', 2),
    abRequests: intEnv(env, 'BENCH_AB_REQUESTS', 5000),
    abSeconds: intEnv(env, 'BENCH_AB_SECONDS', 15),
    abConcurrency: intEnv(env, 'BENCH_AB_CONCURRENCY', 16),
    memStreams: intEnv(env, 'BENCH_MEM_STREAMS', 20),
    memMiB: intEnv(env, 'BENCH_MEM_MIB', 100),
    memIdleTls: intEnv(env, 'BENCH_MEM_IDLE_TLS', 2000, 0),
    nginxWorkers: env.BENCH_NGINX_WORKERS || 'auto',
    phases: new Set((only.length > 0 ? only : phases) as Phase[]),
    warmup: env.BENCH_WARMUP !== '0',
    timeLimitMin: intEnv(env, 'BENCH_TIME_LIMIT_MIN', 40),
    out,
    gatewayLogLevel: env.BENCH_GATEWAY_LOG_LEVEL || undefined,
    upstreamKeepAliveMs: env.BENCH_UPSTREAM_KEEPALIVE_MS ? intEnv(env, 'BENCH_UPSTREAM_KEEPALIVE_MS', 0, 0) : undefined,
    cpuProfileDir: env.BENCH_CPU_PROFILE ? resolve(env.BENCH_CPU_PROFILE) : undefined,
    keepTmp: env.BENCH_KEEP_TMP === '1',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
  };
}

const startedAt = Date.now();
function log(message: string): void {
  const elapsed = Math.round((Date.now() - startedAt) / 1000);
  process.stderr.write(`[bench ${String(Math.floor(elapsed / 60)).padStart(2, '0')}:${String(elapsed % 60).padStart(2, '0')}] ${message}\n`);
}

const MiB = 1 << 20;
const GiB = 1 << 30;

/** Random content (TLS does not compress, but nothing on the path should get an easy ride), written in 1 MiB pieces of an 8 MiB block. */
async function writeFileOfSize(path: string, bytes: number): Promise<void> {
  const block = randomBytes(8 * MiB);
  const stream = createWriteStream(path);
  let left = bytes;
  let offset = 0;
  while (left > 0) {
    const size = Math.min(left, MiB);
    const piece = block.subarray(offset % block.length, (offset % block.length) + size);
    if (!stream.write(piece)) await once(stream, 'drain');
    left -= size;
    offset += size;
  }
  stream.end();
  await once(stream, 'finish');
}

/** A block of consecutive free ports, handed out one after another (no two servers can be given the same port). */
class PortAllocator {
  private next: number;
  private constructor(private readonly base: number, private readonly count: number) {
    this.next = base;
  }
  static async create(count: number): Promise<PortAllocator> {
    return new PortAllocator(await freePortBlock(count), count);
  }
  one(): number {
    return this.range(1).from;
  }
  range(size: number): { from: number; to: number } {
    if (this.next + size > this.base + this.count) throw new Error('port block exhausted');
    const from = this.next;
    this.next += size;
    return { from, to: from + size - 1 };
  }
}

function rotate<T>(items: T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * A terminator process that is started again (same ports, same files) when it
 * stops without being asked: on a shared machine someone's `pkill -f` can take
 * the gateway down mid-run. Each restart is noted in the report.
 */
class Server {
  private restarts = 0;
  private constructor(
    private readonly name: string,
    public current: ManagedProcess,
    private readonly startFn: () => Promise<ManagedProcess>,
    private readonly note: (text: string) => void,
  ) {}

  /** Run after a restart, so that a cold process (no JIT yet) is not what gets measured. */
  warm: (() => Promise<void>) | undefined;

  static async start(name: string, startFn: () => Promise<ManagedProcess>, note: (text: string) => void): Promise<Server> {
    return new Server(name, await startFn(), startFn, note);
  }

  get pid(): number {
    return this.current.pid;
  }

  /** True when running (restarted if need be, at most 3 times); false when it cannot be. */
  async ensureRunning(): Promise<boolean> {
    if (!this.current.hasExited()) return true;
    if (this.restarts >= 3) return false;
    this.restarts++;
    try {
      this.current = await this.startFn();
      this.note(`${this.name} was restarted (restart ${this.restarts}); the sample it died in is missing`);
      await this.warm?.();
      return true;
    } catch (error) {
      this.note(`${this.name} could not be restarted: ${(error as Error).message.split('\n')[0]}`);
      this.restarts = 3;
      return false;
    }
  }
}

interface HttpsTerminator {
  id: Terminator;
  kind: KeyKind;
  port: number;
  server: Server;
}

interface FtpsTerminator {
  id: Terminator;
  port: number;
  server: Server;
}

/**
 * Starts counting a terminator's CPU; the returned function stops and gives CPU
 * seconds. For vsftpd it first waits (up to 2 s) for the session processes to
 * end, so that their teardown counts too.
 */
function trackCpu(pid: number, waitForSessions = false): () => Promise<number> {
  const tracker = new TreeCpuTracker(pid);
  return async () => {
    if (waitForSessions) {
      const deadline = Date.now() + 2_000;
      while (tracker.liveDescendants() > 0 && Date.now() < deadline) await sleep(20);
    }
    return tracker.stop();
  };
}

async function run(config: BenchConfig, registry: ProcessRegistry, dir: string, notes: string[], onRedisPrefix: (prefix: string) => void): Promise<void> {
  const samples: Samples = emptySamples();
  const sections: string[] = [];
  const note = (text: string) => {
    notes.push(text);
    log(`note: ${text}`);
  };
  const loadAtStart = os.loadavg();

  // Content: one bulk file, one 1 KiB file, one file for the memory run, all in the page cache after writing.
  const filesDir = join(dir, 'files');
  await mkdir(filesDir, { recursive: true });
  const bulkBytes = config.bulkMiB * MiB;
  const memBytes = config.memMiB * MiB;
  log(`writing ${config.bulkMiB} MiB bulk file, ${config.memMiB} MiB memory-run file and a 1 KiB file`);
  await writeFileOfSize(join(filesDir, 'bulk.bin'), bulkBytes);
  await writeFileOfSize(join(filesDir, 'mem.bin'), memBytes);
  await writeFile(join(filesDir, 'small.bin'), randomBytes(1024));
  await chmod(filesDir, 0o755);

  const certs: Record<KeyKind, CertificateFiles> = {
    rsa: await makeSelfSigned(dir, 'rsa'),
    ecdsa: await makeSelfSigned(dir, 'ecdsa'),
  };

  const passivePorts = config.memStreams + 10;
  const ports = await PortAllocator.create(3 * passivePorts + 20 + 32);
  const nginxPort = ports.one();
  const upstreamFtpPort = ports.one();
  const upstreamPassive = ports.range(passivePorts);
  const publicPassive = ports.range(passivePorts);
  // The 2-worker gateway's own public passive ports (the same upstream ones, another offset).
  const publicPassive2w = ports.range(passivePorts);
  const nativePassive = ports.range(20);

  // Upstreams.
  log('starting nginx and vsftpd (plain)');
  await startNginx(registry, { dir: join(dir, 'nginx'), rootDir: filesDir, port: nginxPort, workers: config.nginxWorkers });
  const ftpUser = 'stbench';
  const ftpPassword = randomBytes(12).toString('hex');
  const plainVsftpd: RunningVsftpd = await startVsftpd({
    host: '127.0.0.1',
    port: upstreamFtpPort,
    passiveRange: upstreamPassive,
    rootDir: filesDir,
    user: ftpUser,
    password: ftpPassword,
    workDir: join(dir, 'vsftpd-plain'),
  });
  registry.adopt(() => plainVsftpd.stop(), plainVsftpd.pid);

  // Terminators: an RSA set (everything) and an ECDSA set (HTTPS only, for handshakes).
  const redisPrefix = `stbench:${randomBytes(4).toString('hex')}:`;
  onRedisPrefix(redisPrefix);
  const https: Record<KeyKind, HttpsTerminator[]> = { rsa: [], ecdsa: [] };
  let gatewayRsa: Server | undefined;
  let gateway2wRsa: Server | undefined;
  let ftpsPort = 0;
  let ftps2wPort = 0;
  for (const kind of ['rsa', 'ecdsa'] as const) {
    const cert = certs[kind];
    log(`starting terminators with the ${cert.label} certificate`);
    const startGatewayOf = async (name: string, workers: number, passive: PortRange) => {
      const port = ports.one();
      const ftp = kind === 'rsa' ? { ftps: ports.one(), publicPassive: passive, upstreamFtp: upstreamFtpPort, upstreamPassive } : undefined;
      const healthPort = ports.one();
      const server = await Server.start(
        name,
        () =>
          startGateway(registry, {
            repoRoot,
            dir: join(dir, name),
            name,
            cert,
            upstreamWebPort: nginxPort,
            ports: { https: port, health: healthPort, ...(ftp ? { ftp } : {}) },
            redisUrl: config.redisUrl,
            redisPrefix,
            workers,
            ...(config.gatewayLogLevel ? { logLevel: config.gatewayLogLevel } : {}),
            ...(config.cpuProfileDir && workers === 1 ? { cpuProfileDir: config.cpuProfileDir } : {}),
            ...(config.upstreamKeepAliveMs !== undefined ? { upstreamKeepAliveMs: config.upstreamKeepAliveMs } : {}),
          }),
        note,
      );
      return { server, port, ftps: ftp?.ftps ?? 0 };
    };
    const one = await startGatewayOf(`gateway-${kind}`, 1, publicPassive);
    const two = await startGatewayOf(`gateway2w-${kind}`, 2, publicPassive2w);
    const gateway = one.server;
    const gatewayPort = one.port;
    if (kind === 'rsa') {
      gatewayRsa = gateway;
      ftpsPort = one.ftps;
      gateway2wRsa = two.server;
      ftps2wPort = two.ftps;
    }
    const stunnelPort = ports.one();
    const stunnel = await Server.start(
      `stunnel-${kind}`,
      () => startStunnel(registry, { dir: join(dir, 'stunnel'), name: `stunnel-${kind}`, port: stunnelPort, upstreamPort: nginxPort, cert }),
      note,
    );
    const relayPort = ports.one();
    const relay = await Server.start(
      `relay-${kind}`,
      () => startRelay(registry, { dir, name: `relay-${kind}`, script: join(here, 'node-relay.js'), port: relayPort, upstreamPort: nginxPort, cert }),
      note,
    );
    const nginxTlsPort = ports.one();
    const nginxTls = await Server.start(
      `nginx-${kind}`,
      () => startNginxTls(registry, { dir, name: `nginx-tls-${kind}`, port: nginxTlsPort, upstreamPort: nginxPort, cert, workers: config.nginxWorkers }),
      note,
    );
    const haproxyPort = ports.one();
    const haproxy = haproxyInstalled
      ? await Server.start(`haproxy-${kind}`, () => startHaproxyTls(registry, { dir, name: `haproxy-${kind}`, port: haproxyPort, upstreamPort: nginxPort, cert, threads: null }), note)
      : null;
    if (!haproxy) note('haproxy is not installed: its column stays empty');
    https[kind] = [
      { id: 'gateway', kind, port: gatewayPort, server: gateway },
      { id: 'gateway2w', kind, port: two.port, server: two.server },
      { id: 'stunnel', kind, port: stunnelPort, server: stunnel },
      { id: 'nginx', kind, port: nginxTlsPort, server: nginxTls },
      ...(haproxy ? [{ id: 'haproxy' as const, kind, port: haproxyPort, server: haproxy }] : []),
      { id: 'relay', kind, port: relayPort, server: relay },
    ];
  }
  log('starting vsftpd with implicit FTPS');
  const nativeFtpsPort = ports.one();
  const vsftpdFtps = await Server.start(
    'vsftpd-ftps',
    () =>
      startVsftpdFtps(registry, {
        workDir: join(dir, 'vsftpd-ftps'),
        rootDir: filesDir,
        user: ftpUser,
        pamService: plainVsftpd.pamService,
        port: nativeFtpsPort,
        passiveRange: nativePassive,
        cert: certs.rsa,
      }),
    note,
  );
  const ftps: FtpsTerminator[] = [
    { id: 'gateway', port: ftpsPort, server: gatewayRsa! },
    { id: 'gateway2w', port: ftps2wPort, server: gateway2wRsa! },
    { id: 'vsftpd', port: nativeFtpsPort, server: vsftpdFtps },
  ];

  const httpsUrl = (t: HttpsTerminator, file: string) => `https://127.0.0.1:${t.port}/${file}`;
  const ftpsUrl = (t: FtpsTerminator, file: string) => `ftps://127.0.0.1:${t.port}/${file}`;
  const credentials = { user: ftpUser, password: ftpPassword };
  const bulkTimeoutMs = Math.max(120_000, (bulkBytes / (20 * 1e6)) * 1000); // never slower than 20 MB/s

  // Every terminator must serve the right bytes before anything is measured.
  const tlsSeen: string[] = [];
  for (const t of [...https.rsa, ...https.ecdsa]) {
    const check = await curlHttps(registry, httpsUrl(t, 'small.bin'), certs[t.kind].certFile, 1024, 10_000);
    if (!check.ok) throw new Error(`${terminatorTitles[t.id]} (${t.kind}) does not serve small.bin: ${check.problem}\n${t.server.current.logTail()}`);
    tlsSeen.push(`${terminatorTitles[t.id]} ${certs[t.kind].label}: ${describeTls(await probeTls(registry, t.port, certs[t.kind].certFile))}`);
  }
  for (const t of ftps) {
    const check = await curlFtps(registry, ftpsUrl(t, 'small.bin'), credentials, certs.rsa.certFile, 1024, 15_000);
    if (!check.ok) throw new Error(`${terminatorTitles[t.id]} FTPS does not serve small.bin: ${check.problem}\n${t.server.current.logTail()}`);
    tlsSeen.push(`${terminatorTitles[t.id]} FTPS control: ${describeTls(await probeTls(registry, t.port, certs.rsa.certFile))}`);
  }

  const measureHttpsBulk = async (t: HttpsTerminator, round: number) => {
    if (!(await t.server.ensureRunning())) return;
    const cpu = trackCpu(t.server.pid);
    const result = await curlHttps(registry, httpsUrl(t, 'bulk.bin'), certs.rsa.certFile, bulkBytes, bulkTimeoutMs);
    recordBulk('httpsBulkMBps', 'httpsBulkCpuPerGiB', t.id, result, await cpu(), round, `round ${round} HTTPS bulk via ${terminatorTitles[t.id]}`);
  };
  const measureFtpsBulk = async (t: FtpsTerminator, round: number) => {
    if (!(await t.server.ensureRunning())) return;
    const cpu = trackCpu(t.server.pid, t.id === 'vsftpd');
    const result = await curlFtps(registry, ftpsUrl(t, 'bulk.bin'), credentials, certs.rsa.certFile, bulkBytes, bulkTimeoutMs);
    recordBulk('ftpsBulkMBps', 'ftpsBulkCpuPerGiB', t.id, result, await cpu(), round, `round ${round} FTPS bulk via ${terminatorTitles[t.id]}`);
  };
  const recordBulk = (rate: Metric, cpu: Metric, id: Terminator, result: Download, cpuSeconds: number, round: number, what: string) => {
    if (!result.ok || result.seconds <= 0) {
      note(`${what} failed: ${result.problem}`);
      return;
    }
    const mbps = result.bytes / result.seconds / 1e6;
    const cpuPerGiB = cpuSeconds / (result.bytes / GiB);
    addSample(samples, rate, id, mbps, round);
    addSample(samples, cpu, id, cpuPerGiB, round);
    log(`${what}: ${mbps.toFixed(0)} MB/s, ${cpuPerGiB.toFixed(2)} CPU-s/GiB`);
  };
  const measureKeepAlive = async (t: HttpsTerminator, round: number) => {
    if (!(await t.server.ensureRunning())) return;
    const cpu = trackCpu(t.server.pid);
    const started = Date.now();
    const result = await wrk(registry, httpsUrl(t, 'small.bin'), { connections: config.wrkConnections, threads: config.wrkThreads, seconds: config.wrkSeconds });
    const cpuPct = (100 * (await cpu())) / ((Date.now() - started) / 1000);
    const what = `round ${round} keep-alive via ${terminatorTitles[t.id]}`;
    if (!result.ok) return note(`${what} not counted: ${result.problem}`);
    addSample(samples, 'keepAliveRps', t.id, result.requestsPerSecond, round);
    addSample(samples, 'keepAliveCpuPct', t.id, cpuPct, round);
    // CPU per request: the terminator's share of a core over its request rate.
    addSample(samples, 'keepAliveCpuUs', t.id, (cpuPct / 100 / result.requestsPerSecond) * 1e6, round);
    log(`${what}: ${result.requestsPerSecond.toFixed(0)} req/s, terminator at ${cpuPct.toFixed(0)}% of a core`);
  };
  const measureHandshakes = async (t: HttpsTerminator, round: number) => {
    if (!(await t.server.ensureRunning())) return;
    const cpu = trackCpu(t.server.pid);
    const started = Date.now();
    const result = await ab(registry, httpsUrl(t, 'small.bin'), { requests: config.abRequests, concurrency: config.abConcurrency, maxSeconds: config.abSeconds });
    const cpuPct = (100 * (await cpu())) / ((Date.now() - started) / 1000);
    const what = `round ${round} ${certs[t.kind].label} handshakes via ${terminatorTitles[t.id]}`;
    if (!result.ok) return note(`${what} not counted: ${result.problem}`);
    addSample(samples, t.kind === 'rsa' ? 'handshakesRsa' : 'handshakesEcdsa', t.id, result.requestsPerSecond, round);
    if (t.kind === 'rsa') addSample(samples, 'handshakesRsaCpuPct', t.id, cpuPct, round);
    addSample(samples, t.kind === 'rsa' ? 'handshakesRsaCpuUs' : 'handshakesEcdsaCpuUs', t.id, (cpuPct / 100 / result.requestsPerSecond) * 1e6, round);
    log(`${what}: ${result.requestsPerSecond.toFixed(0)} handshakes/s (${result.complete} requests), terminator at ${cpuPct.toFixed(0)}% of a core`);
  };

  // A new TLS connection per request that resumes its session: wrk keeps each connection's session (SSL_clear)
  // and offers it when it connects again after the server's Connection: close.
  const resumedBy = new Map<Terminator, Resumption>();
  const measureResumed = async (t: HttpsTerminator, round: number) => {
    if (!(await t.server.ensureRunning())) return;
    if (!resumedBy.has(t.id)) resumedBy.set(t.id, await resumes(registry, t.port, certs[t.kind].certFile, dir));
    const cpu = trackCpu(t.server.pid);
    const started = Date.now();
    const result = await wrk(registry, httpsUrl(t, 'small.bin'), { connections: config.wrkConnections, threads: config.wrkThreads, seconds: config.wrkSeconds, headers: ['Connection: close'] });
    const cpuPct = (100 * (await cpu())) / ((Date.now() - started) / 1000);
    const what = `round ${round} resumed connections via ${terminatorTitles[t.id]}`;
    if (!result.ok) return note(`${what} not counted: ${result.problem}`);
    addSample(samples, 'resumedRps', t.id, result.requestsPerSecond, round);
    addSample(samples, 'resumedCpuUs', t.id, (cpuPct / 100 / result.requestsPerSecond) * 1e6, round);
    log(`${what}: ${result.requestsPerSecond.toFixed(0)} connections/s, terminator at ${cpuPct.toFixed(0)}% of a core`);
  };

  const warmHttps = async (t: HttpsTerminator) => {
    await ab(registry, httpsUrl(t, 'small.bin'), { requests: 300, concurrency: 8, maxSeconds: 10 });
    if (t.kind === 'rsa') {
      await wrk(registry, httpsUrl(t, 'small.bin'), { connections: 16, threads: 1, seconds: 2 });
      await curlHttps(registry, httpsUrl(t, 'mem.bin'), certs.rsa.certFile, memBytes, 60_000);
    }
  };
  const warmFtps = (t: FtpsTerminator) => curlFtps(registry, ftpsUrl(t, 'mem.bin'), credentials, certs.rsa.certFile, memBytes, 60_000).then(() => undefined);
  if (config.warmup) {
    log('warm-up (not counted)');
    for (const t of [...https.rsa, ...https.ecdsa]) await warmHttps(t);
    for (const t of ftps) await warmFtps(t);
    for (const t of [...https.rsa, ...https.ecdsa]) {
      const ftpsSide = ftps.find((f) => f.server === t.server);
      t.server.warm = async () => {
        await warmHttps(t);
        if (ftpsSide) await warmFtps(ftpsSide);
      };
    }
    for (const t of ftps) t.server.warm ??= () => warmFtps(t);
  }

  for (let round = 1; round <= config.rounds; round++) {
    log(`round ${round}/${config.rounds}`);
    // Each round starts with a different terminator, so none always runs first (or right after a heavy run).
    if (config.phases.has('https-bulk')) for (const t of rotate(https.rsa, round - 1)) await measureHttpsBulk(t, round);
    if (config.phases.has('ftps-bulk')) for (const t of rotate(ftps, round - 1)) await measureFtpsBulk(t, round);
    if (config.phases.has('keepalive')) for (const t of rotate(https.rsa, round - 1)) await measureKeepAlive(t, round);
    if (config.phases.has('resumed')) for (const t of rotate(https.rsa, round - 1)) await measureResumed(t, round);
    if (config.phases.has('handshakes')) {
      for (const kind of rotate(['rsa', 'ecdsa'] as KeyKind[], round - 1)) {
        for (const t of rotate(https[kind], round - 1)) await measureHandshakes(t, round);
      }
    }
  }

  if (config.phases.has('memory') && !(await gatewayRsa!.ensureRunning())) note('memory run skipped: the gateway is gone');
  else if (config.phases.has('memory')) {
    const gateway = gatewayRsa!;
    const idle = treeRssBytes(gateway.pid);
    const gatewayHttps = https.rsa.find((t) => t.id === 'gateway')!;
    log(`memory: ${config.memIdleTls} idle TLS connections to the gateway's HTTPS port, then ${config.memStreams} concurrent ${config.memMiB} MiB FTPS downloads (RSS before ${(idle / 1e6).toFixed(0)} MB)`);
    const poll = pollPeakRss(gateway.pid, 100);
    const idleConnections = await openIdleTls(gatewayHttps.port, config.memIdleTls, await readFile(certs.rsa.certFile, 'utf8'));
    const withIdle = treeRssBytes(gateway.pid);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: config.memStreams }, () =>
        curlFtps(registry, ftpsUrl(ftps[0]!, 'mem.bin'), credentials, certs.rsa.certFile, memBytes, Math.max(180_000, bulkTimeoutMs)),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const { peakBytes, samples: rssSamples } = poll.stop();
    idleConnections.close();
    const failed = results.filter((r) => !r.ok);
    addSample(samples, 'peakRssMB', 'gateway', peakBytes / 1e6);
    note(
      `memory run: ${idleConnections.open} idle TLS connections held (${idleConnections.failed} failed${idleConnections.problem ? `: ${idleConnections.problem}` : ''}); ` +
        `${results.length - failed.length}/${results.length} downloads of ${config.memMiB} MiB complete in ${seconds.toFixed(1)} s ` +
        `(${((results.length - failed.length) * memBytes / seconds / 1e6).toFixed(0)} MB/s in total); gateway RSS before ${(idle / 1e6).toFixed(0)} MB, ` +
        `with the idle connections ${(withIdle / 1e6).toFixed(0)} MB, peak ${(peakBytes / 1e6).toFixed(0)} MB over ${rssSamples} samples at 100 ms`,
    );
    for (const failure of failed.slice(0, 3)) note(`memory run download failed: ${failure.problem}`);
  }

  // Stopping the gateway writes its CPU profile.
  const loadAtEnd = os.loadavg();
  log('stopping everything');
  await registry.stopAll();
  if (config.cpuProfileDir) {
    for (const name of (await readdir(config.cpuProfileDir).catch(() => [] as string[])).filter((n) => n.endsWith('.cpuprofile')).sort()) {
      const profile = JSON.parse(await readFile(join(config.cpuProfileDir, name), 'utf8')) as CpuProfile;
      sections.push(renderProfileSection(`CPU profile ${name}`, profile));
    }
  }

  const versions = await toolVersions(registry);
  const cpu = os.cpus();
  const knobs = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_'))
    .map(([name, value]) => `${name}=${value}`)
    .sort();
  const setup = [
    `run: ${new Date().toISOString()}, ${((Date.now() - startedAt) / 60_000).toFixed(1)} min, \`${[...knobs, 'pnpm bench'].join(' ')}\``,
    `machine: ${cpu[0]?.model ?? '?'} × ${cpu.length}, ${(os.totalmem() / GiB).toFixed(0)} GiB RAM, Linux ${os.release()}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((l) => l.toFixed(2)).join(' ')} at end`,
    `software: ${versions.join('; ')}`,
    `parameters: ${config.rounds} round(s), terminators interleaved; bulk ${config.bulkMiB} MiB (curl, one stream); keep-alive wrk -t ${config.wrkThreads} -c ${config.wrkConnections} -d ${config.wrkSeconds}s on 1 KiB; handshakes ab -c ${config.abConcurrency} -n ${config.abRequests} (≤ ${config.abSeconds} s) on 1 KiB; memory ${config.memStreams}×${config.memMiB} MiB FTPS (curl)${config.upstreamKeepAliveMs !== undefined ? `; gateway upstreamKeepAliveMs ${config.upstreamKeepAliveMs}` : ''}${config.phases.size < phases.length ? `; phases: ${[...config.phases].join(', ')}` : ''}`,
    `upstream: nginx (${config.nginxWorkers} workers, sendfile, keep-alive) and vsftpd (plain FTP, passive); all on 127.0.0.1`,
    `negotiated (openssl s_client, same OpenSSL defaults as curl/wrk/ab): ${tlsSeen.join('; ')}`,
    `nginx as terminator: worker_processes ${config.nginxWorkers}, session cache and tickets; HAProxy: mode http, nbthread default (one per CPU), http-reuse always`,
    ...(resumedBy.size > 0 ? [`sessions resumed (openssl s_client, each connection offering the session the one before ended with): ${[...resumedBy].map(([id, how]) => `${terminatorTitles[id]} ${how}`).join(', ')}`] : []),
  ];
  const report = renderReport({
    title: 'Secure Transfers gateway benchmark',
    setup,
    samples,
    rows: reportRows({ streams: config.memStreams, mib: config.memMiB, idleTls: config.memIdleTls }),
    notes,
    sections,
  });
  process.stdout.write(`\n${report}`);
  if (config.out) {
    await mkdir(dirname(config.out), { recursive: true });
    await writeFile(config.out, report);
    log(`written to ${config.out}`);
  }
}

async function toolVersions(registry: ProcessRegistry): Promise<string[]> {
  const first = async (command: string, args: string[], pattern: RegExp) => {
    const result = await registry.run(command, args, 10_000);
    return pattern.exec(`${result.stdout}\n${result.stderr}`)?.[0]?.trim() ?? `${command} ?`;
  };
  return [
    `node ${process.version} (OpenSSL ${process.versions.openssl})`,
    await first('stunnel4', ['-version'], /stunnel \S+/),
    await first('nginx', ['-v'], /nginx\/\S+/),
    `vsftpd ${await first('dpkg-query', ['-W', '-f', '${Version}', 'vsftpd'], /\S+/)}`,
    await first('curl', ['-V'], /curl \S+ .*?OpenSSL\/\S+/),
    await first('wrk', ['-v'], /wrk \S+/),
    await first('ab', ['-V'], /Version \S+/).then((v) => `ab ${v.replace('Version ', '')}`),
  ];
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  if (process.getuid?.() !== 0) throw new Error('the benchmark runs vsftpd with a local FTP account: run it as root');
  const notes: string[] = [];
  const registry = new ProcessRegistry((server, how) => {
    const tail = server.logTail(1500).trim().split('\n').slice(-8).join('\n    ');
    notes.push(`${server.name} (pid ${server.pid}) stopped during the run (${how}); the bench restarts it before its next measurement`);
    log(`${server.name} (pid ${server.pid}) stopped unexpectedly (${how}); last log lines:\n    ${tail}`);
  });
  const dir = await mkdtemp(join(os.tmpdir(), 'st-bench-'));
  await chmod(dir, 0o755);
  if (config.cpuProfileDir) {
    await mkdir(config.cpuProfileDir, { recursive: true });
    // Profiles are written under fixed names; a stale one from an interrupted run must not be summarised.
    for (const kind of ['rsa', 'ecdsa']) await rm(join(config.cpuProfileDir, `gateway-${kind}.cpuprofile`), { force: true });
  }
  let redisPrefix: string | undefined;
  const removeDirSync = () => {
    if (!config.keepTmp) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', removeDirSync);

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await registry.stopAll().catch((error) => log(`stopping: ${(error as Error).message}`));
      if (redisPrefix) {
        const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
        redis.on('error', () => undefined);
        try {
          await redis.connect();
          const keys = await redis.keys(`${redisPrefix}*`);
          if (keys.length > 0) await redis.del(...keys);
        } catch {
          // Leases expire by themselves.
        }
        redis.disconnect();
      }
      if (config.keepTmp) log(`kept ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    })());

  const abort = (why: string, code: number) => {
    log(`${why}; stopping everything`);
    void cleanup().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  const limit = setTimeout(() => abort(`time limit of ${config.timeLimitMin} min reached (BENCH_TIME_LIMIT_MIN)`, 124), config.timeLimitMin * 60_000);
  limit.unref();

  try {
    await run(config, registry, dir, notes, (prefix) => (redisPrefix = prefix));
  } finally {
    clearTimeout(limit);
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
