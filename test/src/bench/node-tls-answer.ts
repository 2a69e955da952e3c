/**
 * The least a Node TLS server can do per connection: node:tls with the
 * gateway's suites, one answer of a fixed body, then close. No relay, no
 * parsing (ab's request arrives in one read). Beside nginx serving the same
 * file, it shows what a full handshake costs a Node process before any
 * product code runs.
 *
 *   node node-tls-answer.js <listen port> <body file> <cert.pem> <key.pem>
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { tls12ForwardSecretCiphers, tls13CipherSuites } from '@st/contracts';

const [listenPort, bodyFile, certFile, keyFile] = process.argv.slice(2);
if (!listenPort || !bodyFile || !certFile || !keyFile) {
  console.error('usage: node-tls-answer <listen port> <body file> <cert.pem> <key.pem>');
  process.exit(2);
}

const body = readFileSync(bodyFile);
const answer = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`, 'latin1'), body]);
const ciphers = [...tls13CipherSuites, ...tls12ForwardSecretCiphers].join(':');
const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2', ciphers, honorCipherOrder: true }, (client) => {
  client.setNoDelay(true);
  client.on('error', () => client.destroy());
  client.once('data', () => client.end(answer));
});
server.on('tlsClientError', () => undefined);
server.listen({ host: '127.0.0.1', port: Number(listenPort), backlog: 1024 }, () => console.log(`node TLS answer on 127.0.0.1:${listenPort}`));
process.once('SIGTERM', () => process.exit(0));
