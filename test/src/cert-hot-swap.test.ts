import https from 'node:https';
import tls from 'node:tls';
import { join } from 'node:path';
import { apiPath, certApi } from '@st/contracts';
import { connectBasicFtp, writeRandomFile, certAdmin } from './harness/clients.js';
import { TestCa } from '../../services/cert-service/src/test-openssl.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';

jest.setTimeout(180_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

const admin = (method: string, path: string, body?: unknown) => certAdmin(stack, method, path, body);

/** The fingerprint a new TLS connection to a gateway port is served (by a client offering only `sigalgs`, when given). */
function presentedFingerprint(port: number, sigalgs?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(sigalgs ? { sigalgs } : {}) }, () => {
      const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

it('activating a new certificate swaps it for new connections without dropping a running download or a keep-alive connection', async () => {
  const size = 200 * 1024 * 1024;
  const hash = await writeRandomFile(join(stack.filesDir, 'swap.bin'), size);
  const before = await presentedFingerprint(stack.ports.ftps);

  // An HTTPS keep-alive connection, opened before the swap.
  const agent = new https.Agent({ ca: stack.caPem, keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  const get = () =>
    new Promise<number>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${stack.ports.https}/`, { agent }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  expect(await get()).toBe(200);

  // A 200 MiB FTPS download, running during the swap.
  const client = await connectBasicFtp(stack);
  const digest = createHash('sha256');
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      digest.update(chunk);
      received += chunk.length;
      // Slow enough that the swap surely happens mid-transfer.
      setTimeout(done, 1);
    },
  });
  const download = client.downloadTo(sink, 'swap.bin');
  await waitFor(() => received > 10 * 1024 * 1024, 30_000, 'download under way');

  const created = await admin('POST', certApi.selfSigned, { serverName: '127.0.0.1', keyType: 'ecdsa-p256', activate: false });
  expect(created.status).toBe(201);
  const activatedAt = Date.now();
  const activated = await admin('POST', apiPath(certApi.activate, { id: created.json.certificate.id }));
  expect(activated.status).toBe(200);

  let after = before;
  await waitFor(async () => (after = await presentedFingerprint(stack.ports.ftps)) !== before, 5000, 'new certificate served');
  const swapDelayMs = Date.now() - activatedAt;
  stack.logger.info({ swapDelayMs }, 'measured: activation to new certificate on a new connection');
  expect(swapDelayMs).toBeLessThan(1000);
  expect(await presentedFingerprint(stack.ports.https)).toBe(after);
  expect(received).toBeLessThan(size);

  await download;
  client.close();
  expect(received).toBe(size);
  expect(digest.digest('hex')).toBe(hash);

  // The keep-alive connection opened before the swap still serves.
  expect(await get()).toBe(200);
  expect(sockets.size).toBe(1);
  agent.destroy();

});

it('a gateway that was down during an activation catches up when it starts', async () => {
  await stack.gateway.stop();
  const created = await admin('POST', certApi.selfSigned, { serverName: '127.0.0.1', keyType: 'rsa-2048', activate: true });
  expect(created.status).toBe(201);
  stack.gateway = stack.newGateway();
  await stack.gateway.start();
  await waitFor(
    async () => (await presentedFingerprint(stack.ports.ftps)) === created.json.certificate.fingerprintSha256,
    5000,
    'the gateway serves the certificate activated while it was down',
  );
});

it('CSR flow through the gateway: a client trusting only the CA root verifies the full chain the gateway serves', async () => {
  const ca = new TestCa();
  const created = await admin('POST', certApi.requests, { serverName: 'files.example.test', altNames: ['127.0.0.1'], organisation: 'Example Files', country: 'DE', keyType: 'ecdsa-p256' });
  expect(created.status).toBe(201);
  const signed = ca.issue({ csrPem: created.json.csrPem, sans: ['DNS:files.example.test', 'IP:127.0.0.1'] });
  const loaded = await admin('POST', certApi.certificates, { certificate: signed.certificatePem, chain: ca.intermediatePem });
  expect(loaded.status).toBe(201);
  const activated = await admin('POST', apiPath(certApi.activate, { id: loaded.json.certificate.id }));
  expect(activated.status).toBe(200);
  const verified = async (port: number, servername?: string) =>
    new Promise<{ authorized: boolean; chainLength: number }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.rootPem, ...(servername ? { servername } : {}) }, () => {
        let depth = 0;
        for (let cert = socket.getPeerCertificate(true); cert && depth < 5; cert = cert.issuerCertificate === cert ? (null as never) : cert.issuerCertificate) depth++;
        resolve({ authorized: socket.authorized, chainLength: depth });
        socket.destroy();
      });
      socket.on('error', reject);
    });
  await waitFor(async () => (await verified(stack.ports.https, 'files.example.test').catch(() => null))?.authorized === true, 5000, 'the CA-signed chain is served');
  // Hostname verification on, by DNS name and by IP, on the HTTPS and the FTPS port.
  expect(await verified(stack.ports.https, 'files.example.test')).toMatchObject({ authorized: true, chainLength: 3 });
  expect(await verified(stack.ports.ftps)).toMatchObject({ authorized: true });
});

it('serves a certificate of the other key kind alongside the active one: each client gets the one its signature algorithms ask for, on HTTPS and FTPS', async () => {
  const ecdsaOnly = 'ECDSA+SHA256:ECDSA+SHA384';
  const rsaOnly = 'RSA-PSS+SHA256:RSA+SHA256';
  const active = (await admin('GET', apiPath(certApi.certificate, { id: 'active' }))).json;
  const activeIsRsa = String(active.keyType).startsWith('RSA');
  const created = await admin('POST', certApi.selfSigned, { serverName: '127.0.0.1', keyType: activeIsRsa ? 'ecdsa-p256' : 'rsa-2048' });
  expect(created.status).toBe(201);
  const other = created.json.certificate;
  expect(await admin('POST', apiPath(certApi.activateAlongside, { id: other.id }))).toMatchObject({ status: 200 });
  const [rsa, ecdsa] = activeIsRsa ? [active.fingerprintSha256, other.fingerprintSha256] : [other.fingerprintSha256, active.fingerprintSha256];
  // Until the gateway has it, a client that only takes the other kind is refused.
  await waitFor(async () => (await presentedFingerprint(stack.ports.https, activeIsRsa ? ecdsaOnly : rsaOnly).catch(() => 'refused')) === other.fingerprintSha256, 10_000, 'the certificate alongside served');
  for (const port of [stack.ports.https, stack.ports.ftps]) {
    expect(await presentedFingerprint(port, ecdsaOnly)).toBe(ecdsa);
    expect(await presentedFingerprint(port, rsaOnly)).toBe(rsa);
  }
  const health = (await (await fetch(`http://127.0.0.1:${stack.ports.health}/health/ready`)).json()) as { certificate: { id: string; alongside?: { id: string } } };
  expect(health.certificate).toMatchObject({ id: active.id, alongside: { id: other.id } });

  // Stopped again: a client that can only verify the other kind is refused, the active kind still served.
  expect(await admin('POST', apiPath(certApi.deactivate, { id: other.id }))).toMatchObject({ status: 200 });
  await waitFor(async () => (await presentedFingerprint(stack.ports.https, activeIsRsa ? ecdsaOnly : rsaOnly).catch(() => 'refused')) === 'refused', 10_000, 'only the active kind served');
  expect(await presentedFingerprint(stack.ports.ftps, activeIsRsa ? rsaOnly : ecdsaOnly)).toBe(active.fingerprintSha256);
});
