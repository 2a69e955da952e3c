import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { apiPath, certApi, healthApi } from '@st/contracts';
import { freePort } from '@st/test-kit';
import { certAdmin, verifyTlsPeer } from './harness/clients.js';
import { startPebble, type Pebble } from './harness/pebble.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(180_000);

const serverName = 'files.acme.test';
let stack: Stack;
let pebble: Pebble;
let plainHttpPort: number;

beforeAll(async () => {
  plainHttpPort = await freePort();
  stack = await startStack({ serverName, plainHttpPort, webUpstream: 'nginx' });
  pebble = await startPebble({ dir: join(stack.dir, 'pebble'), httpPort: plainHttpPort, tlsPort: stack.ports.https, nonceRejectPercent: 5 });
});

afterAll(async () => {
  await pebble?.stop();
  await stack?.stop();
});

const admin = (method: string, path: string, body?: unknown) => certAdmin(stack, method, path, body);

/** Debian's curl with its own arguments (not trusting the stack's self-signed certificate). */
function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['--silent', '--show-error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What a client that trusts only `caPem` and checks the host name sees on the gateway's HTTPS port. */
const verifyGateway = (caPem: string) => verifyTlsPeer(stack.ports.https, serverName, caPem);

/** Whether a gateway reads HTTPS ClientHellos for TLS-ALPN-01 validations (what cert-service's bundle told it). */
function gatewayWatchesAlpn(gateway: Stack['gateway']): boolean {
  return (gateway as unknown as { context: { acmeTlsAlpn: boolean } }).context.acmeTlsAlpn;
}

async function finishedOrder(id: string): Promise<any> {
  let order: any = null;
  await waitFor(
    async () => {
      order = (await admin('GET', apiPath(certApi.acmeOrder, { id }))).json.order;
      return order.state !== 'pending';
    },
    90_000,
    `ACME order ${id} finished`,
  );
  return order;
}

describe('the plain HTTP port', () => {
  it('redirects to HTTPS with the path and query kept (308), and answers challenge requests only for pending tokens', async () => {
    const redirect = await curl(['-i', '-H', `Host: ${serverName}`, `http://127.0.0.1:${plainHttpPort}/docs/report.pdf?download=1&lang=en`]);
    expect(redirect.stdout).toMatch(/^HTTP\/1\.1 308 /);
    expect(redirect.stdout).toContain(`Location: https://${serverName}:${stack.ports.https}/docs/report.pdf?download=1&lang=en`);
    const post = await curl(['-i', '-X', 'POST', '--data', 'x=1', '-H', `Host: ${serverName}:80`, `http://127.0.0.1:${plainHttpPort}/upload`]);
    expect(post.stdout).toMatch(/^HTTP\/1\.1 308 /);
    // curl follows the redirect to HTTPS and gets the file from the file server.
    await writeFile(join(stack.filesDir, 'hello.txt'), 'hello over https\n');
    const followed = await curl(['-L', '--cacert', stack.caFile, '--resolve', `${serverName}:${stack.ports.https}:127.0.0.1`, '--resolve', `${serverName}:${plainHttpPort}:127.0.0.1`, `http://${serverName}:${plainHttpPort}/hello.txt`]);
    expect(followed).toMatchObject({ code: 0, stdout: 'hello over https\n' });

    const unknown = await curl(['-i', `http://127.0.0.1:${plainHttpPort}/.well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0`]);
    expect(unknown.stdout).toMatch(/^HTTP\/1\.1 404 /);
    const noHost = await curl(['-i', '-H', 'Host:', `http://127.0.0.1:${plainHttpPort}/`]);
    expect(noHost.stdout).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('certificates from an ACME CA (Pebble)', () => {
  it('refuses ACME settings without the terms accepted, or with a bad directory, changing nothing', async () => {
    const noTerms = await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl });
    expect(noTerms.status).toBe(400);
    expect(noTerms.json.error.message).toContain("no account is made unless the CA's terms are accepted");
    const badDirectory = await admin('PUT', certApi.acme, { directoryUrl: 'acme.example', termsOfServiceAgreed: true });
    expect(badDirectory.status).toBe(400);
    expect(badDirectory.json.error.message).toContain('"acme.example" is not an address');
    expect((await admin('GET', certApi.acme)).status).toBe(404);
  });

  it('HTTP-01 through the gateway: the order is answered, the certificate issued, activated and served; a client trusting the CA verifies the host name', async () => {
    const root = await pebble.rootPem();
    const before = await verifyGateway(root);
    expect(before.authorized).toBe(false);

    const configured = await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, email: 'ops@files.acme.test', challenge: 'http-01', caFile: pebble.caFile });
    expect(configured.status).toBe(200);
    expect(configured.json).toMatchObject({ directoryUrl: pebble.directoryUrl, challenge: 'http-01', names: [serverName] });

    // ACME switched on with no ACME certificate active: the first order starts by itself.
    let orders: any[] = [];
    await waitFor(async () => {
      orders = (await admin('GET', certApi.acmeOrders)).json.orders;
      return orders.length > 0;
    }, 10_000, 'the first ACME order');
    const order = await finishedOrder(orders[0].id);
    expect(order).toMatchObject({ state: 'valid', reason: 'start', challenge: 'http-01', names: [serverName] });

    const listed = (await admin('GET', apiPath(certApi.certificate, { id: order.certificateId }))).json;
    expect(listed).toMatchObject({ origin: 'acme', active: true });
    await waitFor(async () => (await verifyGateway(root)).authorized, 20_000, 'the gateway serves the ACME certificate');
    const after = await verifyGateway(root);
    expect(after.error).toBeNull();

    // curl, trusting only Pebble's root and checking the name, downloads through the new certificate.
    const rootFile = join(stack.dir, 'pebble-root.pem');
    await writeFile(rootFile, root);
    const download = await curl(['--cacert', rootFile, '--resolve', `${serverName}:${stack.ports.https}:127.0.0.1`, `https://${serverName}:${stack.ports.https}/hello.txt`]);
    expect(download).toMatchObject({ code: 0, stdout: 'hello over https\n' });

    const status = (await admin('GET', certApi.acme)).json;
    expect(status).toMatchObject({ failures: 0, lastError: null, warnings: [] });
    expect(status.accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    // The next order is the renewal, a third of the lifetime before expiry.
    expect(new Date(status.nextOrderAt).getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    // The renewal check read Pebble's directory: whether it offers renewal information (ARI; Debian's Pebble 2.4
    // does not, renewal then follows the lifetime) is in GET /acme, and asking caused no error.
    await waitFor(async () => typeof (await admin('GET', certApi.acme)).json.renewalInfo.offered === 'boolean', 10_000, 'the renewal check read the directory');
    const renewalInfo = (await admin('GET', certApi.acme)).json.renewalInfo;
    expect(renewalInfo.error).toBeNull();
    if (!renewalInfo.offered) expect(renewalInfo).toEqual({ offered: false, window: null, explanationUrl: null, renewAt: null, checkAgainAt: null, error: null });
  });

  it('an order asked only to store its certificate leaves the active one in place', async () => {
    const root = await pebble.rootPem();
    const before = await verifyGateway(root);
    expect((await admin('POST', certApi.acmeOrders, { activate: 'yes' })).status).toBe(400);
    const started = await admin('POST', certApi.acmeOrders, { activate: false });
    expect(started.status).toBe(202);
    const order = await finishedOrder(started.json.order.id);
    expect(order).toMatchObject({ state: 'valid', activate: false });
    expect((await admin('GET', apiPath(certApi.certificate, { id: order.certificateId }))).json).toMatchObject({ origin: 'acme', active: false });
    expect((await verifyGateway(root)).fingerprint).toBe(before.fingerprint);
  });

  it('renew now: a second order gets a new certificate, swapped in without a restart', async () => {
    const root = await pebble.rootPem();
    const before = await verifyGateway(root);
    const started = await admin('POST', certApi.acmeOrders);
    expect(started.status).toBe(202);
    expect(started.json.order).toMatchObject({ state: 'pending', reason: 'operator' });
    const again = await admin('POST', certApi.acmeOrders);
    expect([202, 409]).toContain(again.status);
    const order = await finishedOrder(started.json.order.id);
    expect(order.state).toBe('valid');
    await waitFor(async () => (await verifyGateway(root)).fingerprint !== before.fingerprint, 20_000, 'the renewed certificate served');
    expect((await verifyGateway(root)).authorized).toBe(true);
  });

  it('TLS-ALPN-01 through the gateway\'s HTTPS port: the validation gets the challenge certificate, everyone else the usual one', async () => {
    const root = await pebble.rootPem();
    const before = await verifyGateway(root);
    expect((await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, challenge: 'tls-alpn-01', caFile: pebble.caFile })).status).toBe(200);
    // The gateway learns it from the bundle cert-service announces again.
    await waitFor(() => gatewayWatchesAlpn(stack.gateway), 10_000, 'the gateway looks for TLS-ALPN-01 validations');
    const started = await admin('POST', certApi.acmeOrders);
    expect(started.status).toBe(202);
    const order = await finishedOrder(started.json.order.id);
    expect(order).toMatchObject({ state: 'valid', challenge: 'tls-alpn-01' });
    await waitFor(async () => (await verifyGateway(root)).fingerprint !== before.fingerprint, 20_000, 'the new certificate served');
    // A client offering acme-tls/1 for a name with nothing pending gets no certificate at all.
    const refused = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, servername: serverName, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false }, () => resolve('handshake completed'));
      socket.on('error', (error) => resolve(`error: ${error.message}`));
      socket.on('close', () => resolve('closed'));
    });
    expect(refused).not.toBe('handshake completed');
    // Ordinary clients on the same port are unaffected (HTTP/1.1 over the ACME certificate).
    expect((await verifyGateway(root)).authorized).toBe(true);
  });

  it('with two gateway replicas, the one the CA reaches answers, for either challenge', async () => {
    const second = stack.newGateway({ replica: 'acme-gw2', bindHost: '127.0.0.12', healthPort: await freePort() });
    await second.start();
    try {
      await waitFor(() => second.status().ready, 30_000, 'second replica ready');
      // Its plain HTTP port opens just after its listeners (the first port map): the CA must find it listening.
      await waitFor(() => second.plainHttpPort !== null, 10_000, 'the second replica\'s plain HTTP port open');
      await pebble.pointName(serverName, '127.0.0.12');
      for (const challenge of ['http-01', 'tls-alpn-01']) {
        expect((await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, challenge, caFile: pebble.caFile })).status).toBe(200);
        await waitFor(() => gatewayWatchesAlpn(second) === (challenge === 'tls-alpn-01'), 10_000, 'the second replica knows the challenge kind');
        // Pebble reuses an earlier valid authorization now and then even when told never to (its check is
        // "random 0..99 > 0"): such an order validates nothing, so it is ordered again.
        let order: any = null;
        for (let attempt = 0; attempt < 3 && (order === null || order.alreadyValidated); attempt++) {
          const started = await admin('POST', certApi.acmeOrders);
          expect(started.status).toBe(202);
          order = await finishedOrder(started.json.order.id);
        }
        expect(order).toMatchObject({ state: 'valid', challenge });
        expect(order.alreadyValidated).toBeUndefined();
      }
      const log = (await readFile(stack.logFile, 'utf8')).split('\n');
      const answered = log.filter((line) => line.includes('"replica":"acme-gw2"') && /ACME (HTTP-01 challenge|TLS-ALPN-01 validation) answered/.test(line));
      // On failure, what each gateway answered and where the plain HTTP ports listened say who the CA reached.
      const context = log.filter((line) => /answered|plain HTTP port|ACME order/.test(line)).slice(-40).join('\n');
      const seen = { http01: answered.some((line) => line.includes('HTTP-01')), tlsAlpn01: answered.some((line) => line.includes('TLS-ALPN-01')) };
      expect({ ...seen, context: '' }).toEqual({ http01: true, tlsAlpn01: true, context: seen.http01 && seen.tlsAlpn01 ? '' : context });
    } finally {
      await pebble.pointName(serverName, '127.0.0.1');
      await second.stop();
    }
  });

  it('a CA that reuses an earlier validation: the order is valid without a challenge, and says which names it did not validate', async () => {
    const reusing = await startPebble({ dir: join(stack.dir, 'pebble-reusing'), httpPort: plainHttpPort, tlsPort: stack.ports.https, authzReusePercent: 100 });
    try {
      expect((await admin('PUT', certApi.acme, { directoryUrl: reusing.directoryUrl, termsOfServiceAgreed: true, challenge: 'http-01', caFile: reusing.caFile })).status).toBe(200);
      const orderNow = async () => {
        const started = await admin('POST', certApi.acmeOrders);
        expect([202, 409]).toContain(started.status);
        const id = started.status === 202 ? started.json.order.id : (await admin('GET', certApi.acmeOrders)).json.orders[0].id;
        return finishedOrder(id);
      };
      const first = await orderNow();
      expect(first).toMatchObject({ state: 'valid', directoryUrl: reusing.directoryUrl });
      // The first order of a new account: validated by the CA through the gateway.
      expect(first.alreadyValidated).toBeUndefined();
      const second = await orderNow();
      expect(second).toMatchObject({ state: 'valid', alreadyValidated: [serverName] });
      const log = await readFile(stack.logFile, 'utf8');
      expect(log).toMatch(new RegExp(`"order":"${second.id}","name":"${serverName.replace(/\./g, '\\.')}".*an earlier validation is reused`));
    } finally {
      await reusing.stop();
      await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, challenge: 'http-01', caFile: pebble.caFile });
    }
  });

  it('when the CA cannot reach the challenge port, the order fails in plain words, the active certificate stays and a retry is scheduled', async () => {
    const root = await pebble.rootPem();
    const before = await verifyGateway(root);
    // A CA that validates HTTP-01 at a port where nothing listens.
    const unreachable = await startPebble({ dir: join(stack.dir, 'pebble-unreachable'), httpPort: await freePort(), tlsPort: await freePort() });
    try {
      const configured = await admin('PUT', certApi.acme, { directoryUrl: unreachable.directoryUrl, termsOfServiceAgreed: true, challenge: 'http-01', caFile: unreachable.caFile });
      expect(configured.status).toBe(200);
      const started = await admin('POST', certApi.acmeOrders);
      expect([202, 409]).toContain(started.status);
      let orders: any[] = [];
      await waitFor(async () => {
        orders = (await admin('GET', certApi.acmeOrders)).json.orders;
        return orders[0]?.directoryUrl === unreachable.directoryUrl && orders[0].state !== 'pending';
      }, 90_000, 'the order against the unreachable challenge port finished');
      expect(orders[0]).toMatchObject({ state: 'invalid' });
      expect(orders[0].error).toMatch(new RegExp(`^the CA could not reach port 80 of ${serverName.replace(/\./g, '\\.')}: connection refused`));
      const status = (await admin('GET', certApi.acme)).json;
      expect(status.failures).toBe(1);
      expect(status.lastError).toBe(orders[0].error);
      expect(status.warnings.join(' ')).toContain('renewal failed: the CA could not reach port 80');
      expect(new Date(status.nextOrderAt).getTime()).toBeGreaterThan(Date.now() + 8_000);
      const health = await (await fetch(`${stack.certServiceUrl}${healthApi.ready}`)).json();
      expect(JSON.stringify(health)).toContain('renewal failed');
      expect((await verifyGateway(root)).fingerprint).toBe(before.fingerprint);
    } finally {
      await unreachable.stop();
      await admin('PUT', certApi.acme, { directoryUrl: pebble.directoryUrl, termsOfServiceAgreed: true, challenge: 'http-01', caFile: pebble.caFile });
    }
  });
});
