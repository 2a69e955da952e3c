import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { apiPath, certApi } from '@st/contracts';
import { freePort } from '@st/test-kit';
import { certAdmin, curl, sha256File, verifyTlsPeer, writeRandomFile } from './harness/clients.js';
import { haproxyBinary, startHaproxy } from './harness/haproxy.js';
import { startPebble, type Pebble } from './harness/pebble.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

/**
 * The gateway's plain HTTP port with GATEWAY_HTTP=pass: ACME HTTP-01
 * validations are answered by the gateway, every other request goes to the
 * file server (Debian's nginx) as plain HTTP through the web relay.
 */

jest.setTimeout(180_000);

const serverName = 'files.pass.test';
const balancerFront = '127.0.0.8';
const balancerSource = '127.0.0.9';
let stack: Stack;
let pebble: Pebble;
let plainHttpPort: number;
const headTimeMs = 3000;

beforeAll(async () => {
  plainHttpPort = await freePort();
  stack = await startStack({
    serverName,
    plainHttpPort,
    plainHttpMode: 'pass',
    webUpstream: 'nginx',
    // Only the balancer's own source address is trusted to send PROXY headers; direct clients stay direct.
    // A short head time, so that the tests of clients that never finish a request are quick.
    settings: (settings) => ({
      ...settings,
      proxyProtocol: { ...settings.proxyProtocol, trustedProxies: [`${balancerSource}/32`] },
      timeouts: { ...settings.timeouts, handshakeMs: headTimeMs },
    }),
  });
  pebble = await startPebble({ dir: join(stack.dir, 'pebble'), httpPort: plainHttpPort, tlsPort: stack.ports.https });
});

afterAll(async () => {
  await pebble?.stop();
  await stack?.stop();
});

const plainUrl = (path: string) => `http://127.0.0.1:${plainHttpPort}${path}`;

/** nginx's access log lines (request|status|X-Forwarded-For|-Proto|-Port|Forwarded) for requests whose line contains `path`. */
async function upstreamSaw(path: string): Promise<string[][]> {
  const text = await readFile(stack.nginxAccessLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.includes(path))
    .map((line) => line.split('|'));
}

/** Sends raw bytes on one plain connection and says how long the gateway kept it open after them (ms), and what it sent. */
function heldFor(bytes: string): Promise<{ ms: number; received: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: plainHttpPort }, () => socket.write(bytes));
    const start = Date.now();
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    const limit = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway still held the connection after 40 s (sent: ${JSON.stringify(bytes)})`));
    }, 40_000);
    socket.on('close', () => {
      clearTimeout(limit);
      resolve({ ms: Date.now() - start, received });
    });
  });
}

/** Everything the gateway sent on one plain connection that carried `bytes`, until it closed. */
const sent = async (bytes: string): Promise<string> => (await heldFor(bytes)).received;

describe('the plain HTTP port passing requests to the file server', () => {
  it('relays requests and downloads intact, on kept-alive connections, telling the file server the request came over http', async () => {
    const sha = await writeRandomFile(join(stack.filesDir, 'plain-big.bin'), 24 << 20);
    await writeFile(join(stack.filesDir, 'plain-a.txt'), 'plain a\n');
    await writeFile(join(stack.filesDir, 'plain-b.txt'), 'plain b\n');

    const downloaded = join(stack.dir, 'plain-big.download');
    const big = await curl(stack, ['-o', downloaded, '-w', '%{http_code}', plainUrl('/plain-big.bin')]);
    expect(big).toMatchObject({ code: 0, stdout: '200' });
    expect(await sha256File(downloaded)).toBe(sha);

    // Two requests, one connection: curl reports a single connect for both.
    const two = await curl(stack, ['-w', '%{num_connects}\n', plainUrl('/plain-a.txt'), plainUrl('/plain-b.txt')]);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe('plain a\n1\nplain b\n0\n');

    // An upload (nginx WebDAV PUT, with Expect: 100-continue) arrives whole; nginx's workers write as nobody.
    await mkdir(join(stack.filesDir, 'uploads'));
    await chmod(join(stack.filesDir, 'uploads'), 0o777);
    const uploadFile = join(stack.dir, 'plain-upload.bin');
    const uploadSha = await writeRandomFile(uploadFile, 3 << 20);
    const put = await curl(stack, ['-T', uploadFile, '-w', '%{http_code}', plainUrl('/uploads/plain-upload.bin')]);
    expect(put.stdout).toMatch(/^20[14]$/);
    expect(await sha256File(join(stack.filesDir, 'uploads', 'plain-upload.bin'))).toBe(uploadSha);

    await waitFor(async () => (await upstreamSaw('/plain-b.txt')).length > 0, 5_000, 'nginx logged the requests');
    // request|status|X-Forwarded-For|X-Forwarded-Proto|X-Forwarded-Port|Forwarded
    expect((await upstreamSaw('/plain-a.txt'))[0]!.slice(1, 5)).toEqual(['200', '127.0.0.1', 'http', String(plainHttpPort)]);
    // Over HTTPS the same file server hears https: the two ports are told apart.
    const viaHttps = await curl(stack, ['--resolve', `${serverName}:${stack.ports.https}:127.0.0.1`, '-k', `https://${serverName}:${stack.ports.https}/plain-a.txt?over=https`]);
    expect(viaHttps.stdout).toBe('plain a\n');
    await waitFor(async () => (await upstreamSaw('over=https')).length > 0, 5_000, 'nginx logged the HTTPS request');
    expect((await upstreamSaw('over=https'))[0]!.slice(1, 4)).toEqual(['200', '127.0.0.1', 'https']);
  });

  it('keeps the relay strict: a smuggling attempt is refused by the gateway and never reaches the file server', async () => {
    const answer = await sent('POST /plain-smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(await upstreamSaw('/plain-smuggle')).toEqual([]);
  });

  it.each([
    { desc: 'a token that is not pending', token: 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0' },
    { desc: 'something that is no token', token: 'short' },
  ])('answers ACME validation requests itself ($desc: 404) and closes that connection; the file server never sees them', async ({ token }) => {
    const seenBefore = (await upstreamSaw('/plain-a.txt')).length;
    const answer = await sent(`GET /.well-known/acme-challenge/${token} HTTP/1.1\r\nHost: ${serverName}\r\n\r\nGET /plain-a.txt HTTP/1.1\r\nHost: a\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    // The request behind the validation was not answered on that connection, and not passed on.
    expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(await upstreamSaw('acme-challenge')).toEqual([]);
    expect(await upstreamSaw('/plain-a.txt')).toHaveLength(seenBefore);
  });

  it.each([
    { desc: 'says nothing', bytes: '' },
    { desc: 'never ends its request line', bytes: 'GET /plain-a.txt' },
    { desc: 'never ends the head of a validation request', bytes: 'GET /.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0 HTTP/1.1\r\nHost: a\r\n' },
    { desc: 'never ends the head of a request to the file server', bytes: 'GET /plain-a.txt HTTP/1.1\r\nHost: a\r\n' },
  ])('closes a client that $desc within the head time', async ({ bytes }) => {
    const held = await heldFor(bytes);
    expect(held.ms).toBeGreaterThanOrEqual(headTimeMs - 500);
    expect(held.ms).toBeLessThan(headTimeMs * 2 + 3000);
  });

  it('HTTP-01 through the passing port: Pebble validates, the certificate is issued, activated and verified by a client trusting only Pebble', async () => {
    const configured = await certAdmin(stack, 'PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, challenge: 'http-01', caFile: pebble.caFile });
    expect(configured.status).toBe(200);
    let orders: Array<{ id: string }> = [];
    await waitFor(async () => {
      orders = (await certAdmin(stack, 'GET', certApi.acmeOrders)).json.orders;
      return orders.length > 0;
    }, 10_000, 'the first ACME order');
    let order: { state: string; reason: string; certificateId?: string; error?: string } = { state: 'pending', reason: '' };
    await waitFor(async () => {
      order = (await certAdmin(stack, 'GET', apiPath(certApi.acmeOrder, { id: orders[0]!.id }))).json.order;
      return order.state !== 'pending';
    }, 90_000, 'the ACME order finished');
    expect(order).toMatchObject({ state: 'valid' });
    const root = await pebble.rootPem();
    await waitFor(async () => (await verifyTlsPeer(stack.ports.https, serverName, root)).authorized, 20_000, 'the gateway serves the ACME certificate');
    // The CA's validation requests were the gateway's to answer: none reached the file server.
    expect(await upstreamSaw('acme-challenge')).toEqual([]);
  });

  it('closes with the other public ports while the tunnel is disabled, and opens again with them', async () => {
    const stopped = await stack.patchSettings({ tunnelEnabled: false }, 'stop');
    expect(stopped.outcome).toBeDefined();
    await waitFor(() => stack.gateway.plainHttpPort === null, 10_000, 'the plain HTTP port closed');
    expect((await curl(stack, ['-o', '/dev/null', plainUrl('/plain-a.txt')])).code).toBe(7);
    await stack.patchSettings({ tunnelEnabled: true }, 'start');
    await waitFor(() => stack.gateway.plainHttpPort !== null, 10_000, 'the plain HTTP port open again');
    await waitFor(async () => (await curl(stack, [plainUrl('/plain-a.txt')])).stdout === 'plain a\n', 10_000, 'plain HTTP passed on again');
  });

  (haproxyBinary ? it : it.skip)('behind a balancer that sends PROXY headers, the file server hears the client, not the balancer', async () => {
    const balancerPort = await freePort();
    const haproxy = await startHaproxy(join(stack.dir, 'haproxy'), {
      bindAddress: balancerFront,
      sourceAddress: balancerSource,
      forwards: [{ name: 'plain', listen: { from: balancerPort, to: balancerPort }, targets: [{ host: '127.0.0.1', port: plainHttpPort }], proxyVersion: 2 }],
    });
    try {
      const through = await curl(stack, ['--interface', '127.0.0.7', `http://${balancerFront}:${balancerPort}/plain-b.txt?via=balancer`]);
      expect(through.stdout).toBe('plain b\n');
      await waitFor(async () => (await upstreamSaw('via=balancer')).length > 0, 5_000, 'nginx logged the request');
      expect((await upstreamSaw('via=balancer'))[0]!.slice(1, 4)).toEqual(['200', '127.0.0.7', 'http']);
    } finally {
      await haproxy.stop();
    }
  });
});
