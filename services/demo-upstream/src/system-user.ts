import { execFile, spawn } from 'node:child_process';
import { lchown, lstat, mkdir, readdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

const userNamePattern = /^[a-z_][a-z0-9_-]{0,31}$/;
const loginShell = '/bin/bash';

/** Directories whose ownership we must never hand to an FTP account, whatever the configuration says. */
const protectedDirs = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/proc', '/root', '/run', '/sbin', '/sys', '/tmp', '/usr', '/var']);

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

async function groupExists(name: string): Promise<boolean> {
  return (await run('getent', ['group', name])).code === 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isDirectory = (path: string) => stat(path).then((info) => info.isDirectory(), () => false);

/**
 * Serialises account changes between processes (two jest workers, or a test and
 * the demo process). useradd and chpasswd take /etc/passwd and /etc/shadow locks
 * themselves but fail instead of waiting, so we queue in front of them.
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

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const info = await lstat(path);
  if (info.uid !== uid || info.gid !== gid) await lchown(path, uid, gid);
  // Symbolic links are re-owned themselves, never followed.
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), uid, gid);
}

/**
 * Makes sure a local account exists that vsftpd (through PAM) accepts: a login
 * shell listed in /etc/shells (pam_shells), the given password, and a home
 * directory it owns. The home directory's content is handed to the account too,
 * so that files seeded by root can be overwritten and deleted over FTP.
 */
export interface EnsureFtpUserOptions {
  /**
   * Point an existing account's home at homeDir (default). With false, an
   * existing home that is still there is kept: servers sharing one account
   * (parallel tests) then do not pull the home from under each other.
   */
  moveHome?: boolean;
}

export async function ensureFtpUser(user: string, password: string, homeDir: string, options: EnsureFtpUserOptions = {}): Promise<void> {
  if (!userNamePattern.test(user)) throw new Error(`invalid FTP user name "${user}"`);
  if (user === 'root') throw new Error('refusing to use root as the FTP user');
  if (!password || /[\r\n\0]/.test(password)) throw new Error('the FTP password must be non-empty and on one line');
  const home = resolve(homeDir);
  if (protectedDirs.has(home)) throw new Error(`refusing to give ${home} to the FTP user`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('ensureFtpUser needs root (useradd, chpasswd, chown)');
  }
  await mkdir(home, { recursive: true });

  const account = await withAccountLock(async () => {
    const existing = await lookupUser(user);
    if (!existing) {
      const group = (await groupExists(user)) ? ['--gid', user] : ['--user-group'];
      // Exit code 9: the name is taken, by a racer outside our lock; it is the same account.
      await runChecked('useradd', ['--home-dir', home, '--no-create-home', '--shell', loginShell, ...group, user], undefined, [0, 9]);
    } else {
      // vsftpd serves local_root, but it enters the home first and fails the login
      // ("500 OOPS: cannot change directory") when the home is missing or unreachable.
      const moveHome = existing.home !== home && (options.moveHome !== false || !(await isDirectory(existing.home)));
      const change = [...(moveHome ? ['--home', home] : []), ...(existing.shell === loginShell ? [] : ['--shell', loginShell])];
      // Exit code 8: the account has running processes, e.g. the sessions of another
      // server (a parallel test) using this account; usermod refuses then.
      const result = change.length > 0 ? await runChecked('usermod', [...change, user], undefined, [0, 8]) : undefined;
      if (result?.code === 8) {
        // Keep the other server's home; put it back if it was deleted under it.
        if (!(await isDirectory(existing.home))) {
          await mkdir(existing.home, { recursive: true, mode: 0o755 });
          await lchown(existing.home, existing.uid, existing.gid);
        }
      }
    }
    await runChecked('chpasswd', [], `${user}:${password}\n`);
    return lookupUser(user);
  });
  if (!account) throw new Error(`account ${user} is missing right after useradd`);
  await chownTree(home, account.uid, account.gid);
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

/** Deletes an account made by ensureFtpUser (tests clean up with it); its files stay. */
export async function removeFtpUser(user: string): Promise<void> {
  if (!userNamePattern.test(user) || user === 'root') throw new Error(`invalid FTP user name "${user}"`);
  await withAccountLock(async () => {
    // Exit code 6: no such account.
    await runChecked('userdel', [user], undefined, [0, 6]);
  });
}
