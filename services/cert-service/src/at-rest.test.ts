import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certApi, healthApi, type ExpiryStatus } from '@st/contracts';
import { capturingLogger as sharedCapturingLogger } from '@st/test-kit';
import { sealerFromKey } from './at-rest.js';
import { expiryNotice, expiryStatus } from './expiry.js';
import { createCertService } from './service.js';

jest.setTimeout(30_000);
const day = 24 * 60 * 60 * 1000;

const capturingLogger = () => sharedCapturingLogger('cert-test');

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) found.push(join(entry.parentPath ?? entry.path, entry.name));
  return found;
}

describe('sealerFromKey', () => {
  const sealer = sealerFromKey(randomBytes(32));
  it('round-trips and never writes the plaintext', () => {
    const sealed = sealer.seal('-----BEGIN PRIVATE KEY-----\nsecret\n', 'certificate a');
    expect(sealed).not.toContain('secret');
    expect(sealer.open(sealed, 'certificate a')).toBe('-----BEGIN PRIVATE KEY-----\nsecret\n');
  });
  it.each([
    { desc: 'another entry (a file moved)', open: (sealed: string) => sealer.open(sealed, 'certificate b') },
    { desc: 'another key', open: (sealed: string) => sealerFromKey(randomBytes(32)).open(sealed, 'certificate a') },
    { desc: 'an altered file', open: (sealed: string) => sealer.open(sealed.replace(/"data":"(.)/, (_m, c: string) => `"data":"${c === 'A' ? 'B' : 'A'}`), 'certificate a') },
  ])('refuses $desc with STORE_LOCKED', ({ open }) => {
    expect(() => open(sealer.seal('key', 'certificate a'))).toThrow(expect.objectContaining({ code: 'STORE_LOCKED' }));
  });
});

describe('expiry', () => {
  const validity = (daysLeft: number) => ({ notBefore: new Date(Date.now() - 100 * day).toISOString(), notAfter: new Date(Date.now() + daysLeft * day + 60_000).toISOString() });
  it.each([
    { daysLeft: 90, expected: { daysLeft: 90, state: 'valid', warnAt: null } },
    { daysLeft: 30, expected: { daysLeft: 30, state: 'expiring', warnAt: 30 } },
    { daysLeft: 8, expected: { daysLeft: 8, state: 'expiring', warnAt: 30 } },
    { daysLeft: 7, expected: { daysLeft: 7, state: 'expiring', warnAt: 7 } },
    { daysLeft: 1, expected: { daysLeft: 1, state: 'expiring', warnAt: 1 } },
    { daysLeft: 0, expected: { daysLeft: 0, state: 'expiring', warnAt: 1 } },
    { daysLeft: -2, expected: { daysLeft: -2, state: 'expired', warnAt: null } },
  ])('$daysLeft days left → $expected.state $expected.warnAt', ({ daysLeft, expected }) => {
    expect(expiryStatus(validity(daysLeft), new Date())).toEqual(expected);
  });

  it('logs once per threshold crossed, and once when expired', () => {
    const statuses: ExpiryStatus[] = [40, 30, 29, 7, 6, 1, -1, -2].map((daysLeft) => expiryStatus(validity(daysLeft), new Date()));
    let last: string | null = null;
    const logged: Array<string> = [];
    for (const status of statuses) {
      const notice = expiryNotice('id', status, last);
      if (notice) {
        last = notice.key;
        logged.push(`${notice.level}:${status.warnAt ?? status.state}`);
      }
    }
    expect(logged).toEqual(['warn:30', 'warn:7', 'warn:1', 'error:expired']);
  });
});

describe('cert-service with keys encrypted at rest, and expiry in health', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cert-at-rest-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));
  const base = (dataDir: string, storeKey?: string) => ({ dataDir, serverName: '127.0.0.1', host: '127.0.0.1', port: 0, serviceToken: 's', adminToken: 'a', logger: capturingLogger().logger, storeKey });

  it('writes no private key in clear, restarts with the store key, and refuses to start without it or with another', async () => {
    const dataDir = join(root, 'sealed');
    const first = createCertService(base(dataDir, 'correct horse battery staple'));
    const { url } = await first.start();
    const request = await fetch(`${url}${certApi.requests}`, { method: 'POST', headers: { authorization: 'Bearer a', 'content-type': 'application/json' }, body: JSON.stringify({ serverName: 'files.example.test' }) });
    expect(request.status).toBe(201);
    const bundle = await (await fetch(`${url}${certApi.activeBundle}`, { headers: { authorization: 'Bearer s' } })).json();
    await first.stop();

    const files = await filesUnder(dataDir);
    expect(files.filter((file) => file.endsWith('key.pem.enc'))).toHaveLength(2);
    expect(files.filter((file) => file.endsWith('key.pem'))).toEqual([]);
    for (const file of files) expect(await readFile(file, 'utf8')).not.toContain('PRIVATE KEY-----\nMI');

    const again = createCertService(base(dataDir, 'correct horse battery staple'));
    const restarted = await again.start();
    expect(await (await fetch(`${restarted.url}${certApi.activeBundle}`, { headers: { authorization: 'Bearer s' } })).json()).toEqual(bundle);
    await again.stop();

    await expect(createCertService(base(dataDir)).start()).rejects.toMatchObject({ code: 'STORE_LOCKED', message: expect.stringMatching(/CERT_STORE_KEY/) });
    await expect(createCertService(base(dataDir, 'wrong')).start()).rejects.toMatchObject({ code: 'STORE_LOCKED', message: expect.stringMatching(/does not match/) });
  });

  it('reports days left in health, warns within 7 days, and is not ready once the active certificate has expired', async () => {
    const dataDir = join(root, 'expiry');
    const log = capturingLogger();
    const soon = createCertService({ ...base(dataDir), validityDays: 5, logger: log.logger });
    const { url } = await soon.start();
    const health = await (await fetch(`${url}${healthApi.ready}`)).json();
    expect(health).toMatchObject({ status: 'ready', certificate: { daysLeft: 4, state: 'expiring', warnAt: 7 }, warnings: [expect.stringMatching(/expires in 4 days/)] });
    expect(log.records()).toContainEqual(expect.objectContaining({ level: 'warn', daysLeft: 4, msg: expect.stringMatching(/expires within 7 days/) }));
    await soon.stop();

    const laterLog = capturingLogger();
    const later = createCertService({ ...base(dataDir), logger: laterLog.logger, now: () => new Date(Date.now() + 6 * day) });
    const started = await later.start();
    const expired = await fetch(`${started.url}${healthApi.ready}`);
    expect(expired.status).toBe(503);
    expect(await expired.json()).toMatchObject({ status: 'not-ready', reasons: [expect.stringMatching(/expired/)], certificate: { state: 'expired' } });
    expect(laterLog.records()).toContainEqual(expect.objectContaining({ level: 'error', msg: expect.stringMatching(/has expired/) }));
    await later.stop();
  });
});
