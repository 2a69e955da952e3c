import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateBundleSchema } from '@st/contracts';
import { describeCertificate } from './certificate-info.js';
import { createFileCertificateStore, newCertificateId, storePaths } from './store.js';
import { materialFor } from './test-material.js';

function mode(path: string): Promise<number> {
  return stat(path).then((info) => info.mode & 0o777);
}

describe('file certificate store', () => {
  let root: string;
  let dataDir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cert-store-'));
  });
  beforeEach(async () => {
    dataDir = join(root, `case-${Math.random().toString(16).slice(2)}`, 'data');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('starts empty', async () => {
    const store = createFileCertificateStore(dataDir);
    expect(await store.loadActive()).toBeNull();
    expect(await store.activeId()).toBeNull();
    expect(await store.list()).toEqual([]);
  });

  it('saves key 0600 in 0700 directories, and activates only a complete entry', async () => {
    const material = await materialFor('files.example.test');
    const store = createFileCertificateStore(dataDir, { now: () => new Date('2025-01-02T03:04:05.678Z') });
    const stored = await store.save(material, 'self-signed');
    const paths = storePaths(dataDir);

    expect(stored.id).toMatch(/^20250102T030405678Z-[0-9a-f]{8}$/);
    expect(await mode(paths.key(stored.id))).toBe(0o600);
    expect(await mode(paths.root)).toBe(0o700);
    expect(await mode(paths.certificates)).toBe(0o700);
    expect(await mode(paths.entry(stored.id))).toBe(0o700);
    expect(await readFile(paths.key(stored.id), 'utf8')).toBe(material.privateKeyPem);
    expect(await readFile(paths.certificate(stored.id), 'utf8')).toBe(material.certificatePem);
    expect(await readFile(paths.meta(stored.id), 'utf8')).not.toContain('PRIVATE KEY');
    // Saved is not active.
    expect(await store.loadActive()).toBeNull();

    await store.activate(stored.id);
    const bundle = await store.loadActive();
    expect(certificateBundleSchema.parse(bundle)).toEqual({
      id: stored.id,
      fingerprintSha256: describeCertificate(material.certificatePem).fingerprintSha256,
      subject: 'CN=files.example.test',
      notBefore: stored.notBefore,
      notAfter: stored.notAfter,
      certificatePem: material.certificatePem,
      privateKeyPem: material.privateKeyPem,
    });
    expect(JSON.parse(await readFile(paths.active, 'utf8'))).toEqual({ id: stored.id, activatedAt: '2025-01-02T03:04:05.678Z' });
    expect(await store.list()).toEqual([
      {
        id: stored.id,
        fingerprintSha256: bundle?.fingerprintSha256,
        fingerprintSha1: expect.stringMatching(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/),
        publicKeySha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
        subject: 'CN=files.example.test',
        issuer: 'CN=files.example.test',
        serialNumber: expect.stringMatching(/^[0-9A-F]+$/),
        notBefore: stored.notBefore,
        notAfter: stored.notAfter,
        origin: 'self-signed',
        subjectAltName: 'DNS:files.example.test',
        subjectAltNames: ['DNS:files.example.test'],
        keyType: 'RSA 2048',
        chain: [],
        warnings: [],
        createdAt: '2025-01-02T03:04:05.678Z',
      },
    ]);
  });

  it('refuses to save a key that does not belong to the certificate, and writes nothing', async () => {
    const store = createFileCertificateStore(dataDir);
    const { certificatePem } = await materialFor('files.example.test');
    const { privateKeyPem } = await materialFor('127.0.0.1');
    await expect(store.save({ certificatePem, privateKeyPem }, 'self-signed')).rejects.toMatchObject({ code: 'KEY_MISMATCH' });
    expect(await store.list()).toEqual([]);
  });

  it('lists entries oldest first and skips an entry interrupted before its metadata', async () => {
    let clock = Date.parse('2025-01-01T00:00:00Z');
    const store = createFileCertificateStore(dataDir, { now: () => new Date((clock += 1000)) });
    const first = await store.save(await materialFor('files.example.test'), 'self-signed');
    const second = await store.save(await materialFor('127.0.0.1'), 'self-signed');
    await mkdir(storePaths(dataDir).entry('20240101T000000000Z-deadbeef'), { recursive: true });
    expect((await store.list()).map((entry) => entry.id)).toEqual([first.id, second.id]);
  });

  it('skips and reports an entry with unreadable metadata, listing the rest', async () => {
    const unreadable: string[] = [];
    const store = createFileCertificateStore(dataDir, { onUnreadableEntry: (id) => unreadable.push(id) });
    const good = await store.save(await materialFor('files.example.test'), 'self-signed');
    const bad = await store.save(await materialFor('127.0.0.1'), 'self-signed');
    await writeFile(storePaths(dataDir).meta(bad.id), '{ broken');
    expect((await store.list()).map((entry) => entry.id)).toEqual([good.id]);
    expect(unreadable).toEqual([bad.id]);
  });

  it('refuses to activate an unknown or incomplete entry and keeps the active one', async () => {
    const store = createFileCertificateStore(dataDir);
    const stored = await store.save(await materialFor('files.example.test'), 'self-signed');
    await store.activate(stored.id);
    await expect(store.activate(newCertificateId())).rejects.toMatchObject({ code: 'UNKNOWN_CERTIFICATE' });
    await expect(store.activate('../../etc')).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(await store.activeId()).toBe(stored.id);
  });

  it.each([
    { desc: 'active.json naming a path outside the store', active: JSON.stringify({ id: '../outside' }), message: /invalid certificate id/ },
    { desc: 'active.json that is not JSON', active: 'nope', message: /not valid JSON/ },
    { desc: 'active.json naming a missing entry', active: JSON.stringify({ id: '20250101T000000000Z-00000000' }), message: /active\.json names/ },
  ])('treats $desc as corruption, not as "no certificate"', async ({ active, message }) => {
    const store = createFileCertificateStore(dataDir);
    await mkdir(dataDir, { recursive: true });
    await writeFile(storePaths(dataDir).active, active);
    await expect(store.loadActive()).rejects.toMatchObject({ code: 'STORE_CORRUPT', message: expect.stringMatching(message) });
  });

  it('refuses an entry whose key was replaced by another', async () => {
    const store = createFileCertificateStore(dataDir);
    const stored = await store.save(await materialFor('files.example.test'), 'self-signed');
    await store.activate(stored.id);
    await writeFile(storePaths(dataDir).key(stored.id), (await materialFor('127.0.0.1')).privateKeyPem);
    await expect(store.loadActive()).rejects.toMatchObject({ code: 'STORE_CORRUPT', message: expect.stringMatching(/key\.pem/) });
  });
});
