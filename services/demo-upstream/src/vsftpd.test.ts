import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { createFileBrowser } from './file-browser.js';
import { freePort, freePortBlock } from '@st/test-kit';

const freePortRange = async (count: number) => {
  const from = await freePortBlock(count, { hosts: ['127.0.0.1'] });
  return { from, to: from + count - 1 };
};
import { readFileSync } from 'node:fs';
import { guestAccountName, lookupUser, pamServiceDir, pamServiceName } from './ftp-account.js';

/** Still running: not gone and not a zombie waiting for its reaper. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}
import { startVsftpd, type RunningVsftpd } from './vsftpd.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
// Creating accounts and running vsftpd needs root; the container that runs our tests has it.
const describeAsRoot = isRoot ? describe : describe.skip;
if (!isRoot) console.warn('vsftpd tests skipped: they need root (useradd, vsftpd)');

// A virtual user: it exists only in this vsftpd's own PAM service.
const user = `st-ftp-${process.pid}`;
const password = `pw-${randomBytes(6).toString('hex')}`;

/** A control connection driven by hand, one reply line at a time (vsftpd's replies here are single-line). */
async function rawSession(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const reply = () => new Promise<string>((resolve) => (lines.length > 0 ? resolve(lines.shift()!) : waiting.push(resolve)));
  const command = async (text: string, expected: number) => {
    socket.write(`${text}\r\n`);
    const line = await reply();
    if (!line.startsWith(`${expected} `)) throw new Error(`${text.split(' ')[0]}: expected ${expected}, got "${line}"`);
    return line;
  };
  expect(await reply()).toMatch(/^220 /);
  return { reply, command, close: () => socket.destroy() };
}

function collect(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

describeAsRoot('startVsftpd', () => {
  let rootDir: string;
  let workDir: string;
  let ftp: RunningVsftpd;
  let passiveRange: { from: number; to: number };

  beforeAll(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'demo-upstream-ftp-root-'));
    workDir = await mkdtemp(join(tmpdir(), 'demo-upstream-ftp-work-'));
    passiveRange = await freePortRange(10);
    ftp = await startVsftpd({ host: '127.0.0.1', port: await freePort(), passiveRange, rootDir, user, password, workDir });
  }, 20_000);

  afterAll(async () => {
    await ftp?.stop();
    await rm(rootDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  async function login(): Promise<Client> {
    const client = new Client(10_000);
    await client.access({ host: '127.0.0.1', port: ftp.port, user, password, secure: false });
    return client;
  }

  it('uploads, lists and downloads byte for byte over passive data connections', async () => {
    const client = await login();
    try {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      await client.uploadFrom(Readable.from([data]), 'upload.bin');
      const listing = await client.list();
      expect(listing.find((entry) => entry.name === 'upload.bin')?.size).toBe(data.length);

      const sink = collect();
      await client.downloadTo(sink.stream, 'upload.bin');
      expect(sink.bytes().equals(data)).toBe(true);

      // The file really is in rootDir, owned by the system account virtual users act as.
      const onDisk = await readFile(join(rootDir, 'upload.bin'));
      expect(onDisk.equals(data)).toBe(true);
      const account = await lookupUser(guestAccountName);
      expect((await stat(join(rootDir, 'upload.bin'))).uid).toBe(account?.uid);
    } finally {
      client.close();
    }
  }, 30_000);

  it('advertises passive ports from the configured range on the configured address', async () => {
    const client = await login();
    try {
      const reply = await client.send('PASV');
      const match = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply.message);
      expect(match).not.toBeNull();
      const [, a, b, c, d, hi, lo] = match!.map(Number);
      expect(`${a}.${b}.${c}.${d}`).toBe('127.0.0.1');
      const port = hi! * 256 + lo!;
      expect(port).toBeGreaterThanOrEqual(passiveRange.from);
      expect(port).toBeLessThanOrEqual(passiveRange.to);
    } finally {
      client.close();
    }
  });

  it('rejects a wrong password with 530', async () => {
    const client = new Client(10_000);
    try {
      await expect(client.access({ host: '127.0.0.1', port: ftp.port, user, password: 'wrong', secure: false })).rejects.toMatchObject({ code: 530 });
    } finally {
      client.close();
    }
  });

  it('accepts only the configured account', async () => {
    const client = new Client(10_000);
    try {
      const failure = await client.access({ host: '127.0.0.1', port: ftp.port, user: 'nobody', password: 'x', secure: false }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(FTPError);
      expect((failure as FTPError).code).toBe(530);
    } finally {
      client.close();
    }
  });

  it('logs the protocol without the password', async () => {
    const client = await login();
    await client.list();
    client.close();
    const log = await readFile(ftp.logFile, 'utf8');
    expect(log).toMatch(/OK LOGIN/);
    expect(log).not.toContain(password);
  });

  it('lets the FTP account change what the file browser stored', async () => {
    const browser = createFileBrowser({ rootDir });
    await new Promise<void>((resolve) => browser.listen(0, '127.0.0.1', resolve));
    const client = await login();
    try {
      const put = await fetch(`http://127.0.0.1:${(browser.address() as AddressInfo).port}/from-http.txt`, { method: 'PUT', body: 'via http' });
      expect(put.status).toBe(201);
      await client.uploadFrom(Readable.from([Buffer.from('via ftp')]), 'from-http.txt');
      expect(await readFile(join(rootDir, 'from-http.txt'), 'utf8')).toBe('via ftp');
      await client.remove('from-http.txt');
    } finally {
      client.close();
      await new Promise((resolve) => browser.close(resolve));
    }
  });

  it('holds 50 concurrent sessions from one address', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => login()));
    try {
      const dirs = await Promise.all(clients.map((client) => client.pwd()));
      expect(new Set(dirs)).toEqual(new Set([rootDir]));
      // Transfers at once stay within the passive range: vsftpd kills a session
      // that cannot bind a passive port after 9 random tries.
      const listings = await Promise.all(clients.slice(0, 5).map((client) => client.list()));
      for (const listing of listings) expect(Array.isArray(listing)).toBe(true);
    } finally {
      for (const client of clients) client.close();
    }
  }, 30_000);

  it('accepts a passive data connection from another address than the control connection', async () => {
    // What a second gateway replica does; 127.0.0.2 is loopback too on Linux.
    const control = await rawSession(ftp.port);
    try {
      await control.command(`USER ${user}`, 331);
      await control.command(`PASS ${password}`, 230);
      const pasv = await control.command('PASV', 227);
      const [, hi, lo] = /,(\d+),(\d+)\)/.exec(pasv)!.map(Number);
      const data = connect({ host: '127.0.0.1', port: hi! * 256 + lo!, localAddress: '127.0.0.2' });
      const received: Buffer[] = [];
      data.on('data', (chunk: Buffer) => received.push(chunk));
      const closed = new Promise((resolve) => data.once('close', resolve));
      await new Promise((resolve) => data.once('connect', resolve));
      await control.command('NLST', 150);
      expect(await control.reply()).toMatch(/^226 /);
      await closed;
      expect(Buffer.concat(received).toString()).toContain('upload.bin');
    } finally {
      control.close();
    }
  });
});

describeAsRoot('startVsftpd lifecycle', () => {
  let rootDir: string;
  let workDir: string;

  beforeEach(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'demo-upstream-ftp-root-'));
    workDir = await mkdtemp(join(tmpdir(), 'demo-upstream-ftp-work-'));
  });
  afterEach(async () => {
    await rm(rootDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('stop() ends open sessions, closes the port, leaves no process and removes the login', async () => {
    const ftp = await startVsftpd({ host: '127.0.0.1', port: await freePort(), passiveRange: await freePortRange(4), rootDir, user, password, workDir });
    const pamFile = join(pamServiceDir, ftp.pamService);
    expect((await stat(pamFile)).isFile()).toBe(true);
    const client = new Client(10_000);
    await client.access({ host: '127.0.0.1', port: ftp.port, user, password, secure: false });
    const sessions = readFileSync(`/proc/${ftp.pid}/task/${ftp.pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    expect(sessions.length).toBeGreaterThan(0);
    // basic-ftp keeps the socket half-open; 'end' is the server's FIN.
    const closed = new Promise<void>((resolve) => client.ftp.socket.once('end', () => resolve()));
    await ftp.stop();
    await closed;
    const probe = await new Promise<boolean>((resolve) => {
      const server: Server = createServer();
      server.once('error', () => resolve(false));
      server.listen(ftp.port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    expect(probe).toBe(true);
    for (const pid of [ftp.pid, ...sessions]) expect([pid, alive(pid)]).toEqual([pid, false]);
    await expect(stat(pamFile)).rejects.toMatchObject({ code: 'ENOENT' });
    client.close();
  }, 20_000);

  it('two instances side by side, with the same user name and different passwords, do not disturb each other', async () => {
    const otherRoot = await mkdtemp(join(tmpdir(), 'demo-upstream-ftp-root-'));
    const otherWork = await mkdtemp(join(tmpdir(), 'demo-upstream-ftp-work-'));
    const first = await startVsftpd({ host: '127.0.0.1', port: await freePort(), passiveRange: await freePortRange(4), rootDir, user, password, workDir });
    const second = await startVsftpd({ host: '127.0.0.1', port: await freePort(), passiveRange: await freePortRange(4), rootDir: otherRoot, user, password: 'other-password', workDir: otherWork });
    const list = async (port: number, pass: string) => {
      const client = new Client(10_000);
      try {
        await client.access({ host: '127.0.0.1', port, user, password: pass, secure: false });
        await client.uploadFrom(Readable.from([Buffer.from(`on ${port}`)]), `mark-${port}.txt`);
        return (await client.list()).map((entry) => entry.name);
      } finally {
        client.close();
      }
    };
    try {
      expect(first.pamService).not.toBe(second.pamService);
      expect(await list(first.port, password)).toEqual([`mark-${first.port}.txt`]);
      expect(await list(second.port, 'other-password')).toEqual([`mark-${second.port}.txt`]);
      // Each knows only its own password.
      await expect(list(first.port, 'other-password')).rejects.toMatchObject({ code: 530 });
      await second.stop();
      expect(await list(first.port, password)).toEqual([`mark-${first.port}.txt`]);
    } finally {
      await first.stop();
      await second.stop();
      await rm(otherRoot, { recursive: true, force: true });
      await rm(otherWork, { recursive: true, force: true });
    }
  }, 40_000);

  it('reports why vsftpd could not start', async () => {
    const busy = createServer();
    const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as { port: number }).port)));
    try {
      const failure = startVsftpd({ host: '127.0.0.1', port, passiveRange: await freePortRange(4), rootDir, user, password, workDir, startTimeoutMs: 3_000 });
      await expect(failure).rejects.toThrow(/500 OOPS: could not bind listening IPv4 socket/);
      // vsftpd's message names no port: ours names it and who holds it (this test process).
      await expect(failure).rejects.toThrow(`port ${port} on 127.0.0.1, needed for the demo FTP server (DEMO_FTP_PORT), is already in use by pid ${process.pid}`);
      // The login made for it is gone again.
      await expect(stat(join(pamServiceDir, pamServiceName(workDir)))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      busy.close();
    }
  }, 20_000);

  it('refuses a root the FTP account cannot reach', async () => {
    // mkdtemp makes mode-700 directories: the account could log in but not enter its root.
    const hidden = join(rootDir, 'private', 'files');
    await mkdir(hidden, { recursive: true });
    await chmod(join(rootDir, 'private'), 0o700);
    await expect(startVsftpd({ host: '127.0.0.1', port: await freePort(), passiveRange: await freePortRange(4), rootDir: hidden, user, password, workDir })).rejects.toThrow(
      /cannot reach .*private is mode 700/,
    );
  });

  it('refuses an invalid passive range before starting anything', async () => {
    await expect(startVsftpd({ host: '127.0.0.1', port: 2100, passiveRange: { from: 5000, to: 4000 }, rootDir, user, password, workDir })).rejects.toThrow(/passive range/);
  });
});

