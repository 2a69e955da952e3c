import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { processTree, readProcStat } from './proc-stats.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Kills a process and everything below it. The root is frozen first so that it
 * cannot fork while we collect its descendants (vsftpd puts each session in a
 * new process session, so a process-group kill would miss them). Synchronous:
 * it also runs from an 'exit' handler.
 */
export function killTreeSync(root: number): void {
  signal(root, 'SIGSTOP');
  const tree = processTree(root);
  for (const stat of tree) signal(stat.pid, 'SIGSTOP');
  for (const stat of tree) signal(stat.pid, 'SIGKILL');
  signal(root, 'SIGKILL');
}

function isGone(pid: number): boolean {
  const stat = readProcStat(pid);
  return !stat || stat.state === 'Z' || stat.state === 'X';
}

export interface ManagedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Settles when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM (or `gracefulSignal`), then SIGKILL of the whole tree after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  logTail(bytes?: number): string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Signal for a graceful stop; null kills the tree at once (vsftpd). */
  gracefulSignal?: NodeJS.Signals | null;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  timedOut: boolean;
}

/**
 * Owns every process the benchmark starts: servers (output to a log file) and
 * clients (output captured). stopAll() stops them in reverse order; an 'exit'
 * handler kills whatever is left, so Ctrl-C or a crash leaves nothing running.
 */
export class ProcessRegistry {
  private readonly servers: ManagedProcess[] = [];
  private readonly clients = new Set<ChildProcess>();
  private readonly extraStops: Array<() => Promise<void>> = [];
  private readonly adoptedPids: number[] = [];
  private readonly onExit = () => this.killAllSync();

  /** Called when a server exits without being asked to (a crash, or someone else's kill). */
  constructor(private readonly onUnexpectedExit?: (server: ManagedProcess, how: string) => void) {
    process.on('exit', this.onExit);
  }

  /** Something started elsewhere (startVsftpd) that must be stopped with the rest. */
  adopt(stop: () => Promise<void>, pid?: number): void {
    this.extraStops.push(async () => {
      await stop().catch(() => (pid ? killTreeSync(pid) : undefined));
      if (pid !== undefined) this.adoptedPids.splice(this.adoptedPids.indexOf(pid), 1);
    });
    if (pid !== undefined) this.adoptedPids.push(pid);
  }

  start(options: StartOptions): ManagedProcess {
    const fd = openSync(options.logFile, 'a');
    const spawnOptions: SpawnOptions = { stdio: ['ignore', fd, fd], env: options.env ?? process.env, detached: true };
    if (options.cwd) spawnOptions.cwd = options.cwd;
    const child = spawn(options.command, options.args, spawnOptions);
    closeSync(fd);
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, sig) => resolve((exitInfo = { code, signal: sig })));
      child.once('error', (error) => {
        exitInfo = { code: null, signal: null };
        appendFileSync(options.logFile, `\n[bench] could not start ${options.command}: ${error.message}\n`);
        resolve(exitInfo);
      });
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
    const pid = child.pid;
    let stopping = false;
    const managed: ManagedProcess = {
      name: options.name,
      pid,
      child,
      logFile: options.logFile,
      exited,
      hasExited: () => exitInfo !== undefined,
      stop: async (graceMs = 5_000) => {
        stopping = true;
        if (exitInfo) return;
        const graceful = options.gracefulSignal === undefined ? 'SIGTERM' : options.gracefulSignal;
        if (graceful) {
          signal(pid, graceful);
          await Promise.race([exited, sleep(graceMs)]);
          // Gone: its pid may be reused from now on, so it must not be signalled again.
          if (exitInfo) return;
        }
        const tree = processTree(pid).map((stat) => stat.pid);
        killTreeSync(pid);
        const giveUpAt = Date.now() + 5_000;
        while ((!exitInfo || !tree.every(isGone)) && Date.now() < giveUpAt) await sleep(20);
      },
      logTail: (bytes = 3000) => {
        try {
          return readFileSync(options.logFile, 'utf8').slice(-bytes);
        } catch {
          return '';
        }
      },
    };
    void exited.then((info) => {
      if (!stopping) this.onUnexpectedExit?.(managed, info.signal ? `killed by ${info.signal}` : `exit code ${info.code}`);
    });
    this.servers.push(managed);
    return managed;
  }

  /** Runs a client to completion (killed after `timeoutMs`), capturing its output. */
  run(command: string, args: string[], timeoutMs: number): Promise<RunResult> {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.clients.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString('utf8')).slice(-200_000)));
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    return new Promise((resolve) => {
      const finish = (code: number | null, sig: NodeJS.Signals | null, error?: Error) => {
        clearTimeout(timer);
        this.clients.delete(child);
        resolve({
          code,
          signal: sig,
          stdout,
          stderr: error ? `${stderr}${error.message}` : stderr,
          elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
          timedOut,
        });
      };
      child.once('error', (error) => finish(null, null, error));
      child.once('close', (code, sig) => finish(code, sig));
    });
  }

  async stopAll(): Promise<void> {
    for (const client of this.clients) client.kill('SIGKILL');
    for (const server of [...this.servers].reverse()) await server.stop().catch(() => killTreeSync(server.pid));
    for (const stop of this.extraStops.reverse()) await stop();
    this.servers.length = 0;
    this.extraStops.length = 0;
    process.off('exit', this.onExit);
  }

  killAllSync(): void {
    for (const client of this.clients) client.kill('SIGKILL');
    for (const server of this.servers) if (!server.hasExited()) killTreeSync(server.pid);
    for (const pid of this.adoptedPids) killTreeSync(pid);
  }
}

/** Resolves when something accepts TCP connections on 127.0.0.1:port; rejects after `timeoutMs` or when `died` settles. */
export async function waitForPort(port: number, timeoutMs: number, process?: ManagedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process?.hasExited()) throw new Error(`${process.name} exited during start:\n${process.logTail()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms${process ? `:\n${process.logTail()}` : ''}`);
    await sleep(50);
  }
}
