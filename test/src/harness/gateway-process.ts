import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from '@st/test-kit';
import type { Stack } from './stack.js';

const repoRoot = resolve(__dirname, '../../..');

export interface GatewayProcess {
  replica: string;
  pid: number;
  healthUrl: string;
  logFile: string;
  /** The combined status its health port answers (a worker pool's includes `workers`). */
  health(): Promise<{ status: number; body: Record<string, unknown> & { workers?: Array<{ index: number; pid: number | null; status: string }> } }>;
  /** Sends a signal to the process (SIGTERM: drain and stop); resolves with its exit code and signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL to its whole process group (workers included): nothing cleans up. */
  kill(): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The built gateway (services/tunnel-gateway/dist/main.js) as its own
 * process, over a stack's services, Redis prefix and ticket secret: another
 * replica, as compose runs it. Logs go to `logFile` (JSON lines). Resolves once
 * its health port says ready.
 */
export async function startGatewayProcess(
  stack: Stack,
  options: { replica: string; bindHost?: string; workers?: number; env?: Record<string, string> },
): Promise<GatewayProcess> {
  const healthPort = await freePort();
  const dir = join(stack.dir, `gateway-${options.replica}`);
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, 'gateway.log');
  const log = await open(logFile, 'a');
  const child: ChildProcess = spawn('node', ['services/tunnel-gateway/dist/main.js'], {
    cwd: repoRoot,
    // Its own process group: a kill reaches its workers too, and nothing else.
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      REPLICA_ID: options.replica,
      SERVICE_TOKEN: stack.serviceToken,
      CONFIG_SERVICE_URL: stack.configServiceUrl,
      CERT_SERVICE_URL: stack.certServiceUrl,
      REDIS_URL: stack.redisUrl,
      REDIS_PREFIX: stack.redisPrefix,
      TLS_TICKET_KEYS: stack.ticketKeysHex,
      AMQP_URL: stack.amqpUrl,
      EVENTS_EXCHANGE: stack.eventsExchange,
      GATEWAY_CACHE_DIR: join(dir, 'cache'),
      GATEWAY_HEALTH_PORT: String(healthPort),
      GATEWAY_WORKERS: String(options.workers ?? 1),
      ...(options.bindHost ? { GATEWAY_BIND_HOST: options.bindHost } : {}),
      ...options.env,
    },
  });
  await log.close();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  const health = async () => {
    const response = await fetch(`${healthUrl}/health/ready`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway ${options.replica} exited at start (${child.exitCode}); see ${logFile}`);
    const answer = await health().catch(() => null);
    if (answer?.status === 200) break;
    if (Date.now() > deadline) {
      process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`gateway ${options.replica} not ready within 30 s: ${JSON.stringify(answer?.body ?? 'no answer')}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return {
    replica: options.replica,
    pid: child.pid!,
    healthUrl,
    logFile,
    health,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    kill: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** One JSON log record of a gateway process (its fields vary by message). */
export interface LogRecord {
  msg: string;
  replica?: string;
  session?: string;
  conn?: string;
  resumed?: boolean;
  [field: string]: unknown;
}

/** Every record a gateway process has written to its log so far (complete lines only: it may be writing one now). */
export async function readRecords(logFile: string): Promise<LogRecord[]> {
  const lines = (await readFile(logFile, 'utf8')).split('\n');
  // The text after the last newline is a record still being written (or nothing).
  lines.pop();
  return lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogRecord);
}
