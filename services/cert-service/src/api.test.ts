import { waitUntil } from '@st/service-kit';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type PeerCertificate } from 'node:tls';
import { connect as amqpConnect } from 'amqplib';
import { activeCertificateAlias, apiPath, certApi, certActivatedEventSchema, certificateBundleSchema, healthApi, routingKeys, type CertificateBundle } from '@st/contracts';
import { createEventSubscriber, type BusMessage, type EventSubscriber } from '@st/bus';
import { apiClient, capturingLogger, snapshotDir } from '@st/test-kit';
import { generateSelfSigned } from './self-signed.js';
import { createCertService, type CertService, type CertServiceConfig } from './service.js';
import { openssl, TestCa } from './test-openssl.js';

jest.setTimeout(30_000);

const amqpUrl = process.env.AMQP_URL?.trim() || 'amqp://guest:guest@127.0.0.1:5672';
const adminToken = 'admin-token-for-api-tests';
const serviceToken = 'service-token-for-api-tests';
const day = 24 * 60 * 60 * 1000;

const eventually = (check: () => boolean, timeoutMs = 10_000) => waitUntil(check, timeoutMs);

/** Serves a bundle with Node's TLS and connects a client that trusts only `ca`, with hostname verification on. */
async function handshake(bundle: CertificateBundle, ca: string, servername: string): Promise<{ authorized: boolean; error?: Error; peer: PeerCertificate }> {
  const server = createTlsServer({ key: bundle.privateKeyPem, cert: bundle.certificatePem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, ca, rejectUnauthorized: false }, () => {
        const peer = socket.getPeerCertificate(true);
        resolve({ authorized: socket.authorized, ...(socket.authorizationError ? { error: socket.authorizationError } : {}), peer });
        socket.destroy();
      });
      socket.on('error', reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('cert-service API (real RabbitMQ, real openssl)', () => {
  const exchange = `st.events.test.${randomBytes(4).toString('hex')}`;
  const events: BusMessage[] = [];
  const log = capturingLogger('cert-service-test');
  let root: string;
  let dataDir: string;
  let ca: TestCa;
  let subscriber: EventSubscriber;
  let service: CertService;
  let url = '';
  const api = apiClient(() => url, adminToken);
  let config: CertServiceConfig;

  const activeBundle = async () => certificateBundleSchema.parse((await api('GET', certApi.activeBundle, undefined, serviceToken)).json);
  const eventsFor = (id: string) => events.filter((event) => (event.body as { id: string }).id === id);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cert-api-'));
    dataDir = join(root, 'data');
    ca = new TestCa();
    subscriber = createEventSubscriber({ url: amqpUrl, logger: log.logger, name: 'test-gateway', exchange, bindings: [routingKeys.certActivated], onMessage: (message) => void events.push(message) });
    await subscriber.whenConnected();
    config = { dataDir, serverName: 'files.example.test', host: '127.0.0.1', port: 0, adminToken, serviceToken, logger: log.logger, amqpUrl, eventsExchange: exchange };
    service = createCertService(config);
    ({ url } = await service.start());
    await eventually(() => events.length > 0);
  });
  afterAll(async () => {
    await service?.stop();
    await subscriber?.close();
    const model = await amqpConnect(amqpUrl);
    await (await model.createChannel()).deleteExchange(exchange);
    await model.close();
    ca?.remove();
    await rm(root, { recursive: true, force: true });
  });

  it('announces the active certificate at start with its id and fingerprint only, and is ready once the bus is up', async () => {
    const bundle = await activeBundle();
    expect(eventsFor(bundle.id).map((event) => event.body)).toEqual([{ id: bundle.id, fingerprintSha256: bundle.fingerprintSha256 }]);
    expect(events[0]!.routingKey).toBe(routingKeys.certActivated);
    const ready = await api('GET', healthApi.ready, undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ready', bus: 'connected', certificate: { id: bundle.id, daysLeft: 824, state: 'valid' } });
  });

  it('generates a self-signed ECDSA certificate from the full sheet, activates it, and the event carries no key material', async () => {
    const before = events.length;
    const reply = await api('POST', certApi.selfSigned, {
      serverName: 'files.example.test',
      organisation: 'Example Files',
      organisationalUnit: 'Ops',
      city: 'Bonn',
      state: 'NRW',
      country: 'DE',
      email: 'ops@example.test',
      altNames: ['127.0.0.1'],
      validityDays: 30,
      keyType: 'ecdsa-p256',
      activate: true,
    });
    expect(reply.status).toBe(201);
    expect(reply.json.certificate).toMatchObject({
      origin: 'self-signed',
      keyType: 'ECDSA P-256',
      active: true,
      subjectAltNames: ['DNS:files.example.test', 'IP Address:127.0.0.1'],
      expiry: { daysLeft: 29, state: 'expiring', warnAt: 30 },
    });
    const bundle = await activeBundle();
    expect(bundle.id).toBe(reply.json.certificate.id);
    await eventually(() => events.length > before);
    const announced = eventsFor(bundle.id);
    expect(announced).toHaveLength(1);
    expect(certActivatedEventSchema.strict().parse(announced[0]!.body)).toEqual({ id: bundle.id, fingerprintSha256: bundle.fingerprintSha256 });
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY|BEGIN/);
    expect(log.records()).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/expires within 30 days/) }));
  });

  it('CSR flow: key + CSR → signed by a test CA → loaded with the intermediate, matched to the pending key → active → a client trusting only the root verifies the chain', async () => {
    const created = await api('POST', certApi.requests, { serverName: 'files.example.test', altNames: ['127.0.0.1'], organisation: 'Example Files', country: 'DE', keyType: 'rsa-2048' });
    expect(created.status).toBe(201);
    const { request, csrPem } = created.json;
    expect(created.text).not.toContain('PRIVATE KEY');
    expect(openssl(['req', '-verify', '-noout'], csrPem)).toBe('');
    const download = await api('GET', apiPath(certApi.requestCsr, { id: request.id }));
    expect(download.text).toBe(csrPem);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="files.example.test.csr"');
    expect((await api('GET', certApi.requests)).json.requests).toEqual([request]);

    const signed = ca.issue({ csrPem, sans: ['DNS:files.example.test', 'IP:127.0.0.1'] });
    const loaded = await api('POST', certApi.certificates, { certificate: signed.certificatePem, chain: ca.intermediatePem });
    expect(loaded.status).toBe(201);
    expect(loaded.json).toMatchObject({ warnings: [], requestId: request.id, certificate: { origin: 'csr', requestId: request.id, active: false, chain: ['O=Test Authority, CN=Test Intermediate CA'] } });
    expect((await api('GET', certApi.requests)).json.requests).toEqual([]);

    const activated = await api('POST', apiPath(certApi.activate, { id: loaded.json.certificate.id }));
    expect(activated.status).toBe(200);
    const bundle = await activeBundle();
    expect(bundle.id).toBe(loaded.json.certificate.id);
    expect(bundle.certificatePem).toBe(`${new X509Certificate(signed.certificatePem).toString()}${new X509Certificate(ca.intermediatePem).toString()}`);
    await eventually(() => eventsFor(bundle.id).length === 1);

    const verified = await handshake(bundle, ca.rootPem, 'files.example.test');
    expect(verified.error).toBeUndefined();
    expect(verified.authorized).toBe(true);
    expect(verified.peer.fingerprint256).toBe(bundle.fingerprintSha256);
    expect(verified.peer.issuerCertificate.subject.CN).toBe('Test Intermediate CA');
    // Without the intermediate in the bundle the same client would fail: the chain really is served.
    const leafOnly = await handshake({ ...bundle, certificatePem: new X509Certificate(signed.certificatePem).toString() }, ca.rootPem, 'files.example.test');
    expect(leafOnly.authorized).toBe(false);
  });

  describe('a rejected load changes nothing', () => {
    const expired = () => generateSelfSigned({ serverName: 'files.example.test', validityDays: 1 }, { now: new Date(Date.now() - 10 * day) });
    const future = () => generateSelfSigned({ serverName: 'files.example.test' }, { now: new Date(Date.now() + 10 * day) });
    const cases: Array<{ desc: string; body: () => Promise<Record<string, unknown>>; status?: number; code: string }> = [
      { desc: 'a parse error', body: async () => ({ certificate: '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n' }), code: 'PARSE_ERROR' },
      {
        desc: 'a key that does not match',
        body: async () => ({ certificate: ca.issue({}).certificatePem, chain: ca.intermediatePem, key: ca.issue({}).privateKeyPem }),
        code: 'KEY_MISMATCH',
      },
      { desc: 'an expired certificate', body: async () => { const m = await expired(); return { certificate: m.certificatePem, key: m.privateKeyPem }; }, code: 'EXPIRED' },
      { desc: 'a certificate not yet valid', body: async () => { const m = await future(); return { certificate: m.certificatePem, key: m.privateKeyPem }; }, code: 'NOT_YET_VALID' },
      {
        desc: 'a server name not covered',
        body: async () => { const m = ca.issue({ subject: '/CN=other.example.test', sans: ['DNS:other.example.test'] }); return { certificate: m.certificatePem, chain: ca.intermediatePem, key: m.privateKeyPem }; },
        code: 'NAME_NOT_COVERED',
      },
      { desc: 'an RSA key below 2048 bits', body: async () => { const m = ca.issue({ rsaBits: 1024 }); return { certificate: m.certificatePem, chain: ca.intermediatePem, key: m.privateKeyPem }; }, code: 'KEY_TOO_SMALL' },
      { desc: 'an intermediate that did not sign the leaf', body: async () => { const m = ca.issue({}); return { certificate: m.certificatePem, chain: ca.intermediateBPem, key: m.privateKeyPem }; }, code: 'INTERMEDIATE_NOT_ISSUER' },
      { desc: 'no key and no pending CSR', body: async () => ({ certificate: ca.issue({}).certificatePem, chain: ca.intermediatePem }), code: 'NO_KEY' },
      { desc: 'an encrypted key without passphrase', body: async () => { const m = ca.issue({}); return { certificate: m.certificatePem, key: openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:x'], m.privateKeyPem!) }; }, code: 'KEY_PASSPHRASE_REQUIRED' },
      { desc: 'a body with an unknown field', body: async () => ({ certificate: 'x', organization: 'typo' }), status: 400, code: 'INVALID_REQUEST' },
      { desc: 'both certificate and pkcs12', body: async () => ({ certificate: 'x', pkcs12: 'eA==' }), status: 400, code: 'INVALID_REQUEST' },
    ];

    it.each(cases)('$desc → $code', async ({ body, status = 422, code }) => {
      const request = await body();
      const before = await snapshotDir(dataDir);
      const activeBefore = (await activeBundle()).id;
      const reply = await api('POST', certApi.certificates, request);
      expect(reply.status).toBe(status);
      if (status === 422) {
        expect(reply.json.error.code).toBe('VALIDATION_FAILED');
        expect(reply.json.error.details.errors.map((item: { code: string }) => item.code)).toContain(code);
      } else expect(reply.json.error.code).toBe(code);
      expect(reply.text).not.toContain('-----BEGIN');
      expect(await snapshotDir(dataDir)).toEqual(before);
      expect((await activeBundle()).id).toBe(activeBefore);
    });

    it('POST /certificates/validate reports the same findings without storing anything', async () => {
      const before = await snapshotDir(dataDir);
      const m = ca.issue({});
      const reply = await api('POST', certApi.validate, { certificate: m.certificatePem, key: m.privateKeyPem });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ ok: true, errors: [], warnings: [expect.objectContaining({ code: 'INTERMEDIATE_MISSING' })], leaf: { subject: 'CN=files.example.test' } });
      expect(await snapshotDir(dataDir)).toEqual(before);
    });
  });

  it.each([
    { desc: 'chain out of order', body: () => { const m = ca.issue({}); return { certificate: `${ca.intermediatePem}${m.certificatePem}`, key: m.privateKeyPem }; }, warnings: ['CHAIN_REORDERED'] },
    { desc: 'intermediate missing', body: () => { const m = ca.issue({}); return { certificate: m.certificatePem, key: m.privateKeyPem }; }, warnings: ['INTERMEDIATE_MISSING'] },
    { desc: 'self-signed', body: () => { const m = ca.issue({ signer: 'root' }); return { certificate: ca.rootPem, key: openssl(['pkey'], Buffer.from(m.privateKeyPem!)) }; }, warnings: null },
  ])('stores a load with only warnings and says them: $desc', async ({ body, warnings }) => {
    if (warnings === null) {
      // A self-signed server certificate loaded with its key.
      const material = await generateSelfSigned({ serverName: 'files.example.test' });
      const reply = await api('POST', certApi.certificates, { certificate: material.certificatePem, key: material.privateKeyPem });
      expect(reply.status).toBe(201);
      expect(reply.json.warnings.map((item: { code: string }) => item.code)).toEqual(['SELF_SIGNED']);
      expect(reply.json.certificate).toMatchObject({ origin: 'loaded', warnings: [expect.objectContaining({ code: 'SELF_SIGNED' })] });
      return;
    }
    const reply = await api('POST', certApi.certificates, body());
    expect(reply.status).toBe(201);
    expect(reply.json.warnings.map((item: { code: string }) => item.code)).toEqual(warnings);
  });

  it('loads a PKCS#12 file with its password', async () => {
    const m = ca.issue({});
    openssl(['pkcs12', '-export', '-in', ca.write('p.pem', m.certificatePem), '-inkey', ca.write('p.key', m.privateKeyPem!), '-certfile', ca.write('i.pem', ca.intermediatePem), '-passout', 'pass:pw', '-out', ca.path('p.p12')]);
    const p12 = (await readFile(ca.path('p.p12'))).toString('base64');
    const reply = await api('POST', certApi.certificates, { pkcs12: p12, pkcs12Password: 'pw' });
    expect(reply.status).toBe(201);
    expect(reply.json).toMatchObject({ warnings: [], certificate: { origin: 'loaded', chain: ['O=Test Authority, CN=Test Intermediate CA'] } });
  });

  it('lists, shows, rolls back, refuses to delete the active one and deletes an older one', async () => {
    const list = (await api('GET', certApi.certificates)).json;
    expect(list.certificates.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(list)).not.toContain('PRIVATE KEY');
    const first = list.certificates[0];
    const current = list.activeId;
    expect(list.active).toMatchObject({ id: current, daysLeft: expect.any(Number) });

    const shown = await api('GET', apiPath(certApi.certificate, { id: first.id }));
    expect(shown.json).toMatchObject({ id: first.id, active: false, certificatePem: expect.stringMatching(/^-----BEGIN CERTIFICATE-----/) });
    expect(shown.text).not.toContain('PRIVATE KEY');

    const rollback = await api('POST', apiPath(certApi.activate, { id: first.id }));
    expect(rollback.json).toMatchObject({ previousId: current, certificate: { id: first.id, active: true } });
    expect((await activeBundle()).id).toBe(first.id);
    await eventually(() => eventsFor(first.id).length === 2); // at start, and now

    const refused = await api('DELETE', apiPath(certApi.certificate, { id: first.id }));
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('CERTIFICATE_ACTIVE');
    expect((await api('DELETE', apiPath(certApi.certificate, { id: current }))).status).toBe(204);
    expect((await api('GET', certApi.certificates)).json.certificates.map((entry: { id: string }) => entry.id)).not.toContain(current);
    expect((await api('GET', apiPath(certApi.certificate, { id: current }))).json.error.code).toBe('UNKNOWN_CERTIFICATE');
    expect((await api('POST', apiPath(certApi.activate, { id: '20250101T000000000Z-00000000' }))).status).toBe(404);
  });

  it('does what its README says: "active" as an id, 415 for JSON sent without its type, 405 for a wrong method', async () => {
    const activeId = (await api('GET', certApi.certificates)).json.activeId as string;
    const again = await api('POST', apiPath(certApi.activate, { id: activeCertificateAlias }));
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ previousId: activeId, certificate: { id: activeId, active: true } });
    const deleteActive = await api('DELETE', apiPath(certApi.certificate, { id: activeCertificateAlias }));
    expect([deleteActive.status, deleteActive.json.error.code]).toEqual([409, 'CERTIFICATE_ACTIVE']);

    // curl -d '{"serverName":…}' without -H 'Content-Type: application/json', as an operator might type it.
    const { request } = await import('node:http');
    const untyped = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({ serverName: 'files.example.test' });
      const req = request(`${url}${certApi.selfSigned}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-length': String(body.length) } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(untyped.status).toBe(415);
    expect(JSON.parse(untyped.body).error).toEqual({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'send the body as JSON with Content-Type: application/json (this request has no Content-Type)',
    });
    const form = await api('POST', certApi.selfSigned, JSON.stringify({ serverName: 'files.example.test' }), adminToken, { contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);

    const put = await api('PUT', certApi.certificates, {});
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(put.json.error.code).toBe('METHOD_NOT_ALLOWED');
    expect((await api('GET', '/no-such-route')).status).toBe(404);
    expect((await api('GET', certApi.certificates)).json.activeId).toBe(activeId);
  });

  it('exports the active pair as stunnel.cert and stunnel.cert.key, the key only to the admin and with a log line', async () => {
    const bundle = await activeBundle();
    const cert = await api('GET', apiPath(certApi.exportCertificate, { id: activeCertificateAlias }));
    expect(cert.status).toBe(200);
    expect(cert.text).toBe(bundle.certificatePem);
    expect(cert.headers.get('content-disposition')).toBe('attachment; filename="stunnel.cert"');
    expect((await api('GET', apiPath(certApi.exportKey, { id: activeCertificateAlias }), undefined, serviceToken)).status).toBe(403);
    const key = await api('GET', apiPath(certApi.exportKey, { id: activeCertificateAlias }));
    expect(key.text).toBe(bundle.privateKeyPem);
    expect(key.headers.get('content-disposition')).toBe('attachment; filename="stunnel.cert.key"');
    expect(key.headers.get('cache-control')).toBe('no-store');
    expect(log.records()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'private key exported', certificateId: bundle.id }));
    expect(log.lines.join('\n')).not.toContain(bundle.privateKeyPem.split('\n')[1]);
  });

  it.each([
    { desc: 'self-signed without a token', method: 'POST', path: certApi.selfSigned, token: null, status: 401 },
    { desc: 'load with the service token', method: 'POST', path: certApi.certificates, token: serviceToken, status: 403 },
    { desc: 'activate with the service token', method: 'POST', path: apiPath(certApi.activate, { id: 'x' }), token: serviceToken, status: 403 },
    { desc: 'an invalid server name', method: 'POST', path: certApi.selfSigned, body: { serverName: 'bad name' }, status: 400, code: 'INVALID_SERVER_NAME' },
    { desc: 'a bad country and key type', method: 'POST', path: certApi.requests, body: { serverName: 'a.test', keyType: 'dsa-1024' }, status: 400, code: 'INVALID_REQUEST' },
  ])('refuses $desc', async ({ method, path, token, body, status, code }: { method: string; path: string; token?: string | null; body?: unknown; status: number; code?: string }) => {
    const reply = await api(method, path, body ?? {}, token === undefined ? adminToken : token);
    expect(reply.status).toBe(status);
    if (code) expect(reply.json.error.code).toBe(code);
  });

  it('keeps every version and the active choice across a restart', async () => {
    const before = (await api('GET', certApi.certificates)).json;
    const bundle = await activeBundle();
    await service.stop();
    service = createCertService(config);
    ({ url } = await service.start());
    const after = (await api('GET', certApi.certificates)).json;
    expect(after.activeId).toBe(before.activeId);
    expect(after.certificates.map((entry: { id: string }) => entry.id)).toEqual(before.certificates.map((entry: { id: string }) => entry.id));
    expect(await activeBundle()).toEqual(bundle);
  });
});
