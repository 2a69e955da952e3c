import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile, readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Client } from 'basic-ftp';
import { parsePasvReply } from '@st/ftp-protocol';
import { connectBasicFtp, curl, ftpsUrl, sha256File, writeRandomFile } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(180_000);

let stack: Stack;
let localDir: string;

beforeAll(async () => {
  stack = await startStack({ passivePorts: 60 });
  localDir = join(stack.dir, 'local');
  await mkdir(localDir);
});

afterAll(async () => {
  await stack?.stop();
});

async function expectNoLeftovers(): Promise<void> {
  await waitFor(async () => (await stack.leaseKeys()).length === 0, 15_000, 'no leases left in Redis');
  await waitFor(() => stack.gateway.status().controlSessions === 0, 15_000, 'no control sessions left');
  await waitFor(
    () => stack.gateway.status().listeners.every((listener) => listener.openConnections === 0),
    15_000,
    'no open connections on any listener',
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(stack.gateway.status().listeners)}`);
  });
}

function memorySink(): { stream: Writable; hash: () => string; size: () => number } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done();
    },
  });
  return { stream, hash: () => hash.digest('hex'), size: () => size };
}

it('200 small downloads in a row on one control session: none truncated, none hung', async () => {
  const files: Array<{ name: string; body: Buffer }> = [];
  for (let i = 0; i < 20; i++) {
    const body = Buffer.alloc(1 + i * 517, String.fromCharCode(65 + (i % 26)));
    files.push({ name: `small-${i}.txt`, body });
    await writeFile(join(stack.filesDir, `small-${i}.txt`), body);
  }
  const client = await connectBasicFtp(stack, 'EPSV', 10_000);
  try {
    for (let round = 0; round < 200; round++) {
      const file = files[round % files.length]!;
      const sink = memorySink();
      await client.downloadTo(sink.stream, file.name);
      expect(sink.size()).toBe(file.body.length);
    }
  } finally {
    client.close();
  }
  await expectNoLeftovers();
});

it('20 concurrent FTPS sessions transferring at once keep every byte', async () => {
  const size = 2 * 1024 * 1024;
  const sources = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const path = join(localDir, `concurrent-${i}.bin`);
      return { path, name: `concurrent-${i}.bin`, hash: await writeRandomFile(path, size) };
    }),
  );
  await Promise.all(
    sources.map(async (source, i) => {
      const client = await connectBasicFtp(stack, i % 2 === 0 ? 'EPSV' : 'PASV');
      try {
        await client.uploadFrom(source.path, source.name);
        const sink = memorySink();
        await client.downloadTo(sink.stream, source.name);
        expect(sink.hash()).toBe(source.hash);
      } finally {
        client.close();
      }
    }),
  );
  for (const source of sources) expect(await sha256File(join(stack.filesDir, source.name))).toBe(source.hash);
  await expectNoLeftovers();
});

it('a connection from 127.0.0.2 to a port leased for 127.0.0.1 gets no data; the real transfer succeeds', async () => {
  const body = Buffer.from('secret payload for the rightful client\n'.repeat(1000));
  await writeFile(join(stack.filesDir, 'guarded.txt'), body);
  const client = await connectBasicFtp(stack, 'PASV');
  try {
    // Take the passive port by hand so the intruder can race for it before the client connects.
    const pasv = await client.send('PASV');
    const { port } = parsePasvReply(pasv.message);
    const intruderBytes = await new Promise<number>((resolve) => {
      let received = 0;
      const intruder = tls.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2', rejectUnauthorized: false });
      intruder.on('data', (chunk) => (received += chunk.length));
      intruder.on('error', () => undefined);
      intruder.on('close', () => resolve(received));
    });
    expect(intruderBytes).toBe(0);
    // The lease is still there for the rightful client.
    expect(await stack.redis.exists(`${stack.redisPrefix}lease:${port}`)).toBe(1);
    const data = tls.connect({ host: '127.0.0.1', port, ca: stack.caPem, session: (client.ftp.socket as tls.TLSSocket).getSession() });
    const received: Buffer[] = [];
    data.on('data', (chunk) => received.push(chunk));
    const closed = new Promise((resolve) => data.on('close', resolve));
    await new Promise((resolve) => data.once('secureConnect', resolve));
    const reply = await client.ftp.handle('RETR guarded.txt', (response, task) => {
      if (response instanceof Error) task.reject(response);
      else if (response.code >= 200) task.resolve(response);
    });
    await closed;
    expect(reply.code).toBe(226);
    expect(Buffer.concat(received).equals(body)).toBe(true);
  } finally {
    client.close();
  }
  await expectNoLeftovers();
});

// Without session reuse a TLS 1.3 data connection gets session tickets the
// uploading client never reads; curl 7.88 then closes with unread data, which
// resets the connection. The gateway must still deliver every byte.
describe.each([
  { version: 'tlsv1.3', versionArgs: ['--tlsv1.3'] },
  { version: 'tlsv1.2', versionArgs: ['--tlsv1.2', '--tls-max', '1.2'] },
  { version: 'tlsv1.3-no-reuse', versionArgs: ['--tlsv1.3', '--no-sessionid'] },
])('curl uploads over $version', ({ version, versionArgs }) => {
  it('20 uploads of 1 MiB in a row all complete intact', async () => {
    for (let i = 0; i < 20; i++) {
      const path = join(localDir, `curl-up-${version}-${i}.bin`);
      const hash = await writeRandomFile(path, 1024 * 1024);
      const result = await curl(stack, ['--ssl-reqd', ...versionArgs, '-T', path, ftpsUrl(stack, `curl-up-${version}-${i}.bin`)]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(await sha256File(join(stack.filesDir, `curl-up-${version}-${i}.bin`))).toBe(hash);
    }
    await expectNoLeftovers();
  });
});

it('resumes a download with REST', async () => {
  const path = join(stack.filesDir, 'resume.bin');
  const hash = await writeRandomFile(path, 3 * 1024 * 1024 + 17);
  const full = await readFile(path);
  const partial = join(localDir, 'resume.part');
  await writeFile(partial, full.subarray(0, 1234567));
  const result = await curl(stack, ['--ssl-reqd', '-C', '-', '-o', partial, ftpsUrl(stack, 'resume.bin')]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(await sha256File(partial)).toBe(hash);
  const client = await connectBasicFtp(stack);
  try {
    const sink = memorySink();
    await client.downloadTo(sink.stream, 'resume.bin', 3 * 1024 * 1024);
    expect(sink.size()).toBe(17);
  } finally {
    client.close();
  }
  await expectNoLeftovers();
});

it('ABOR mid-download ends the transfer and the session stays usable', async () => {
  await writeRandomFile(join(stack.filesDir, 'abort.bin'), 200 * 1024 * 1024);
  const client = await connectBasicFtp(stack);
  try {
    const epsv = await client.send('EPSV');
    const port = Number(/\|\|\|(\d+)\|/.exec(epsv.message)![1]);
    const data = tls.connect({ host: '127.0.0.1', port, ca: stack.caPem, session: (client.ftp.socket as tls.TLSSocket).getSession() });
    data.on('error', () => undefined);
    await new Promise((resolve) => data.once('secureConnect', resolve));
    let received = 0;
    const gotSome = new Promise<void>((resolve) =>
      data.on('data', (chunk) => {
        received += chunk.length;
        if (received > 1024 * 1024) resolve();
      }),
    );
    // Stop reading after the first MiB so the transfer is surely still running.
    gotSome.then(() => data.pause());
    const retr = client.ftp.socket.write('RETR abort.bin\r\n');
    expect(retr).toBe(true);
    await gotSome;
    const replies: string[] = [];
    const allReplies = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        replies.push(...chunk.toString().split('\r\n').filter(Boolean));
        if (replies.some((line) => /^2[0-9][0-9] /.test(line) && !line.startsWith('150')) && replies.length >= 2) {
          client.ftp.socket.off('data', onData);
          resolve();
        }
      };
      client.ftp.socket.on('data', onData);
    });
    client.ftp.socket.write('ABOR\r\n');
    await allReplies;
    expect(replies.join('\n')).toMatch(/^4[0-9][0-9] /m);
    expect(received).toBeLessThan(200 * 1024 * 1024);
    data.destroy();
  } finally {
    client.close();
  }
  const check = await connectBasicFtp(stack);
  try {
    expect((await check.list()).length).toBeGreaterThan(0);
  } finally {
    check.close();
  }
  await expectNoLeftovers();
});

it('a client killed mid-transfer leaves no lease and no socket', async () => {
  await writeRandomFile(join(stack.filesDir, 'killed.bin'), 200 * 1024 * 1024);
  const download = curl(stack, ['--ssl-reqd', '--limit-rate', '2M', '-o', join(localDir, 'killed.part'), ftpsUrl(stack, 'killed.bin')]);
  await waitFor(async () => {
    try {
      return (await stat(join(localDir, 'killed.part'))).size > 0;
    } catch {
      return false;
    }
  }, 20_000, 'download started');
  download.kill();
  await download;
  // And an upload killed half way.
  const upPath = join(localDir, 'killed-up.bin');
  await writeRandomFile(upPath, 50 * 1024 * 1024);
  const upload = curl(stack, ['--ssl-reqd', '--limit-rate', '2M', '-T', upPath, ftpsUrl(stack, 'killed-up.bin')]);
  await waitFor(async () => {
    try {
      return (await stat(join(stack.filesDir, 'killed-up.bin'))).size > 0;
    } catch {
      return false;
    }
  }, 20_000, 'upload started');
  upload.kill();
  await upload;
  await expectNoLeftovers();
});

it('refuses plain-text connections to the TLS ports', async () => {
  const reply = await new Promise<string>((resolve) => {
    const socket = net.connect(stack.ports.ftps, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    socket.write('USER x\r\n');
  });
  expect(reply).not.toMatch(/^220/);
  expect(await readFile(stack.logFile, 'utf8')).toMatch(/plain text/);
});
