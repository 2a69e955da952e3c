/**
 * The bare Node TLS relay: node:tls in, node:net out, nothing else. It is the
 * ceiling for what a Node process can do on this machine, so the gateway's
 * handshake rate is compared with it.
 *
 *   node node-relay.js <listen port> <upstream port> <cert.pem> <key.pem>
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tls12ForwardSecretCiphers, tls13CipherSuites } from '@st/contracts';

const [listenPort, upstreamPort, certFile, keyFile] = process.argv.slice(2);
if (!listenPort || !upstreamPort || !certFile || !keyFile) {
  console.error('usage: node-relay <listen port> <upstream port> <cert.pem> <key.pem>');
  process.exit(2);
}

// The gateway's suites and order (server preference), so every terminator negotiates the same suite.
const ciphers = [...tls13CipherSuites, ...tls12ForwardSecretCiphers].join(':');
const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2', ciphers, honorCipherOrder: true }, (client) => {
  client.setNoDelay(true);
  const upstream = net.connect({ host: '127.0.0.1', port: Number(upstreamPort), noDelay: true });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream).pipe(client);
});
server.on('tlsClientError', () => undefined);
server.listen({ host: '127.0.0.1', port: Number(listenPort), backlog: 1024 }, () => console.log(`node relay on 127.0.0.1:${listenPort} -> ${upstreamPort}`));
process.once('SIGTERM', () => process.exit(0));
