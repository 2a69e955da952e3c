import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertReachable, ensureFtpUser, lookupUser, removeFtpUser } from './system-user.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const describeAsRoot = isRoot ? describe : describe.skip;

describeAsRoot('ensureFtpUser', () => {
  const user = `st-acct-${process.pid}`;
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'system-user-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await removeFtpUser(user);
  });

  it('creates the account once, even when called concurrently, and hands it the directory', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'sub'), { recursive: true });
    await writeFile(join(home, 'sub', 'seeded.txt'), 'x');
    await Promise.all([ensureFtpUser(user, 'pw-1', home), ensureFtpUser(user, 'pw-1', home), ensureFtpUser(user, 'pw-1', home)]);
    const account = await lookupUser(user);
    expect(account).toMatchObject({ name: user, home, shell: '/bin/bash' });
    expect((await stat(join(home, 'sub', 'seeded.txt'))).uid).toBe(account!.uid);
    const entries = execFileSync('getent', ['passwd']).toString().split('\n').filter((line) => line.startsWith(`${user}:`));
    expect(entries).toHaveLength(1);
  });

  it('moves the home by default, and keeps an existing one on request', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await ensureFtpUser(user, 'pw', first);
    await ensureFtpUser(user, 'pw', second, { moveHome: false });
    expect((await lookupUser(user))?.home).toBe(first);
    expect((await stat(second)).uid).toBe((await lookupUser(user))!.uid);
    await ensureFtpUser(user, 'pw', second);
    expect((await lookupUser(user))?.home).toBe(second);
  });

  it('replaces a home that was deleted even when asked to keep it', async () => {
    const gone = join(dir, 'gone');
    await ensureFtpUser(user, 'pw', gone);
    await rm(gone, { recursive: true });
    const next = join(dir, 'next');
    await ensureFtpUser(user, 'pw', next, { moveHome: false });
    expect((await lookupUser(user))?.home).toBe(next);
  });

  it.each([
    { desc: 'an invalid name', name: 'Bad Name', password: 'pw', home: '/srv/x', error: /invalid FTP user name/ },
    { desc: 'root', name: 'root', password: 'pw', home: '/srv/x', error: /root/ },
    { desc: 'a password with a line break', name: 'st-ok', password: 'a\nb', home: '/srv/x', error: /one line/ },
    { desc: 'a system directory as home', name: 'st-ok', password: 'pw', home: '/etc', error: /refusing/ },
  ])('refuses $desc', async ({ name, password, home, error }) => {
    await expect(ensureFtpUser(name, password, home)).rejects.toThrow(error);
  });

  it('assertReachable names the directory that blocks the account', async () => {
    const account = (await lookupUser(user))!;
    const blocked = join(dir, 'blocked');
    await mkdir(join(blocked, 'inner'), { recursive: true, mode: 0o700 });
    await expect(assertReachable(join(blocked, 'inner'), account)).rejects.toThrow(/blocked is mode 700/);
    await expect(assertReachable(dir, { ...account, uid: 0, gid: 0 })).resolves.toBeUndefined();
  });
});
