import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certApi, certificateBundleSchema, healthApi, type CertificateBundle } from '@st/contracts';
import { capturingLogger as sharedCapturingLogger } from '@st/test-kit';
import { listenHttp } from '@st/service-kit';
import { buildCertApp, createCertService, type CertService } from './service.js';
import { storePaths } from './store.js';

const adminToken = 'admin-token-for-tests';
const serviceToken = 'service-token-for-tests';

/** A logger whose lines the test can read, to prove what is (and is not) logged. */
const capturingLogger = () => sharedCapturingLogger('cert-service-test');

function get(url: string, token?: string, authorization = token ? `Bearer ${token}` : undefined): Promise<Response> {
  return fetch(url, { headers: authorization ? { authorization } : {} });
}

describe('cert-service', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cert-service-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('HTTP API', () => {
    let service: CertService;
    let url: string;
    const log = capturingLogger();

    beforeAll(async () => {
      service = createCertService({
        dataDir: join(root, 'api'),
        serverName: 'files.example.test',
        host: '127.0.0.1',
        port: 0,
        adminToken,
        serviceToken,
        logger: log.logger,
      });
      ({ url } = await service.start());
    });
    afterAll(async () => {
      await service.stop();
    });

    it.each([
      { desc: 'bundle without a token', path: certApi.activeBundle, token: undefined, status: 401, code: 'UNAUTHENTICATED' },
      { desc: 'bundle with a wrong token', path: certApi.activeBundle, token: 'wrong', status: 403, code: 'FORBIDDEN' },
      { desc: 'bundle with Basic instead of Bearer', path: certApi.activeBundle, token: undefined, header: `Basic ${serviceToken}`, status: 401, code: 'UNAUTHENTICATED' },
      { desc: 'certificate list without a token', path: certApi.certificates, token: undefined, status: 401, code: 'UNAUTHENTICATED' },
      { desc: 'certificate list with the service token (admin only)', path: certApi.certificates, token: serviceToken, status: 403, code: 'FORBIDDEN' },
      { desc: 'unknown route', path: '/bundle/other', token: adminToken, status: 404, code: 'NOT_FOUND' },
    ])('refuses $desc with $status', async ({ path, token, header, status, code }: { path: string; token?: string; header?: string; status: number; code: string }) => {
      const response = await get(`${url}${path}`, token, header);
      expect(response.status).toBe(status);
      const body = await response.text();
      expect(JSON.parse(body)).toEqual({ error: expect.objectContaining({ code }) });
      expect(body).not.toContain('PRIVATE KEY');
    });

    it.each([
      { desc: 'service token', token: serviceToken },
      { desc: 'admin token', token: adminToken },
    ])('serves the active bundle to the $desc, uncacheable', async ({ token }) => {
      const response = await get(`${url}${certApi.activeBundle}`, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const bundle = certificateBundleSchema.parse(await response.json());
      expect(bundle.subject).toBe('CN=files.example.test');
      expect(bundle.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    });

    it('lists certificates to the admin token, without keys', async () => {
      const bundle = (await (await get(`${url}${certApi.activeBundle}`, adminToken)).json()) as CertificateBundle;
      const response = await get(`${url}${certApi.certificates}`, adminToken);
      expect(response.status).toBe(200);
      const body = await response.text();
      expect(body).not.toContain('PRIVATE KEY');
      expect(JSON.parse(body)).toEqual({
        activeId: bundle.id,
        active: { id: bundle.id, daysLeft: expect.any(Number), state: 'valid', warnAt: null },
        alongside: null,
        certificates: [expect.objectContaining({ id: bundle.id, fingerprintSha256: bundle.fingerprintSha256, origin: 'self-signed', active: true, activeAlongside: false })],
      });
    });

    it('answers liveness without a token', async () => {
      const response = await get(`${url}${healthApi.live}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });

    it('answers readiness without a token, with the active certificate and its days left', async () => {
      const bundle = (await (await get(`${url}${certApi.activeBundle}`, adminToken)).json()) as CertificateBundle;
      const response = await get(`${url}${healthApi.ready}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        status: 'ready',
        certificate: { id: bundle.id, fingerprintSha256: bundle.fingerprintSha256, subject: bundle.subject, notAfter: bundle.notAfter, daysLeft: 824, state: 'valid', warnAt: null },
        bus: 'not-configured',
      });
    });

    it('logged the generated certificate (subject, fingerprint, expiry) and never its key', async () => {
      const bundle = (await (await get(`${url}${certApi.activeBundle}`, adminToken)).json()) as CertificateBundle;
      const generated = log.lines.map((line) => JSON.parse(line)).find((record) => /self-signed certificate/.test(record.msg));
      expect(generated?.certificate).toEqual({
        id: bundle.id,
        fingerprintSha256: bundle.fingerprintSha256,
        subject: bundle.subject,
        notBefore: bundle.notBefore,
        notAfter: bundle.notAfter,
      });
      expect(log.lines.join('\n')).not.toContain('PRIVATE KEY');
      expect(log.lines.join('\n')).not.toContain(bundle.privateKeyPem.split('\n')[1]);
    });

    it('logged the refused requests at warn', () => {
      const refused = log.lines.map((line) => JSON.parse(line)).filter((record) => record.msg === 'request refused');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((record) => record.level === 'warn')).toBe(true);
    });
  });

  it('is live but not ready, and serves no bundle, while no certificate is active', async () => {
    const config = { dataDir: join(root, 'not-ready'), serverName: 'files.example.test', host: '127.0.0.1', port: 0, serviceToken, logger: capturingLogger().logger };
    const server = await listenHttp(buildCertApp(config, { manager: null, publisher: null }), '127.0.0.1', 0);
    try {
      expect((await get(`${server.url}${healthApi.live}`)).status).toBe(200);
      const ready = await get(`${server.url}${healthApi.ready}`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not-ready', reasons: ['no certificate is active yet'], bus: 'not-configured' });
      const bundle = await get(`${server.url}${certApi.activeBundle}`, serviceToken);
      expect(bundle.status).toBe(503);
      expect(await bundle.json()).toEqual({ error: expect.objectContaining({ code: 'NO_ACTIVE_CERTIFICATE' }) });
    } finally {
      await server.close();
    }
  });

  it('keeps the same active certificate across a restart with the same data directory', async () => {
    const dataDir = join(root, 'restart');
    const config = { dataDir, serverName: '127.0.0.1', host: '127.0.0.1', port: 0, serviceToken, logger: capturingLogger().logger };
    const fetchBundle = async (service: CertService) => {
      const { url } = await service.start();
      try {
        return certificateBundleSchema.parse(await (await get(`${url}${certApi.activeBundle}`, serviceToken)).json());
      } finally {
        await service.stop();
      }
    };
    const first = await fetchBundle(createCertService(config));
    const second = await fetchBundle(createCertService(config));
    expect(second.fingerprintSha256).toBe(first.fingerprintSha256);
    expect(second.id).toBe(first.id);
    expect(second.privateKeyPem).toBe(first.privateKeyPem);
  });

  it('warns when the kept certificate does not cover a changed SERVER_NAME', async () => {
    const dataDir = join(root, 'renamed');
    const base = { dataDir, host: '127.0.0.1', port: 0, serviceToken };
    const first = createCertService({ ...base, serverName: 'files.example.test', logger: capturingLogger().logger });
    await first.start();
    await first.stop();
    const log = capturingLogger();
    const second = createCertService({ ...base, serverName: 'other.example.test', logger: log.logger });
    await second.start();
    await second.stop();
    const records = log.lines.map((line) => JSON.parse(line));
    expect(records).toContainEqual(expect.objectContaining({ level: 'warn', serverName: 'other.example.test', msg: expect.stringMatching(/does not cover/) }));
  });

  it('refuses to start on a damaged store instead of replacing the certificate', async () => {
    const dataDir = join(root, 'damaged');
    const first = createCertService({ dataDir, serverName: 'files.example.test', host: '127.0.0.1', port: 0, serviceToken, logger: capturingLogger().logger });
    await first.start();
    await first.stop();
    await writeFile(storePaths(dataDir).active, JSON.stringify({ id: '20250101T000000000Z-00000000' }));
    const second = createCertService({ dataDir, serverName: 'files.example.test', host: '127.0.0.1', port: 0, serviceToken, logger: capturingLogger().logger });
    await expect(second.start()).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('refuses an invalid server name at creation', () => {
    expect(() =>
      createCertService({ dataDir: join(root, 'x'), serverName: 'bad name', host: '127.0.0.1', port: 0, serviceToken, logger: capturingLogger().logger }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_SERVER_NAME' }));
  });
});
