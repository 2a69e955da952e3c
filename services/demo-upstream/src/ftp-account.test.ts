import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertReachable,
  createVirtualUser,
  ensureGuestAccount,
  guestAccountName,
  handOver,
  lookupUser,
  pamServiceName,
  renderPamService,
} from './ftp-account.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const describeAsRoot = isRoot ? describe : describe.skip;

/** Asks PAM, through the given service, whether user/password authenticate; runs as `asUser` (su trusts root without a password). */
function pamAuthenticates(service: string, user: string, password: string, asUser = 'root'): Promise<boolean> {
  const [command, args] = asUser === 'root' ? ['pamtester', [service, user, 'authenticate']] : ['runuser', ['-u', asUser, '--', 'pamtester', service, user, 'authenticate']];
  return new Promise((resolve, reject) => {
    const child = execFile(command as string, args as string[], (error) => {
      if (!error) return resolve(true);
      // pamtester exits 1 for a refused authentication; anything else is a broken test setup.
      if ((error as { code?: unknown }).code === 1) return resolve(false);
      reject(error);
    });
    child.stdin?.end(`${password}\n`);
  });
}

describe('renderPamService', () => {
  it('knows only the password file, with no fallback to the system services', () => {
    const text = renderPamService('/data/demo-upstream/ftp-users.passwd');
    const rules = text.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(rules).toEqual([
      'auth\trequired\tpam_pwdfile.so\tpwdfile=/data/demo-upstream/ftp-users.passwd',
      'account\trequired\tpam_permit.so',
      'session\trequired\tpam_permit.so',
      'password\trequired\tpam_deny.so',
    ]);
    expect(text).not.toMatch(/@include|common-|pam_unix/);
  });

  it.each(['relative/passwd', '/with space/passwd'])('refuses the path "%s"', (path) => {
    expect(() => renderPamService(path)).toThrow(/absolute and without spaces/);
  });
});

describe('pamServiceName', () => {
  it('is the same for one directory and differs between two', () => {
    expect(pamServiceName('/srv/a/.data/demo-upstream')).toBe(pamServiceName('/srv/a/.data/demo-upstream/'));
    expect(pamServiceName('/srv/a/.data/demo-upstream')).not.toBe(pamServiceName('/srv/b/.data/demo-upstream'));
    expect(pamServiceName('/srv/a')).toMatch(/^st-demo-ftp-[0-9a-f]{16}$/);
  });
});

describeAsRoot('the demo FTP login', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftp-account-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('acts as one shared system account without a shell or password, created once even when asked concurrently', async () => {
    const accounts = await Promise.all([ensureGuestAccount(), ensureGuestAccount(), ensureGuestAccount()]);
    expect(new Set(accounts.map((account) => account.uid)).size).toBe(1);
    expect(accounts[0]).toMatchObject({ name: guestAccountName, shell: '/usr/sbin/nologin', home: '/' });
    const status = await new Promise<string>((resolve, reject) => execFile('passwd', ['-S', guestAccountName], (error, stdout) => (error ? reject(error) : resolve(stdout))));
    // L: locked password.
    expect(status.split(' ')[1]).toBe('L');
  });

  it('authenticates only through its own PAM service; su, login, sshd and other refuse it; after remove() nothing does', async () => {
    const user = `st-demo-${process.pid}`;
    const login = await createVirtualUser({ user, password: 'right-password', workDir: join(dir, 'work') });
    try {
      expect(await lookupUser(user)).toBeUndefined();
      expect((await stat(login.passwordFile)).mode & 0o777).toBe(0o600);
      expect(await pamAuthenticates(login.pamService, user, 'right-password')).toBe(true);
      expect(await pamAuthenticates(login.pamService, user, 'wrong-password')).toBe(false);
      // su as an ordinary user (root passes su without a password); the others as root.
      expect(await pamAuthenticates('su', user, 'right-password', 'nobody')).toBe(false);
      const services = ['login', 'sshd', 'other'];
      const answers = await Promise.all(services.map((service) => pamAuthenticates(service, user, 'right-password')));
      expect(Object.fromEntries(services.map((service, i) => [service, answers[i]]))).toEqual({ login: false, sshd: false, other: false });
    } finally {
      await login.remove();
    }
    await expect(stat(login.pamServiceFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(login.passwordFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await pamAuthenticates(login.pamService, user, 'right-password')).toBe(false);
  }, 30_000);

  it('two data directories get two logins that do not know each other', async () => {
    const user = `st-demo-${process.pid}`;
    const first = await createVirtualUser({ user, password: 'first', workDir: join(dir, 'a') });
    const second = await createVirtualUser({ user, password: 'second', workDir: join(dir, 'b') });
    try {
      expect(first.pamService).not.toBe(second.pamService);
      expect(await pamAuthenticates(first.pamService, user, 'first')).toBe(true);
      expect(await pamAuthenticates(first.pamService, user, 'second')).toBe(false);
      await second.remove();
      expect(await pamAuthenticates(first.pamService, user, 'first')).toBe(true);
    } finally {
      await first.remove();
      await second.remove();
    }
  }, 20_000);

  it.each([
    { desc: 'an invalid name', user: 'bad name', password: 'pw', error: /invalid FTP user name/ },
    { desc: 'a name with a colon', user: 'a:b', password: 'pw', error: /invalid FTP user name/ },
    { desc: 'a password with a line break', user: 'ok', password: 'a\nb', error: /one line/ },
    { desc: 'an empty password', user: 'ok', password: '', error: /non-empty/ },
  ])('refuses $desc', async ({ user, password, error }) => {
    await expect(createVirtualUser({ user, password, workDir: join(dir, 'w') })).rejects.toThrow(error);
  });

  it('hands the served directory to the account, and refuses system directories', async () => {
    const account = await ensureGuestAccount();
    const served = join(dir, 'files');
    await mkdir(join(served, 'sub'), { recursive: true });
    await writeFile(join(served, 'sub', 'seeded.txt'), 'x');
    await handOver(served, account);
    expect((await stat(join(served, 'sub', 'seeded.txt'))).uid).toBe(account.uid);
    await expect(handOver('/etc', account)).rejects.toThrow(/refusing/);
  });

  it('assertReachable names the directory that blocks the account', async () => {
    const account = await ensureGuestAccount();
    const blocked = join(dir, 'blocked');
    await mkdir(join(blocked, 'inner'), { recursive: true, mode: 0o700 });
    await expect(assertReachable(join(blocked, 'inner'), account)).rejects.toThrow(/blocked is mode 700/);
    await expect(assertReachable(dir, { ...account, uid: 0, gid: 0 })).resolves.toBeUndefined();
  });
});
