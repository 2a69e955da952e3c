import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@st/logging';
import { listenHttp, type RunningHttpServer } from '@st/service-kit';
import { healthApp, type GatewayStatus } from './health.js';
import { combineWorkerStatuses, type CombinedStatus, type WorkerView } from './worker-status.js';

/** Messages between the primary and its workers (over the cluster's IPC channel). */
export type WorkerMessage = { type: 'status-request'; id: number } | { type: 'status'; id: number; status: GatewayStatus };

export interface WorkerPoolOptions {
  count: number;
  /** The gateway's replica id; worker N is `<replica>-w<N>`, a replica of its own in leases and status reports. */
  replica: string;
  health: { host: string; port: number };
  /** How long a stopping worker may take (its drain), before the primary kills it. */
  stopTimeoutMs: number;
  logger: Logger;
  /** A worker that exits with this code found its configuration unusable: the primary stops too, with it. */
  fatalExitCode: number;
  /** Called when that happens (the process then ends with the code). */
  onFatal: (code: number) => void;
}

/** How long a worker may take to answer a status request. */
const statusTimeoutMs = 1000;
/** A worker that dies this soon after starting is restarted more slowly each time (a crash loop must not spin). */
const quickDeathMs = 10_000;
const maxRestartDelayMs = 30_000;

interface Slot {
  index: number;
  worker: Worker | null;
  startedAt: number;
  restartDelayMs: number;
  timer: NodeJS.Timeout | null;
}

/**
 * The primary process of a gateway with GATEWAY_WORKERS > 1: forks the worker
 * processes (each a complete gateway, sharing every public port through the
 * cluster module: the kernel hands each connection to one of them), replaces one that dies while the others keep serving,
 * answers the health port for all of them, and on stop lets each drain.
 *
 * Workers get the same session-ticket secret (generated here when none is
 * configured), so a data connection resumes its control connection's TLS
 * session whichever worker accepts it.
 */
export class WorkerPool {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, (status: GatewayStatus | null) => void>();
  private nextRequest = 1;
  private stopping = false;
  private health: RunningHttpServer | null = null;
  private readonly workerEnv: Record<string, string>;

  constructor(private readonly options: WorkerPoolOptions) {
    this.slots = Array.from({ length: options.count }, (_, i) => ({ index: i + 1, worker: null, startedAt: 0, restartDelayMs: 1000, timer: null }));
    this.workerEnv = {};
    if (!process.env.TLS_TICKET_KEYS && !process.env.TLS_TICKET_KEYS_FILE) this.workerEnv.TLS_TICKET_KEYS = randomBytes(48).toString('hex');
  }

  async start(): Promise<void> {
    // Workers accept from the shared sockets themselves (the kernel picks one), unless NODE_CLUSTER_SCHED_POLICY
    // says otherwise: the cluster's default, the primary accepting every connection and passing it on, cost
    // 46-62% more CPU per TLS handshake in `pnpm bench` on 2 cores (11-19% this way).
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
    for (const slot of this.slots) this.fork(slot);
    this.health = await listenHttp(healthApp(() => this.combinedStatus()), this.options.health.host, this.options.health.port);
    this.options.logger.info({ workers: this.options.count, health: this.health.url }, 'gateway worker processes started');
  }

  get healthUrl(): string | null {
    return this.health?.url ?? null;
  }

  /** SIGTERM to every worker (each drains), then kills those still running after stopTimeoutMs. */
  async stop(): Promise<void> {
    this.stopping = true;
    const running = this.slots.flatMap((slot) => {
      if (slot.timer) clearTimeout(slot.timer);
      return slot.worker && !slot.worker.isDead() ? [slot.worker] : [];
    });
    const exits = running.map((worker) => new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code))));
    for (const worker of running) worker.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const worker of running) {
        if (worker.isDead()) continue;
        this.options.logger.warn({ pid: worker.process.pid }, 'gateway worker did not stop within its drain time; killing it');
        worker.process.kill('SIGKILL');
      }
    }, this.options.stopTimeoutMs);
    const codes = await Promise.all(exits);
    clearTimeout(killer);
    await this.health?.close();
    if (codes.some((code) => code !== 0)) this.options.logger.warn({ codes }, 'some gateway workers did not stop cleanly');
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ ...this.workerEnv, REPLICA_ID: `${this.options.replica}-w${slot.index}` });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.timer = null;
    worker.on('message', (message: WorkerMessage) => {
      if (message?.type !== 'status') return;
      this.pending.get(message.id)?.(message.status);
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker === worker) slot.worker = null;
      if (this.stopping) return;
      if (code === this.options.fatalExitCode) {
        // Starting it again would only fail again, for ever: the gateway as a whole cannot run.
        this.options.logger.fatal({ worker: slot.index, code }, 'a gateway worker found its configuration unusable; stopping');
        void this.stop().finally(() => this.options.onFatal(code));
        return;
      }
      const quick = Date.now() - slot.startedAt < quickDeathMs;
      slot.restartDelayMs = quick ? Math.min(slot.restartDelayMs * 2, maxRestartDelayMs) : 1000;
      this.options.logger.warn({ worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: slot.restartDelayMs }, 'gateway worker process exited; starting a new one');
      slot.timer = setTimeout(() => this.fork(slot), slot.restartDelayMs);
    });
  }

  private async statusOf(slot: Slot): Promise<WorkerView> {
    const worker = slot.worker;
    if (!worker || worker.isDead()) return { index: slot.index, running: false, status: null };
    if (!worker.isConnected()) return { index: slot.index, running: true, status: null };
    const id = this.nextRequest++;
    const status = await new Promise<GatewayStatus | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, statusTimeoutMs);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answer);
      });
      worker.send({ type: 'status-request', id } satisfies WorkerMessage, (error: Error | null) => {
        if (error) this.pending.get(id)?.(null);
      });
    });
    return { index: slot.index, running: true, status };
  }

  /** One status for all workers, from what each answers. */
  private async combinedStatus(): Promise<CombinedStatus> {
    const views = await Promise.all(this.slots.map((slot) => this.statusOf(slot)));
    return combineWorkerStatuses(this.options.replica, process.pid, this.options.count, views);
  }
}

/** In a worker: answers the primary's status requests. */
export function answerStatusRequests(status: () => GatewayStatus): void {
  process.on('message', (message: WorkerMessage) => {
    if (message?.type !== 'status-request' || !process.send) return;
    process.send({ type: 'status', id: message.id, status: status() } satisfies WorkerMessage);
  });
}
