import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { certApi } from '@st/contracts';
import { freePort } from '@st/test-kit';
import { curl, ftpsUrl, writeRandomFile, certAdmin } from './harness/clients.js';
import { startPebble, type Pebble } from './harness/pebble.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(240_000);

const serverName = 'renew.acme.test';
/** Pebble issues certificates this short-lived: renewal is due a third of it before expiry. */
const lifetimeSeconds = 45;
let stack: Stack;
let pebble: Pebble;

beforeAll(async () => {
  const plainHttpPort = await freePort();
  stack = await startStack({ serverName, plainHttpPort, webUpstream: 'nginx', acmeMaxSleepMs: 500 });
  pebble = await startPebble({ dir: join(stack.dir, 'pebble'), httpPort: plainHttpPort, tlsPort: stack.ports.https, validitySeconds: lifetimeSeconds });
});

afterAll(async () => {
  await pebble?.stop();
  await stack?.stop();
});

const admin = (method: string, path: string, body?: unknown) => certAdmin(stack, method, path, body);

function servedFingerprint(root: string): Promise<{ fingerprint: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, servername: serverName, ca: root, rejectUnauthorized: false }, () => {
      const result = { fingerprint: socket.getPeerX509Certificate()!.fingerprint256, authorized: socket.authorized };
      socket.destroy();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

it('a short-lived ACME certificate is renewed and swapped by itself while an FTPS download and an HTTPS keep-alive connection run; both complete intact', async () => {
  const root = await pebble.rootPem();
  const rootFile = join(stack.dir, 'pebble-root.pem');
  await writeFile(rootFile, root);
  await writeFile(join(stack.filesDir, 'page.txt'), 'a page\n');
  expect((await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, challenge: 'http-01', caFile: pebble.caFile })).status).toBe(200);
  await waitFor(async () => (await servedFingerprint(root)).authorized, 60_000, 'the first ACME certificate served');
  const first = await servedFingerprint(root);

  // An HTTPS keep-alive connection opened on the first certificate, used again after the renewal.
  const agent = new https.Agent({ ca: root, keepAlive: true, maxSockets: 1, servername: serverName });
  const sockets = new Set<unknown>();
  const get = () =>
    new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: stack.ports.https, path: '/page.txt', agent, servername: serverName, headers: { host: serverName } }, (response) => {
          sockets.add(response.socket);
          let body = '';
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
  expect(await get()).toBe('a page\n');

  // An FTPS download slow enough to outlast the renewal.
  const size = 40 * 1024 * 1024;
  const hash = await writeRandomFile(join(stack.filesDir, 'long.bin'), size);
  // 512 KiB/s: some 80 s, which outlasts the renewal even if one order fails and is retried.
  const download = curl(stack, ['--insecure', '--limit-rate', '512K', ftpsUrl(stack, 'long.bin'), '--output', join(stack.dir, 'long.out')], 170_000);
  let downloadEndedAt = 0;
  void download.then(() => (downloadEndedAt = Date.now()));

  await waitFor(
    async () => {
      const orders = (await admin('GET', certApi.acmeOrders)).json.orders as Array<{ reason: string; state: string }>;
      return orders.some((order) => order.reason === 'renewal' && order.state === 'valid');
    },
    75_000,
    'the renewal order',
  );
  await waitFor(async () => (await servedFingerprint(root)).fingerprint !== first.fingerprint, 20_000, 'the renewed certificate served to new connections');
  const swappedAt = Date.now();
  expect((await servedFingerprint(root)).authorized).toBe(true);

  // The keep-alive connection opened before the swap still serves, on the same socket.
  expect(await get()).toBe('a page\n');
  expect(sockets.size).toBe(1);
  agent.destroy();

  const result = await download;
  expect(result.code).toBe(0);
  // The swap happened in the middle of the download.
  expect(downloadEndedAt).toBeGreaterThan(swappedAt);
  expect(createHash('sha256').update(await readFile(join(stack.dir, 'long.out'))).digest('hex')).toBe(hash);
});
