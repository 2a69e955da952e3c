import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { selfSignedPair } from './test-support/self-signed.js';
import { readHelloFirst } from './hello-first.js';

const pair = selfSignedPair();
const context = tls.createSecureContext({ cert: pair.certificatePem, key: pair.privateKeyPem });

/**
 * A client whose bytes reach the server in pieces of `split` bytes, a few
 * milliseconds apart (as a large ClientHello crosses a real network); the
 * server reads the hello first, then handshakes on the same socket.
 */
async function handshakeThroughPieces(split: number): Promise<{ serverName: string | null; alpn: string[]; reply: string }> {
  let seen: { serverName: string | null; alpn: string[] } | null = null;
  const server = net.createServer({ pauseOnConnect: true }, (raw) => {
    readHelloFirst(raw, (hello) => {
      seen = hello ? { serverName: hello.serverName, alpn: hello.alpn } : { serverName: null, alpn: [] };
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
      secure.on('error', () => undefined);
      secure.once('secure', () => secure.end('hello after the hello'));
      raw.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A relay that cuts what the client sends into pieces.
  const relay = net.createServer((inbound) => {
    const outbound = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    outbound.setNoDelay(true);
    inbound.on('data', async (chunk: Buffer) => {
      inbound.pause();
      for (let at = 0; at < chunk.length; at += split) {
        outbound.write(chunk.subarray(at, at + split));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      inbound.resume();
    });
    outbound.pipe(inbound);
    inbound.on('end', () => outbound.end());
    outbound.on('error', () => inbound.destroy());
    inbound.on('error', () => outbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const client = tls.connect({ host: '127.0.0.1', port: (relay.address() as AddressInfo).port, servername: 'files.example.com', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false });
      let text = '';
      client.on('data', (chunk) => (text += chunk));
      client.on('end', () => resolve(text));
      client.on('error', reject);
    });
    return { ...seen!, reply };
  } finally {
    relay.close();
    server.close();
  }
}

describe('reading the ClientHello before the handshake', () => {
  it.each([3, 100, 4096])('joins a ClientHello that arrives in pieces of %d bytes, and the handshake then goes on', async (split) => {
    expect(await handshakeThroughPieces(split)).toEqual({ serverName: 'files.example.com', alpn: ['http/1.1'], reply: 'hello after the hello' });
  });
});
