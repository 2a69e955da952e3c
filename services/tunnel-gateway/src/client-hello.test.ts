import { spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { readClientHello } from './client-hello.js';

/** The first bytes a real client sends: a server that records them and hangs up. */
async function firstBytes(connect: (port: number) => () => void): Promise<Buffer> {
  let stopClient = () => undefined as void;
  const bytes = await new Promise<Buffer>((resolve) => {
    const server = net.createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      stopClient = connect((server.address() as AddressInfo).port);
    });
  });
  stopClient();
  return bytes;
}

const nodeClient = (options: tls.ConnectionOptions) => (port: number) => {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
  socket.on('error', () => undefined);
  return () => socket.destroy();
};

const opensslClient = (args: string[]) => (port: number) => {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
  return () => child.kill();
};

describe('reading the server name and ALPN protocols of a ClientHello', () => {
  it.each([
    ['Node, an ACME validation', nodeClient({ servername: 'files.example.com', ALPNProtocols: ['acme-tls/1'] }), { serverName: 'files.example.com', alpn: ['acme-tls/1'], versions: [0x0304, 0x0303] }],
    ['Node, a browser-like hello', nodeClient({ servername: 'Files.Example.com', ALPNProtocols: ['h2', 'http/1.1'] }), { serverName: 'files.example.com', alpn: ['h2', 'http/1.1'], versions: [0x0304, 0x0303] }],
    ['Node, no SNI (an IP address) and no ALPN', nodeClient({}), { serverName: null, alpn: [], versions: [0x0304, 0x0303] }],
    ['Node, TLS 1.2 only', nodeClient({ maxVersion: 'TLSv1.2' }), { serverName: null, alpn: [], versions: [] }],
    ['OpenSSL, an ACME validation', opensslClient(['-servername', 'a.example', '-alpn', 'acme-tls/1']), { serverName: 'a.example', alpn: ['acme-tls/1'], versions: [0x0304, 0x0303, 0x0302, 0x0301] }],
    ['OpenSSL, TLS 1.2', opensslClient(['-servername', 'b.example', '-tls1_2']), { serverName: 'b.example', alpn: [], versions: [] }],
  ])('%s', async (_name, client, summary) => {
    expect(readClientHello(await firstBytes(client))).toEqual(summary);
  });

  it('gives up (null) on anything but a complete ClientHello, without throwing', async () => {
    const hello = await firstBytes(nodeClient({ servername: 'files.example.com', ALPNProtocols: ['acme-tls/1'] }));
    for (let cut = 0; cut < hello.length; cut += 7) expect(readClientHello(hello.subarray(0, cut))).toBeNull();
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBeNull();
    expect(readClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0]))).toBeNull();
    // Lengths that point past the end, in every byte: a summary or null, never an exception.
    for (let i = 5; i < hello.length; i++) {
      const damaged = Buffer.from(hello);
      damaged[i] = 0xff;
      expect(() => readClientHello(damaged)).not.toThrow();
    }
  });
});
