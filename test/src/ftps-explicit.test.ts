import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { connectBasicFtp, curl, ftpsUrl, lftp, sha256File, writeRandomFile } from './harness/clients.js';
import { ftpPassword, ftpUser, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

/**
 * Explicit FTPS (AUTH TLS on a plain FTP port, RFC 4217) through the gateway,
 * with the clients people use in that mode: curl --ssl-reqd, Python's
 * ftplib.FTP_TLS, lftp with ftp:ssl-force, basic-ftp with secure: true.
 */
let stack: Stack;
let localDir: string;

beforeAll(async () => {
  stack = await startStack({ explicitFtps: true });
  localDir = join(stack.dir, 'local');
  await mkdir(localDir);
});

afterAll(async () => {
  await stack?.stop();
});

describe.each([
  { mode: 'EPSV', args: [] as string[] },
  { mode: 'PASV', args: ['--disable-epsv'] },
])('curl ftp://… --ssl-reqd with $mode', ({ mode, args }) => {
  it('uploads and downloads byte for byte', async () => {
    const upload = join(localDir, `curl-up-${mode}.bin`);
    const hash = await writeRandomFile(upload, 3 * 1024 * 1024 + 7);
    const put = await curl(stack, ['--ssl-reqd', ...args, '-T', upload, ftpsUrl(stack, `curl-${mode}.bin`, 'explicit')]);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(await sha256File(join(stack.filesDir, `curl-${mode}.bin`))).toBe(hash);
    const back = join(localDir, `curl-back-${mode}.bin`);
    const get = await curl(stack, ['--ssl-reqd', ...args, '-o', back, ftpsUrl(stack, `curl-${mode}.bin`, 'explicit')]);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect(await sha256File(back)).toBe(hash);
  });
});

/** Python's FTP_TLS, resuming the control connection's TLS session on every data connection (as vsftpd's require_ssl_reuse wants). */
const pythonClient = `
import ftplib, hashlib, io, ssl, sys
host, port, user, password, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=cafile)
context.check_hostname = False
reused = []
class ReusingFtpTls(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            reused.append(conn.session_reused)
        return conn, size
ftp = ReusingFtpTls(context=context)
ftp.connect(host, port, timeout=30)
ftp.auth()
ftp.login(user, password)
ftp.prot_p()
payload = bytes(range(256)) * 4096
ftp.storbinary('STOR python.bin', io.BytesIO(payload))
received = io.BytesIO()
ftp.retrbinary('RETR python.bin', received.write)
names = ftp.nlst()
ftp.quit()
print('same' if received.getvalue() == payload else 'different')
print('listed' if 'python.bin' in names else 'missing')
print('reused=' + ','.join(str(r) for r in reused))
`;

it('Python ftplib.FTP_TLS logs in after AUTH TLS and resumes the TLS session on its data connections', async () => {
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('python3', ['-c', pythonClient, '127.0.0.1', String(stack.ports.explicitFtps), ftpUser, ftpPassword, stack.caFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n')).toEqual(['same', 'listed', 'reused=True,True,True']);
});

describe.each([
  { mode: 'PASV', settings: ['set ftp:prefer-epsv no'] },
  { mode: 'EPSV', settings: ['set ftp:prefer-epsv yes'] },
])('lftp with ftp:ssl-force over $mode', ({ mode, settings }) => {
  it('lists, uploads and downloads byte for byte', async () => {
    await writeFile(join(stack.filesDir, `lftp-explicit-listed-${mode}.txt`), 'listed');
    const upload = join(localDir, `lftp-up-${mode}.bin`);
    const hash = await writeRandomFile(upload, 2 * 1024 * 1024 + 1);
    const result = await lftp(stack, ['ls', `put ${upload} -o lftp-explicit-${mode}.bin`, `get lftp-explicit-${mode}.bin -o ${join(localDir, `lftp-back-${mode}.bin`)}`], settings, 60_000, 'explicit');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`lftp-explicit-listed-${mode}.txt`);
    expect(await sha256File(join(stack.filesDir, `lftp-explicit-${mode}.bin`))).toBe(hash);
    expect(await sha256File(join(localDir, `lftp-back-${mode}.bin`))).toBe(hash);
  });
});

it('basic-ftp with secure: true (AUTH TLS) transfers in PASV and EPSV', async () => {
  for (const mode of ['PASV', 'EPSV'] as const) {
    const client = await connectBasicFtp(stack, mode, 30_000, 'explicit');
    try {
      const upload = join(localDir, `basic-${mode}.bin`);
      const hash = await writeRandomFile(upload, 1024 * 1024 + 11);
      await client.uploadFrom(upload, `basic-${mode}.bin`);
      const back = join(localDir, `basic-back-${mode}.bin`);
      await client.downloadTo(back, `basic-${mode}.bin`);
      expect(await sha256File(back)).toBe(hash);
    } finally {
      client.close();
    }
  }
});

/** A raw control connection: lines in, complete replies out. */
class RawControl {
  private buffered = '';
  private readonly waiters: Array<() => void> = [];
  socket: net.Socket | tls.TLSSocket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: net.Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** The next complete reply (multi-line replies whole: up to the line that starts with the code and a space). */
  async reply(): Promise<string> {
    for (;;) {
      const code = /^\d{3}/.exec(this.buffered)?.[0];
      const last = code ? new RegExp(`(?:^|\r\n)${code} [^\r\n]*\r\n`).exec(this.buffered) : null;
      if (last) {
        const full = this.buffered.slice(0, last.index + last[0].length);
        this.buffered = this.buffered.slice(full.length);
        return full;
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply; received so far: ${JSON.stringify(this.buffered)}`)), 10_000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async send(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** Starts TLS on the connection (after a 234). */
  async upgrade(): Promise<void> {
    const raw = this.socket as net.Socket;
    raw.removeAllListeners('data');
    const secure = tls.connect({ socket: raw, ca: stack.caPem, checkServerIdentity: () => undefined });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }
}

async function connectRaw(): Promise<RawControl> {
  const socket = net.connect({ host: '127.0.0.1', port: stack.ports.explicitFtps! });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const control = new RawControl(socket);
  expect(await control.reply()).toMatch(/^220 /);
  return control;
}

it('refuses a clear-text login before AUTH TLS (the password never reaches the file server), then logs in over TLS', async () => {
  const control = await connectRaw();
  try {
    expect(await control.send(`USER ${ftpUser}`)).toMatch(/^530 USER refused: log in over TLS/);
    expect(await control.send(`PASS ${ftpPassword}`)).toMatch(/^530 PASS refused/);
    expect(await control.send('LIST')).toMatch(/^530 LIST refused: send AUTH TLS first/);
    const feat = await control.send('FEAT');
    expect(feat).toMatch(/^211-/);
    expect(feat).toContain(' AUTH TLS\r\n');
    expect(await control.send('AUTH TLS')).toMatch(/^234 /);
    await control.upgrade();
    expect(await control.send(`USER ${ftpUser}`)).toMatch(/^331 /);
    expect(await control.send(`PASS ${ftpPassword}`)).toMatch(/^230 /);
    expect(await control.send('CCC')).toMatch(/^534 CCC refused/);
    expect(await control.send('AUTH TLS')).toMatch(/^534 AUTH refused: this connection is already protected/);
    expect(await control.send('QUIT')).toMatch(/^221 /);
  } finally {
    control.socket.destroy();
  }
  // The gateway said who tried to log in without TLS, from where; never the password.
  await waitFor(async () => (await readLog()).includes('clear-text login refused before AUTH TLS'), 5_000, 'the refusal in the log');
  const log = await readLog();
  expect(log).not.toContain(ftpPassword);
});

it('drops commands pipelined in clear text behind AUTH TLS instead of running them after the handshake', async () => {
  const control = await connectRaw();
  try {
    control.socket.write(`AUTH TLS\r\nUSER ${ftpUser}\r\n`);
    expect(await control.reply()).toMatch(/^234 /);
    await control.upgrade();
    // Had USER been kept, its 331 would come before FEAT's 211.
    expect(await control.send('FEAT')).toMatch(/^211-/);
  } finally {
    control.socket.destroy();
  }
});

it('a client that sends AUTH TLS and then garbage instead of a handshake is cut; the port keeps serving', async () => {
  const control = await connectRaw();
  expect(await control.send('AUTH TLS')).toMatch(/^234 /);
  const closed = new Promise<void>((resolve) => control.socket.once('close', () => resolve()));
  control.socket.write('this is not a TLS ClientHello\r\n');
  await closed;
  const next = await connectRaw();
  expect(await next.send('FEAT')).toMatch(/^211-/);
  next.socket.destroy();
  await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'no leases left');
});

function readLog(): Promise<string> {
  return readFile(stack.logFile, 'utf8');
}
