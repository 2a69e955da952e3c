import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { describePortProblem, findPortHolders } from '@st/service-kit';
import { assertReachable, createVirtualUser, ensureGuestAccount, guestAccountName, handOver, pamServiceName, type VirtualFtpUser } from './ftp-account.js';
import { renderVsftpdConfig, type PortRange } from './vsftpd-config.js';

export type { PortRange } from './vsftpd-config.js';

export const vsftpdBinary = '/usr/sbin/vsftpd';

export interface VsftpdOptions {
  /** Numeric listen address; 0.0.0.0 for every interface. */
  host: string;
  port: number;
  passiveRange: PortRange;
  rootDir: string;
  /** The virtual FTP user: it exists only for this vsftpd (see ftp-account.ts), never as a machine login. */
  user: string;
  password: string;
  /** Where vsftpd.conf, the user list, the password file and the logs go; it also names the PAM service. */
  workDir: string;
  /** Address advertised in 227 replies; defaults to host, or to the control connection's local address when host is a wildcard. */
  pasvAddress?: string;
  /** See VsftpdConfigInput.pasvPromiscuous; on by default because the gateway relays data from any replica. */
  pasvPromiscuous?: boolean;
  /** How long to wait for the 220 greeting. */
  startTimeoutMs?: number;
}

export interface RunningVsftpd {
  pid: number;
  port: number;
  /** vsftpd's own log: every command and reply, logins, transfers. */
  logFile: string;
  /** vsftpd's pam_service_name, the file in /etc/pam.d that knows the virtual user; deleted by stop(). */
  pamService: string;
  /** Settles when the listener exits, whether through stop() or on its own. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends the listener and every session, then removes the login. Calling it again returns the same promise. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** Connects once and resolves with the first reply line, or rejects. */
function readGreeting(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolveGreeting, reject) => {
    const socket = connect({ host, port });
    let text = '';
    const timer = setTimeout(() => finish(new Error('no greeting')), timeoutMs);
    const onAbort = () => finish(new Error('aborted'));
    signal.addEventListener('abort', onAbort);
    function finish(error: Error | undefined, line?: string) {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolveGreeting(line ?? '');
    }
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) finish(undefined, text.slice(0, end).trim());
      else if (text.length > 4096) finish(new Error('greeting too long'));
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('closed before greeting')));
  });
}

function portClosed(host: string, port: number): Promise<boolean> {
  return new Promise((resolveClosed) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolveClosed(false);
    });
    socket.once('error', () => resolveClosed(true));
  });
}

async function tail(path: string, bytes = 4000): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** The direct children of a process: one small file to read, so the listener stays frozen for microseconds. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Gone, or a zombie that only its new parent (init) can reap. */
function isGone(pid: number): boolean {
  const stat = readProcStat(pid);
  return !stat || stat.state === 'Z' || stat.state === 'X';
}

function signal(target: number, name: NodeJS.Signals): void {
  try {
    process.kill(target, name);
  } catch {
    // Already gone.
  }
}

/**
 * Kills the listener and every session. vsftpd makes each session a new process
 * session (setsid), so a session's processes are not in the listener's group: we
 * freeze the listener so that it cannot fork, read its children, and kill it
 * before anything else. It is frozen only between two system calls (no /proc
 * scan in between), so no stop of ours, cut short or not, leaves it stopped
 * (state T) on its port. Then each session's group. Synchronous, so that it
 * also works from an 'exit' handler.
 */
function killVsftpdTree(listenerPid: number): number[] {
  signal(listenerPid, 'SIGSTOP');
  const sessions = childrenOf(listenerPid);
  signal(listenerPid, 'SIGKILL');
  signal(-listenerPid, 'SIGKILL');
  for (const session of sessions) {
    signal(-session, 'SIGKILL');
    signal(session, 'SIGKILL');
  }
  return sessions;
}

/** "could not bind" from vsftpd says neither which port nor who holds it. */
async function explainBindFailure(output: string, host: string, port: number): Promise<string> {
  if (!/could not bind listening/i.test(output)) return '';
  const { holders } = await findPortHolders(port).catch(() => ({ holders: [] }));
  return `${describePortProblem({ need: { what: 'demo FTP server (DEMO_FTP_PORT)', host, from: port, to: port }, port, code: 'EADDRINUSE', holders })}. `;
}

/**
 * Runs Debian's vsftpd in the foreground with a configuration written for this
 * instance, and stops it together with every open session. Its login is a
 * virtual user of this work directory only (see ftp-account.ts).
 */
export async function startVsftpd(options: VsftpdOptions): Promise<RunningVsftpd> {
  try {
    await access(vsftpdBinary);
  } catch {
    throw new Error(`vsftpd is not installed (${vsftpdBinary} is missing): run \`apt-get install -y vsftpd libpam-pwdfile\``);
  }
  const workDir = resolve(options.workDir);
  const rootDir = resolve(options.rootDir);
  const secureChrootDir = join(workDir, 'empty');
  const paths = {
    config: join(workDir, 'vsftpd.conf'),
    userList: join(workDir, 'vsftpd.user_list'),
    vsftpdLog: join(workDir, 'vsftpd.log'),
    xferLog: join(workDir, 'xferlog'),
  };
  // Rendered first: a bad setting is refused before any account or file changes.
  const configText = renderVsftpdConfig({
    host: options.host,
    port: options.port,
    passiveRange: options.passiveRange,
    rootDir,
    userListFile: paths.userList,
    pamService: pamServiceName(workDir),
    guestAccount: guestAccountName,
    xferLogFile: paths.xferLog,
    vsftpdLogFile: paths.vsftpdLog,
    secureChrootDir,
    pasvAddress: options.pasvAddress,
    pasvPromiscuous: options.pasvPromiscuous ?? true,
  });
  try {
    await access(pamPwdfileModule);
  } catch {
    throw new Error(`pam_pwdfile is not installed (${pamPwdfileModule} is missing): run \`apt-get install -y libpam-pwdfile\``);
  }
  await mkdir(workDir, { recursive: true });
  await mkdir(secureChrootDir, { recursive: true });
  await chmod(secureChrootDir, 0o555);
  const account = await ensureGuestAccount();
  await handOver(rootDir, account);
  await assertReachable(rootDir, account);

  const login = await createVirtualUser({ user: options.user, password: options.password, workDir });
  try {
    return await launch(options, configText, paths, login);
  } catch (error) {
    await login.remove();
    throw error;
  }
}

const pamPwdfileModule = '/lib/x86_64-linux-gnu/security/pam_pwdfile.so';

async function launch(
  options: VsftpdOptions,
  configText: string,
  paths: { config: string; userList: string; vsftpdLog: string },
  login: VirtualFtpUser,
): Promise<RunningVsftpd> {
  await writeFile(paths.userList, `${options.user}\n`, { mode: 0o644 });
  // vsftpd refuses a config file that is not owned by the user running it; we write it as that user.
  await writeFile(paths.config, configText, { mode: 0o600 });
  // Start each run with an empty log so that error reports show this run only.
  await (await open(paths.vsftpdLog, 'w', 0o640)).close();

  // vsftpd reports fatal errors ("500 OOPS: ...") on fd 0, the FTP control channel
  // of a session; before any session that is our stdin, so point it at stderr.
  // detached: the listener leads its own process group.
  const child: ChildProcess = spawn('/bin/sh', ['-c', 'exec "$0" "$1" 0>&2', vsftpdBinary, paths.config], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
    child.once('error', (error) => {
      spawnError = error;
      exited ??= { code: null, signal: null };
      resolveExit();
    });
  });
  if (pid === undefined) {
    await exit;
    throw new Error(`could not start vsftpd: ${spawnError?.message ?? 'no pid'}`);
  }

  const host = probeHost(options.host);
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let lastProblem = '';
  for (;;) {
    if (exited) {
      const said = output.trim() || spawnError?.message || '(no output)';
      throw new Error(
        `${await explainBindFailure(said, options.host, options.port)}vsftpd exited during start (code ${exited.code}, signal ${exited.signal}): ${said}` +
          `\nvsftpd.log:\n${await tail(paths.vsftpdLog)}`,
      );
    }
    try {
      // Something else on the port may accept and stay silent while vsftpd has already died.
      const abort = new AbortController();
      const greeting = await Promise.race([
        readGreeting(host, options.port, Math.max(500, deadline - Date.now()), abort.signal),
        exit.then(() => {
          abort.abort();
          return '';
        }),
      ]);
      if (/^220[ -]/.test(greeting)) break;
      if (greeting) lastProblem = `unexpected greeting "${greeting}"`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() > deadline) {
      killVsftpdTree(pid);
      await exit;
      throw new Error(
        `vsftpd did not greet on ${host}:${options.port} within ${timeoutMs} ms (${lastProblem}): ${output.trim()}` +
          `\nvsftpd.log:\n${await tail(paths.vsftpdLog)}`,
      );
    }
    await sleep(50);
  }

  // A test runner or a crashing parent must not leave vsftpd holding the port, nor the login behind.
  const killOnExit = () => {
    killVsftpdTree(pid);
    login.removeSync();
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', killOnExit);
      const sessions = exited ? [] : killVsftpdTree(pid);
      // From here on no new session can start; the login goes while the old ones end.
      await login.remove().catch(() => login.removeSync());
      const giveUpAt = Date.now() + 5_000;
      while ((!exited || !sessions.every(isGone)) && Date.now() < giveUpAt) await sleep(20);
      child.stdout?.destroy();
      child.stderr?.destroy();
      for (let i = 0; i < 200 && !(await portClosed(host, options.port)); i++) await sleep(25);
    })());

  const exitedInfo = exit.then(() => exited ?? { code: null, signal: null });
  return { pid, port: options.port, logFile: paths.vsftpdLog, pamService: login.pamService, exited: exitedInfo, stop };
}
