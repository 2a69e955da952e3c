import { createHash } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { lchown, lstat, mkdir, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * The demo's FTP login is a vsftpd *virtual user*: a name and password known
 * only to a PAM service of its own (pam_pwdfile over a password file in the
 * data directory), which nothing but the vsftpd naming it uses. The machine
 * gets no login: `su`, SSH and the console consult other PAM services, where
 * the name does not exist. Every virtual user acts on files as one shared
 * system account without a shell or password, so that two data directories
 * side by side never change each other's account.
 */

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The system account vsftpd maps virtual users to (guest_username): no shell, no password, home "/". */
export const guestAccountName = 'st-ftp';
const guestShell = '/usr/sbin/nologin';
const noLoginShells = new Set(['/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false']);

/** Where PAM reads service files; vsftpd names its service with pam_service_name. */
export const pamServiceDir = '/etc/pam.d';

const virtualUserPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}$/;

/** Directories whose ownership we must never hand to the FTP account, whatever the configuration says. */
const protectedDirs = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/var']);

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
    // A command that exits without reading its input must not fail the call with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

function parsePasswdLine(line: string): SystemUser | undefined {
  const [name, , uid, gid, , home, shell] = line.trim().split(':');
  if (!name || uid === undefined || gid === undefined || home === undefined || shell === undefined) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home, shell };
}

export function lookupUser(name: string): Promise<SystemUser | undefined> {
  return new Promise((resolveLookup, reject) => {
    execFile('getent', ['passwd', name], (error, stdout) => {
      // getent exits 2 for "no such key".
      if (error && (error as { code?: unknown }).code === 2) return resolveLookup(undefined);
      if (error) return reject(error);
      resolveLookup(parsePasswdLine(stdout));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Serialises account creation between processes (two jest workers, or a test
 * and the demo process): useradd takes the /etc/passwd lock itself but fails
 * instead of waiting, so we queue in front of it.
 */
async function withAccountLock<T>(fn: () => Promise<T>): Promise<T> {
  const lockDir = join(tmpdir(), 'st-demo-upstream-accounts.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A holder that crashed leaves the directory behind; account changes take well under 10 s.
      const age = await stat(lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 10_000) await rmdir(lockDir).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`timed out waiting for account lock ${lockDir}`);
      await sleep(50 + Math.random() * 100);
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lockDir).catch(() => undefined);
  }
}

async function runChecked(command: string, args: string[], input?: string, okCodes: number[] = [0]): Promise<CommandResult> {
  // The shadow tools still fail on a lock held by something outside our queue; retry briefly.
  let last: CommandResult | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    last = await run(command, args, input);
    if (okCodes.includes(last.code)) return last;
    if (!/lock/i.test(last.stderr)) break;
    await sleep(200 * (attempt + 1));
  }
  throw new Error(`${command} ${args.join(' ')} failed with exit code ${last?.code}: ${last?.stderr.trim()}`);
}

function assertRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error(`${what} needs root`);
}

/**
 * Makes sure the shared system account exists that virtual users act as: a
 * system account with no login shell and a locked password. An account of
 * that name with a login shell is refused rather than taken over.
 */
export async function ensureGuestAccount(): Promise<SystemUser> {
  assertRoot('creating the FTP system account');
  const account = await withAccountLock(async () => {
    const existing = await lookupUser(guestAccountName);
    if (existing) return existing;
    // Exit code 9: the name was taken by a racer outside our lock; it is the same account.
    await runChecked(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--home-dir', '/', '--shell', guestShell, '--comment', 'Secure Transfers demo FTP files', guestAccountName],
      undefined,
      [0, 9],
    );
    return lookupUser(guestAccountName);
  });
  if (!account) throw new Error(`account ${guestAccountName} is missing right after useradd`);
  if (!noLoginShells.has(account.shell)) {
    throw new Error(
      `the account ${guestAccountName} exists with the login shell ${account.shell}; the demo only uses it as an account without a shell. ` +
        `Remove it (userdel ${guestAccountName}) or give it ${guestShell}`,
    );
  }
  return account;
}

/** The PAM service of one data directory: the same directory always gets the same name, two directories never share one. */
export function pamServiceName(workDir: string): string {
  return `st-demo-ftp-${createHash('sha256').update(resolve(workDir)).digest('hex').slice(0, 16)}`;
}

/**
 * A PAM service that knows only the users of one password file. Account and
 * session checks pass (the password file is the whole account); password
 * changes are refused. No line falls back to the system's "other" service.
 */
export function renderPamService(passwordFile: string): string {
  if (!passwordFile.startsWith('/') || /\s/.test(passwordFile)) throw new Error(`the password file path must be absolute and without spaces: "${passwordFile}"`);
  return [
    '# Written by @st/demo-upstream for one vsftpd (pam_service_name); removed when it stops.',
    '# It knows only the virtual FTP users of the password file below, none of this machine\'s accounts.',
    `auth\trequired\tpam_pwdfile.so\tpwdfile=${passwordFile}`,
    'account\trequired\tpam_permit.so',
    'session\trequired\tpam_permit.so',
    'password\trequired\tpam_deny.so',
    '',
  ].join('\n');
}

/** A SHA-512 crypt(3) hash, as pam_pwdfile checks it; OpenSSL makes it so that no password ever appears in a command line. */
async function cryptPassword(password: string): Promise<string> {
  const result = await run('openssl', ['passwd', '-6', '-stdin'], `${password}\n`).catch((error: Error) => ({ code: -1, stdout: '', stderr: error.message }));
  const hash = result.stdout.trim();
  if (result.code !== 0 || !hash.startsWith('$6$')) throw new Error(`could not hash the FTP password with openssl (${result.stderr.trim() || `exit code ${result.code}`})`);
  return hash;
}

export interface VirtualFtpUser {
  user: string;
  /** vsftpd's pam_service_name. */
  pamService: string;
  pamServiceFile: string;
  passwordFile: string;
  /** Deletes the PAM service and the password file: nothing can log in with the name afterwards. */
  remove(): Promise<void>;
  /** The same, synchronously, for an 'exit' handler. */
  removeSync(): void;
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, path);
}

/**
 * Creates the virtual user of one data directory: its password file (mode
 * 0600, root's) in `workDir` and its PAM service in /etc/pam.d. Starting
 * again over the same directory replaces both.
 */
export async function createVirtualUser(options: { user: string; password: string; workDir: string }): Promise<VirtualFtpUser> {
  const { user, password } = options;
  if (!virtualUserPattern.test(user)) throw new Error(`invalid FTP user name "${user}": use up to 32 letters, digits, ".", "_" or "-"`);
  if (!password || /[\r\n\0]/.test(password)) throw new Error('the FTP password must be non-empty and on one line');
  assertRoot('creating the FTP login');
  const workDir = resolve(options.workDir);
  await mkdir(workDir, { recursive: true });
  const passwordFile = join(workDir, 'ftp-users.passwd');
  const pamService = pamServiceName(workDir);
  const pamServiceFile = join(pamServiceDir, pamService);
  await writeAtomically(passwordFile, `${user}:${await cryptPassword(password)}\n`, 0o600);
  await writeAtomically(pamServiceFile, renderPamService(passwordFile), 0o644);
  const ignoreMissing = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  };
  return {
    user,
    pamService,
    pamServiceFile,
    passwordFile,
    async remove() {
      await unlink(pamServiceFile).catch(ignoreMissing);
      await unlink(passwordFile).catch(ignoreMissing);
    },
    removeSync() {
      for (const path of [pamServiceFile, passwordFile]) {
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      }
    },
  };
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const info = await lstat(path);
  if (info.uid !== uid || info.gid !== gid) await lchown(path, uid, gid);
  // Symbolic links are re-owned themselves, never followed.
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), uid, gid);
}

/** Hands the served directory to the account, so that files seeded by root can be overwritten and deleted over FTP. */
export async function handOver(rootDir: string, account: SystemUser): Promise<void> {
  const root = resolve(rootDir);
  if (protectedDirs.has(root)) throw new Error(`refusing to give ${root} to the FTP account`);
  await mkdir(root, { recursive: true });
  await chownTree(root, account.uid, account.gid);
}

/**
 * Throws unless `account` can reach `dir`: every directory above it must be
 * searchable by that account. vsftpd accepts the password and only then fails
 * to enter the directory, which clients report as a bare "500 OOPS" after 230;
 * a mktemp -d parent (mode 700) is the usual cause.
 */
export async function assertReachable(dir: string, account: SystemUser): Promise<void> {
  let current = resolve(dir);
  for (;;) {
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
    const info = await stat(current);
    const bits = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
    if ((info.mode & bits) === 0) {
      throw new Error(
        `the FTP account ${account.name} cannot reach ${resolve(dir)}: ${current} is mode ${(info.mode & 0o777).toString(8)}, owned by uid ${info.uid}; ` +
          'serve a directory whose parents are searchable by others (chmod o+x)',
      );
    }
  }
}
