import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import acme from 'acme-client';
import type { KeySealer } from '../at-rest.js';
import { writeFileAtomic } from '@st/service-kit';

/**
 * The ACME account key: made once, kept in the store directory like the
 * certificates' keys (mode 0600, sealed when the store is encrypted). The
 * account itself lives at the CA; the key is what identifies it, so losing it
 * only means registering again.
 */
export async function loadOrCreateAccountKey(dataDir: string, sealer: KeySealer | null): Promise<string> {
  const path = join(dataDir, 'acme', 'account-key.pem');
  const context = 'acme account key';
  try {
    const stored = await readFile(path, 'utf8');
    return sealer && !stored.startsWith('-----BEGIN') ? sealer.open(stored, context) : stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  await mkdir(join(dataDir, 'acme'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, sealer ? sealer.seal(key, context) : key, 0o600);
  return key;
}
