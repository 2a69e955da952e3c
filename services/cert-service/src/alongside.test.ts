import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { apiPath, certApi, certificateBundleSchema, type CertificateBundle } from '@st/contracts';
import type { EventPublisher } from '@st/bus';
import { apiClient, capturingLogger } from '@st/test-kit';
import { CertManager } from './cert-manager.js';
import { createCertService, type CertService } from './service.js';
import { createFileCertificateStore } from './store.js';

jest.setTimeout(60_000);

const adminToken = 'admin-token-for-alongside-tests';

/** Which key a client limited to `sigalgs` is served by Node's TLS from the bundle (both pairs given, as the gateway does). */
async function servedKeyType(bundle: CertificateBundle, sigalgs: string): Promise<string | undefined> {
  const pairs = bundle.alongside ? [bundle, bundle.alongside] : [bundle];
  const server = createTlsServer({ cert: pairs.map((pair) => pair.certificatePem), key: pairs.map((pair) => pair.privateKeyPem) }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false, sigalgs, maxVersion: 'TLSv1.3' }, () => {
        const peer = socket.getPeerCertificate();
        resolve(peer.asn1Curve ? 'ecdsa' : peer.bits ? 'rsa' : undefined);
        socket.destroy();
      });
      socket.on('error', reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('a certificate active alongside the active one (the other key kind)', () => {
  let root: string;
  let service: CertService;
  let url = '';
  const api = apiClient(() => url, adminToken);
  const bundle = async () => certificateBundleSchema.parse((await api('GET', certApi.activeBundle)).json);
  const create = async (keyType: string) => ((await api('POST', certApi.selfSigned, { serverName: 'files.example.test', keyType })).json as { certificate: { id: string } }).certificate.id;
  const post = (pattern: string, id: string) => api('POST', apiPath(pattern, { id }));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cert-alongside-'));
    service = createCertService({ dataDir: join(root, 'data'), serverName: 'files.example.test', host: '127.0.0.1', port: 0, adminToken, logger: capturingLogger('cert-service').logger });
    ({ url } = await service.start());
  });
  afterAll(async () => {
    await service?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('serves ECDSA beside RSA, each client picking by its signature algorithms; only the other kind is accepted; it survives a restart; activating one of its kind replaces it', async () => {
    const rsa = (await bundle()).id;
    const ecdsa = await create('ecdsa-p256');
    const otherRsa = await create('rsa-2048');

    expect(await post(certApi.activateAlongside, otherRsa)).toMatchObject({ status: 409, json: { error: { code: 'SAME_KEY_KIND', message: expect.stringContaining('only a key of the other kind can be served alongside it') } } });
    expect(await post(certApi.activateAlongside, rsa)).toMatchObject({ status: 409, json: { error: { code: 'ALREADY_ACTIVE' } } });
    expect(await post(certApi.deactivate, ecdsa)).toMatchObject({ status: 409, json: { error: { code: 'NOT_ACTIVE' } } });
    expect(await post(certApi.deactivate, rsa)).toMatchObject({ status: 409, json: { error: { code: 'CERTIFICATE_ACTIVE', message: expect.stringContaining('activate another one to replace it') } } });

    expect(await post(certApi.activateAlongside, ecdsa)).toMatchObject({ status: 200, json: { previousId: null, certificate: { id: ecdsa, active: false, activeAlongside: true } } });
    const both = await bundle();
    expect(both.id).toBe(rsa);
    expect(both.alongside?.id).toBe(ecdsa);
    expect(await servedKeyType(both, 'ECDSA+SHA256')).toBe('ecdsa');
    expect(await servedKeyType(both, 'RSA-PSS+SHA256:RSA+SHA256')).toBe('rsa');
    const listed = (await api('GET', certApi.certificates)).json as { activeId: string; alongside: { id: string } };
    expect(listed).toMatchObject({ activeId: rsa, alongside: { id: ecdsa } });
    expect(await api('DELETE', apiPath(certApi.certificate, { id: ecdsa }))).toMatchObject({ status: 409, json: { error: { message: expect.stringContaining('deactivate it before deleting it') } } });

    await service.stop();
    ({ url } = await service.start());
    expect((await bundle()).alongside?.id).toBe(ecdsa);

    // A new ECDSA certificate as the active one: the ECDSA one alongside goes (one per kind), the RSA one is replaced.
    const newEcdsa = await create('ecdsa-p384');
    expect(await post(certApi.activate, newEcdsa)).toMatchObject({ status: 200 });
    expect(await bundle()).toMatchObject({ id: newEcdsa });
    expect((await bundle()).alongside).toBeUndefined();

    // RSA alongside the ECDSA one, then stopped again.
    expect(await post(certApi.activateAlongside, rsa)).toMatchObject({ status: 200 });
    expect((await bundle()).alongside?.id).toBe(rsa);
    expect(await post(certApi.deactivate, rsa)).toMatchObject({ status: 200, json: { certificate: { id: rsa, activeAlongside: false } } });
    expect((await bundle()).alongside).toBeUndefined();
  });

  it('announces the pair by ids and fingerprints, never key material', async () => {
    const events: unknown[] = [];
    const publisher = { publish: async (_key: string, body: unknown) => (events.push(body), true) } as unknown as EventPublisher;
    const manager = new CertManager({ store: createFileCertificateStore(join(root, 'announce')), logger: capturingLogger('cert-service').logger, serverName: 'files.example.test', keyType: 'rsa-2048' });
    const rsa = await manager.init();
    manager.attachPublisher(publisher);
    const ecdsa = await manager.createSelfSigned({ serverName: 'files.example.test', keyType: 'ecdsa-p256' }, false);
    await manager.activateAlongside(ecdsa.id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([{ id: rsa.id, fingerprintSha256: rsa.fingerprintSha256, alongside: { id: ecdsa.id, fingerprintSha256: ecdsa.fingerprintSha256 } }]);
    expect(JSON.stringify(events)).not.toContain('PRIVATE KEY');
  });
});
