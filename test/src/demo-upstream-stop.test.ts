import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'basic-ftp';
import { pamServiceDir, pamServiceName } from '@st/demo-upstream';
import { freePort, freePortBlock } from '@st/test-kit';

/**
 * The demo upstream's own process, stopped by two signals in a row (a process
 * group's, then a parent's): the second must not cut the stop short, which
 * would leave vsftpd or its login behind.
 */

jest.setTimeout(60_000);

const repoRoot = resolve(__dirname, '../..');

function procStat(pid: number): { ppid: number; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

const alive = (pid: number) => {
  const found = procStat(pid);
  return found !== null && found.state !== 'Z';
};

function descendants(root: number): number[] {
  const all = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  const result: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const pid of all) {
      if (procStat(pid)?.ppid === parent) {
        result.push(pid);
        queue.push(pid);
      }
    }
  }
  return result;
}

describe('demo upstream stop', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-demo-stop-'));
    await chmod(dir, 0o755);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    { desc: 'SIGTERM twice', signals: ['SIGTERM', 'SIGTERM'] as const },
    { desc: 'SIGINT, then SIGTERM', signals: ['SIGINT', 'SIGTERM'] as const },
  ])('$desc: stops once, ends vsftpd and its sessions, removes the login, exits 0', async ({ signals }) => {
    const passiveFrom = await freePortBlock(4, { hosts: ['127.0.0.1'] });
    const ftpPort = await freePort();
    const user = `st-demo-${process.pid}`;
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const workDir = join(dir, 'work');
    const child = spawn('node', ['services/demo-upstream/dist/main.js'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DEMO_ROOT: join(dir, 'files'),
        DEMO_WORK_DIR: workDir,
        DEMO_FTP_PORT: String(ftpPort),
        DEMO_HTTP_PORT: String(await freePort()),
        DEMO_PASSIVE_FROM: String(passiveFrom),
        DEMO_PASSIVE_TO: String(passiveFrom + 3),
        DEMO_USER: user,
        DEMO_PASSWORD: password,
        AMQP_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('demo upstream serving')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const session = new Client(10_000);
      await session.access({ host: '127.0.0.1', port: ftpPort, user, password, secure: false });
      const processes = descendants(child.pid!);
      // vsftpd and at least one session process.
      expect(processes.length).toBeGreaterThanOrEqual(2);

      process.kill(child.pid!, signals[0]);
      await new Promise((r) => setTimeout(r, 5));
      process.kill(child.pid!, signals[1]);
      expect(await exited).toBe(0);
      session.close();
      expect(output).toContain('demo upstream stopped');
      expect(processes.filter(alive)).toEqual([]);
      await expect(stat(join(pamServiceDir, pamServiceName(workDir)))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
