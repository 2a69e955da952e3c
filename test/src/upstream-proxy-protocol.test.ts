/**
 * The gateway names each client to the file server in a PROXY protocol
 * header (settings proxyProtocol.toUpstream), so a server that reads it logs
 * real clients: Debian's nginx (`listen … proxy_protocol`) for the web port,
 * versions 1 and 2; for FTP, where Debian has no server that reads it, a
 * relay in front of vsftpd that requires the header on the control
 * connection (as ProFTPD's mod_proxy_protocol does) and parses it with
 * proxy-protocol-js. Data connections carry no header.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import { INETProtocol, IPv4ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { freePort } from '@st/test-kit';
import { curl, ftpsUrl } from './harness/clients.js';
import { ftpPassword, ftpUser, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

interface HeardHeader {
  version: 1 | 2;
  source: string;
  sourcePort: number;
  destinationPort: number;
}

/**
 * A TCP front for an FTP server that accepts only connections starting with a
 * PROXY header: records what the header says, then relays the rest both ways.
 * A connection without one is closed, as a server configured for it would.
 */
async function startProxyReadingFront(port: number, target: () => number): Promise<{ heard: HeardHeader[]; refused: number; close(): Promise<void> }> {
  const heard: HeardHeader[] = [];
  const front = { heard, refused: 0, close: async () => undefined as void };
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => undefined);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      let length = 0;
      let header: HeardHeader | null = null;
      try {
        if (buffered.subarray(0, 6).toString('latin1') === 'PROXY ') {
          const end = buffered.indexOf('\r\n');
          if (end < 0) return;
          length = end + 2;
          const parsed = V1ProxyProtocol.parse(buffered.subarray(0, length).toString('latin1'));
          header = { version: 1, source: parsed.source.ipAddress, sourcePort: parsed.source.port, destinationPort: parsed.destination.port };
          expect(parsed.inetProtocol).toBe(INETProtocol.TCP4);
        } else if (buffered.length >= 16 && buffered[12] === 0x21) {
          length = 16 + buffered.readUInt16BE(14);
          if (buffered.length < length) return;
          const parsed = V2ProxyProtocol.parse(new Uint8Array(buffered.subarray(0, length)));
          const address = parsed.proxyAddress as IPv4ProxyAddress;
          header = { version: 2, source: address.sourceAddress.address.join('.'), sourcePort: address.sourcePort, destinationPort: address.destinationPort };
        } else if (buffered.length >= 16) {
          throw new Error('no PROXY header');
        } else return;
      } catch {
        front.refused++;
        socket.destroy();
        return;
      }
      socket.off('data', onData);
      heard.push(header);
      const upstream = net.connect({ host: '127.0.0.1', port: target() });
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      const rest = buffered.subarray(length);
      if (rest.length > 0) upstream.write(rest);
      socket.pipe(upstream);
      upstream.pipe(socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  front.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  return front;
}

describe('PROXY protocol headers from the gateway to the file server', () => {
  let stack: Stack;
  let front: Awaited<ReturnType<typeof startProxyReadingFront>>;
  let vsftpdPort = 0;

  beforeAll(async () => {
    const frontPort = await freePort();
    front = await startProxyReadingFront(frontPort, () => vsftpdPort);
    stack = await startStack({
      webUpstream: 'nginx',
      nginxProxyProtocol: true,
      settings: (settings) => ({
        ...settings,
        // The gateway's FTP control connections go to the front, which hands them to vsftpd.
        upstream: { ...settings.upstream, ftp: { ...settings.upstream.ftp, port: frontPort } },
        proxyProtocol: { ...settings.proxyProtocol, toUpstream: { web: 'v1', ftp: 'v2' } },
      }),
    });
    vsftpdPort = stack.vsftpd.port;
    await writeFile(join(stack.filesDir, 'page.txt'), 'hello through the gateway\n');
  });
  afterAll(async () => {
    await stack?.stop();
    await front?.close();
  });

  const accessLines = async () => (await readFile(stack.nginxAccessLog, 'utf8')).split('\n').filter((line) => line.includes('/page.txt'));

  it.each(['v1', 'v2'] as const)('HTTPS (%s): nginx reads the client from the header on every connection; two clients never share an upstream connection', async (version) => {
    if (version === 'v2') await stack.patchSettings({ proxyProtocol: { toUpstream: { web: 'v2' } } });
    await waitFor(() => stack.gateway.status().portMapVersion !== null && (version === 'v1' || stack.gateway.status().portMapVersion! > 1), 10_000, 'the change applied');
    const before = (await accessLines()).length;
    // Two clients one after the other (with sharing, the second would reuse the first one's upstream connection and header).
    for (const address of ['127.0.0.3', '127.0.0.4']) {
      const result = await curl(stack, ['--interface', address, '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/page.txt`, `https://127.0.0.1:${stack.ports.https}/page.txt`]);
      expect(result.stdout).toBe('200200');
    }
    await waitFor(async () => (await accessLines()).length >= before + 4, 5000, 'nginx logged the requests');
    const lines = (await accessLines()).slice(before);
    // request|status|X-Forwarded-For|proto|port|Forwarded|proxy_protocol_addr|proxy_protocol_port|proxy_protocol_server_port
    const fields = lines.map((line) => line.split('|'));
    expect(fields.map((f) => [f[2], f[6], f[8]])).toEqual([
      ['127.0.0.3', '127.0.0.3', String(stack.ports.https)],
      ['127.0.0.3', '127.0.0.3', String(stack.ports.https)],
      ['127.0.0.4', '127.0.0.4', String(stack.ports.https)],
      ['127.0.0.4', '127.0.0.4', String(stack.ports.https)],
    ]);
    // Both requests of one client came over its one connection: the same client port.
    expect(fields[0]![7]).toBe(fields[1]![7]);
  });

  it('FTPS: the control connection starts with a version 2 header naming the client; transfers work (data connections carry none)', async () => {
    const heardBefore = front.heard.length;
    const listing = await curl(stack, ['--interface', '127.0.0.3', '--list-only', ftpsUrl(stack, '')]);
    expect(listing).toMatchObject({ code: 0 });
    expect(listing.stdout).toContain('page.txt');
    const client = new Client(20_000);
    try {
      await client.access({ host: '127.0.0.1', port: stack.ports.ftps, user: ftpUser, password: ftpPassword, secure: 'implicit', secureOptions: { ca: stack.caPem } });
      const payload = randomBytes(512 * 1024);
      await client.uploadFrom(Readable.from([payload]), 'through-front.bin');
      const chunks: Buffer[] = [];
      await client.downloadTo(new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) }), 'through-front.bin');
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    } finally {
      client.close();
    }
    const heard = front.heard.slice(heardBefore);
    expect(heard.map(({ version, source, destinationPort }) => ({ version, source, destinationPort }))).toEqual([
      { version: 2, source: '127.0.0.3', destinationPort: stack.ports.ftps },
      { version: 2, source: '127.0.0.1', destinationPort: stack.ports.ftps },
    ]);
    expect(heard.every((header) => header.sourcePort > 0)).toBe(true);
    expect(front.refused).toBe(0);
  });
});
