import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import { join } from 'node:path';
import { FTPError, type Client } from 'basic-ftp';
import { connectBasicFtp, curl, ftpsUrl, writeRandomFile } from './harness/clients.js';
import { ftpPassword, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

/** Sends a command on basic-ftp's control socket and resolves with its final reply (code >= 200), errors included. */
function finalReply(client: Client, command: string): Promise<{ code: number; message: string }> {
  return client.ftp.handle(command, (response, task) => {
    if (response instanceof FTPError) task.resolve({ code: response.code, message: response.message });
    else if (response instanceof Error) task.reject(response);
    else if (response.code >= 200) task.resolve(response);
  });
}

function epsvPort(message: string): number {
  return Number(/\|\|\|(\d+)\|/.exec(message)![1]);
}

describe('strict policy and short timeouts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      settings: (settings) => ({
        ...settings,
        tls: { ...settings.tls, requireSessionReuse: true },
        timeouts: { ...settings.timeouts, handshakeMs: 500, controlIdleMs: 1500, dataIdleMs: 5000, passiveLeaseMs: 1000 },
        limits: { ...settings.limits, maxCommandLength: 256 },
      }),
    });
    await writeRandomFile(join(stack.filesDir, 'slow.bin'), 6 * 1024 * 1024);
    await writeFile(join(stack.filesDir, 'small.txt'), 'small file\n');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('real clients resume the control session on data connections, so session reuse can be required', async () => {
    const client = await connectBasicFtp(stack);
    try {
      expect((await client.list()).map((entry) => entry.name)).toContain('small.txt');
    } finally {
      client.close();
    }
    const result = await curl(stack, ['--ssl-reqd', ftpsUrl(stack, 'small.txt')]);
    expect(result.stdout).toBe('small file\n');
    expect(await readFile(stack.logFile, 'utf8')).toMatch(/"resumed":true.*data connection secured/);
  });

  it('curl on TLS 1.2, which turns session tickets off and resumes by session id, resumes too (sessions kept by id in Redis)', async () => {
    for (const passive of [[], ['--disable-epsv']]) {
      const result = await curl(stack, ['--ssl-reqd', '--tlsv1.2', '--tls-max', '1.2', ...passive, ftpsUrl(stack, 'small.txt')]);
      expect(result).toMatchObject({ code: 0, stdout: 'small file\n' });
    }
    const secured = (await readFile(stack.logFile, 'utf8')).split('\n').filter((line) => line.includes('"tls":"TLSv1.2"') && line.includes('data connection secured'));
    expect(secured.length).toBeGreaterThanOrEqual(2);
    expect(secured.every((line) => line.includes('"resumed":true'))).toBe(true);
  });

  it('a data connection that does not resume the TLS session is refused and the transfer fails at once', async () => {
    const client = await connectBasicFtp(stack);
    try {
      const port = epsvPort((await client.send('EPSV')).message);
      const data = tls.connect({ host: '127.0.0.1', port, ca: stack.caPem });
      data.on('error', () => undefined);
      const received: Buffer[] = [];
      data.on('data', (chunk) => received.push(chunk));
      await new Promise((resolve) => data.once('secureConnect', resolve));
      const started = Date.now();
      const reply = await finalReply(client, 'RETR small.txt');
      expect(reply.code).toBe(426);
      expect(reply.message).toMatch(/resume the control connection's TLS session/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(Buffer.concat(received).length).toBe(0);
      data.destroy();
    } finally {
      client.close();
    }
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'leases released');
  });

  it("a data connection from the same address that resumes another session's TLS session is refused: no data-port theft between sessions", async () => {
    const victim = await connectBasicFtp(stack);
    // The thief: its own control connection from the same address, and the TLS session it got there.
    const thiefControl = tls.connect({ host: '127.0.0.1', port: stack.ports.ftps, ca: stack.caPem });
    let thiefSession: Buffer | undefined;
    thiefControl.on('session', (session: Buffer) => (thiefSession = session));
    thiefControl.on('data', () => undefined);
    thiefControl.on('error', () => undefined);
    try {
      await waitFor(() => thiefSession !== undefined, 5000, 'the thief has a TLS session of its own');
      const port = epsvPort((await victim.send('EPSV')).message);
      const data = tls.connect({ host: '127.0.0.1', port, ca: stack.caPem, session: thiefSession });
      data.on('error', () => undefined);
      const received: Buffer[] = [];
      data.on('data', (chunk) => received.push(chunk));
      await new Promise((resolve) => data.once('secureConnect', resolve));
      // It is its own session's ticket the gateway cannot open here: a full handshake, then refused.
      expect(data.isSessionReused()).toBe(false);
      const reply = await finalReply(victim, 'RETR small.txt');
      expect(reply.code).toBe(426);
      expect(reply.message).toMatch(/resume the control connection's TLS session/);
      expect(Buffer.concat(received).length).toBe(0);
      data.destroy();
    } finally {
      thiefControl.destroy();
      victim.close();
    }
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'leases released');
  });

  it('closes a connection that never completes the TLS handshake', async () => {
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const socket = net.connect(stack.ports.ftps, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await readFile(stack.logFile, 'utf8')).toMatch(/did not complete the TLS handshake in time/);
  });

  it('closes an idle control connection with 421', async () => {
    const started = Date.now();
    const transcript = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.ftps, ca: stack.caPem });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
        if (/^220 /m.test(text) && !text.includes('USER sent')) {
          text += 'USER sent\n';
          socket.write(`USER sttest\r\nPASS ${ftpPassword}\r\n`);
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
    expect(transcript).toMatch(/^230 /m);
    expect(transcript).toMatch(/^421 Idle timeout/m);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('does not time out the control connection while a slow transfer runs', async () => {
    const result = await curl(stack, ['--ssl-reqd', '--limit-rate', '2M', '-o', join(stack.dir, 'slow.out'), ftpsUrl(stack, 'slow.bin')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((await readFile(join(stack.dir, 'slow.out'))).length).toBe(6 * 1024 * 1024);
  });

  it('ends a stalled data connection and tells the client the transfer failed', async () => {
    const client = await connectBasicFtp(stack);
    try {
      const port = epsvPort((await client.send('EPSV')).message);
      const data = tls.connect({ host: '127.0.0.1', port, ca: stack.caPem, session: (client.ftp.socket as tls.TLSSocket).getSession() });
      data.on('error', () => undefined);
      await new Promise((resolve) => data.once('secureConnect', resolve));
      // Never read: the transfer stalls once the socket buffers are full.
      data.pause();
      const reply = await finalReply(client, 'RETR slow.bin');
      expect(reply.code).toBe(426);
      data.destroy();
    } finally {
      client.close();
    }
  });

  it('answers an over-long command line with 500 and keeps the session', async () => {
    const client = await connectBasicFtp(stack);
    try {
      await expect(client.send(`NOOP ${'x'.repeat(400)}`)).rejects.toThrow(/500.*too long/);
      expect((await client.send('NOOP')).code).toBe(200);
    } finally {
      client.close();
    }
  });

  it('lets an unused passive lease expire', async () => {
    const client = await connectBasicFtp(stack);
    try {
      const port = epsvPort((await client.send('EPSV')).message);
      expect(await stack.redis.exists(`${stack.redisPrefix}lease:${port}`)).toBe(1);
      await waitFor(async () => (await stack.redis.exists(`${stack.redisPrefix}lease:${port}`)) === 0, 5000, 'lease expiry');
    } finally {
      client.close();
    }
  });

  it('relays multi-line replies whole and never logs the password', async () => {
    const client = await connectBasicFtp(stack);
    try {
      const help = await client.send('HELP');
      expect(help.code).toBe(214);
      expect(help.message.split('\n').length).toBeGreaterThan(2);
    } finally {
      client.close();
    }
    expect(await readFile(stack.logFile, 'utf8')).not.toContain(ftpPassword);
  });

  it('answers 421 when the upstream FTP server is down', async () => {
    await stack.vsftpd.stop();
    const reply = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.ftps, ca: stack.caPem });
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^421 /);
  });
});

describe('session-ticket keys that rotate during a session', () => {
  const rotationMs = 3000;
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ ticketRotationMs: rotationMs, settings: (settings) => ({ ...settings, tls: { ...settings.tls, requireSessionReuse: true } }) });
    await writeFile(join(stack.filesDir, 'rotation.txt'), 'after the keys changed\n');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("a data connection resumes its control connection's session with that connection's keys, also after they rotated", async () => {
    for (const mode of ['EPSV', 'PASV'] as const) {
      // A data connection that cannot resume leaves basic-ftp waiting: its own time limit ends it.
      const client = await connectBasicFtp(stack, mode, 10_000);
      try {
        // The keys change once between the control handshake and the data connections (the periods count from the epoch).
        await new Promise((resolve) => setTimeout(resolve, rotationMs - (Date.now() % rotationMs) + 100));
        expect((await client.list()).map((entry) => entry.name)).toContain('rotation.txt');
        const chunks: Buffer[] = [];
        const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) });
        await client.downloadTo(sink, 'rotation.txt');
        expect(Buffer.concat(chunks).toString()).toBe('after the keys changed\n');
      } finally {
        client.close();
      }
    }
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).not.toContain('TLS session not resumed');
  });
});

describe('clear data allowed by policy', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ settings: (settings) => ({ ...settings, tls: { ...settings.tls, allowClearData: true } }) });
    await writeFile(join(stack.filesDir, 'clear.txt'), 'clear data\n');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('accepts PROT C and relays a plain data connection', async () => {
    const client = await connectBasicFtp(stack);
    try {
      expect((await client.send('PROT C')).code).toBe(200);
      const port = epsvPort((await client.send('EPSV')).message);
      const data = net.connect(port, '127.0.0.1');
      const received: Buffer[] = [];
      data.on('data', (chunk) => received.push(chunk));
      const closed = new Promise((resolve) => data.on('close', resolve));
      await new Promise((resolve) => data.once('connect', resolve));
      const reply = await finalReply(client, 'RETR clear.txt');
      await closed;
      expect(reply.code).toBe(226);
      expect(Buffer.concat(received).toString()).toBe('clear data\n');
    } finally {
      client.close();
    }
  });

  it('still requires TLS on the data connection of a session that chose PROT P', async () => {
    const client = await connectBasicFtp(stack);
    try {
      const port = epsvPort((await client.send('EPSV')).message);
      const received = await new Promise<number>((resolve) => {
        let bytes = 0;
        const plain = net.connect(port, '127.0.0.1');
        plain.on('data', (chunk) => (bytes += chunk.length));
        plain.on('error', () => undefined);
        plain.on('close', () => resolve(bytes));
        plain.write('RETR over plain text\r\n');
      });
      expect(received).toBe(0);
      // The data connection from the right client failed its TLS handshake: the transfer fails at once.
      const started = Date.now();
      const reply = await finalReply(client, 'RETR clear.txt');
      expect(reply.code).toBeGreaterThanOrEqual(400);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      client.close();
    }
  });
});
