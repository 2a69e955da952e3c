/**
 * What a full TLS handshake costs a Node process before the gateway does
 * anything: a bare node:tls server answering 1 KiB itself, beside nginx
 * (one worker) answering the same file, same certificate and suites, in
 * interleaved rounds of `ab` (a new connection and a full handshake per
 * request; ab offers no session to resume). CPU is the server's own
 * user+system time from /proc. The ratio is the floor under the gateway's
 * "CPU per full handshake" against nginx in the main report.
 *
 * Knobs: BENCH_FLOOR_ROUNDS (5), BENCH_AB_REQUESTS (3000), BENCH_AB_CONCURRENCY (16), BENCH_OUT;
 * skipped when BENCH_ONLY leaves out `handshakes`.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@st/test-kit';
import { intEnv } from './bench-env.js';
import { makeSelfSigned, type KeyKind } from './certificates.js';
import { ab } from './clients.js';
import { ProcessRegistry, waitForPort, type ManagedProcess } from './processes.js';
import { TreeCpuTracker } from './proc-stats.js';
import { formatSummary, median, publishSection, summarize } from './report.js';
import { startNginxTls } from './tls-terminators.js';

const here = dirname(fileURLToPath(import.meta.url));
const log = (message: string) => process.stderr.write(`[bench tls-floor] ${message}\n`);

const knobs = (() => {
  try {
    return { rounds: intEnv(process.env, 'BENCH_FLOOR_ROUNDS', 5), requests: intEnv(process.env, 'BENCH_AB_REQUESTS', 3000), concurrency: intEnv(process.env, 'BENCH_AB_CONCURRENCY', 16) };
  } catch (error) {
    log((error as Error).message);
    process.exit(2);
  }
})();
const { rounds, requests, concurrency } = knobs;

interface Server {
  label: string;
  kind: KeyKind;
  port: number;
  process: ManagedProcess;
  cpuMicrosPerHandshake: number[];
}

const only = (process.env.BENCH_ONLY ?? '').split(',').map((phase) => phase.trim()).filter(Boolean);
if (only.length > 0 && !only.includes('handshakes')) process.exit(0);

const registry = new ProcessRegistry((server, how) => log(`${server.name} exited unexpectedly (${how})`));
const dir = await mkdtemp(join(os.tmpdir(), 'st-bench-floor-'));
// The servers run in process groups of their own (a terminal's Ctrl-C does not reach them): stopped here.
const abort = (why: string, code: number) => {
  log(`${why}; stopping everything`);
  void registry
    .stopAll()
    .then(() => rm(dir, { recursive: true, force: true }))
    .finally(() => process.exit(code));
};
process.once('SIGINT', () => abort('interrupted', 130));
process.once('SIGTERM', () => abort('terminated', 143));
try {
  const bodyFile = join(dir, '1k.txt');
  await writeFile(bodyFile, 'x'.repeat(1023) + '\n', { mode: 0o644 });
  // nginx's workers run unprivileged and read the file from here.
  await chmod(dir, 0o755);
  const servers: Server[] = [];
  for (const kind of ['rsa', 'ecdsa'] as const) {
    const cert = await makeSelfSigned(dir, kind);
    const nginxPort = await freePort();
    const nginx = await startNginxTls(registry, { dir, name: `nginx-answer-${kind}`, port: nginxPort, upstreamPort: 0, cert, workers: '1', answerFrom: dir });
    servers.push({ label: `nginx, 1 worker, ${cert.label}`, kind, port: nginxPort, process: nginx, cpuMicrosPerHandshake: [] });
    const nodePort = await freePort();
    const node = registry.start({
      name: `node-answer-${kind}`,
      command: process.execPath,
      args: [join(here, 'node-tls-answer.js'), String(nodePort), bodyFile, cert.certFile, cert.keyFile],
      logFile: join(dir, `node-answer-${kind}.log`),
      gracefulSignal: 'SIGTERM',
    });
    await waitForPort(nodePort, 10_000, node);
    servers.push({ label: `bare Node TLS server, ${cert.label}`, kind, port: nodePort, process: node, cpuMicrosPerHandshake: [] });
  }
  for (let round = 1; round <= rounds; round++) {
    for (const server of servers) {
      const cpu = new TreeCpuTracker(server.process.pid);
      let seconds = 0;
      let result;
      try {
        result = await ab(registry, `https://127.0.0.1:${server.port}/1k.txt`, { requests, concurrency, maxSeconds: 60 });
      } finally {
        seconds = cpu.stop();
      }
      if (!result.ok) throw new Error(`${server.label}: ${result.problem}`);
      const micros = (seconds * 1e6) / result.complete;
      server.cpuMicrosPerHandshake.push(micros);
      log(`round ${round} ${server.label}: ${result.requestsPerSecond.toFixed(0)} handshakes/s, ${micros.toFixed(0)} µs CPU each`);
    }
  }
  const cell = (values: number[]) => formatSummary(summarize(values), 0);
  const rows: string[] = [];
  for (const kind of ['rsa', 'ecdsa'] as const) {
    const [nginx, node] = servers.filter((server) => server.kind === kind) as [Server, Server];
    const ratio = median(node.cpuMicrosPerHandshake) / median(nginx.cpuMicrosPerHandshake);
    rows.push(`| ${kind === 'rsa' ? 'RSA-2048' : 'ECDSA P-256'} | ${cell(nginx.cpuMicrosPerHandshake)} | ${cell(node.cpuMicrosPerHandshake)} | ${ratio.toFixed(2)}× |`);
  }
  await publishSection({
    title: 'What a full handshake costs Node itself',
    intro: `A server answering 1 KiB itself per connection (no relay): nginx with one worker, and a bare node:tls server; same certificate and suites. ${rounds} interleaved rounds of \`ab -c ${concurrency} -n ${requests}\` (a full handshake per request); CPU µs per handshake from /proc, median (min–max).`,
    columns: ['certificate', 'nginx', 'bare Node TLS server', 'Node ÷ nginx'],
    rows,
  });
} finally {
  await registry.stopAll();
  await rm(dir, { recursive: true, force: true });
}
