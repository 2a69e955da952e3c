import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealerFromKey } from '../at-rest.js';
import { loadOrCreateAccountKey } from './acme-account.js';

describe('the ACME account key', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-acme-account-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is made once (ECDSA P-256), kept with mode 0600 in a 0700 directory, and the same key comes back', async () => {
    const key = await loadOrCreateAccountKey(dir, null);
    expect(createPrivateKey(key).asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect((await stat(join(dir, 'acme', 'account-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'acme'))).mode & 0o777).toBe(0o700);
    expect(await loadOrCreateAccountKey(dir, null)).toBe(key);
  });

  it('is sealed at rest when the store is encrypted: no PEM on disk, and only the store key opens it', async () => {
    const sealer = sealerFromKey(randomBytes(32));
    const key = await loadOrCreateAccountKey(dir, sealer);
    const onDisk = await readFile(join(dir, 'acme', 'account-key.pem'), 'utf8');
    expect(onDisk).not.toContain('PRIVATE KEY');
    expect(await loadOrCreateAccountKey(dir, sealer)).toBe(key);
    await expect(loadOrCreateAccountKey(dir, sealerFromKey(randomBytes(32)))).rejects.toThrow();
  });
});
