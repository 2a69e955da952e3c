import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@st/service-kit';
import { CertificateError } from './errors.js';

/** Encrypts private keys before they touch the disk; `context` binds a ciphertext to the file it belongs in. */
export interface KeySealer {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

interface Sealed {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

/** AES-256-GCM with a fresh 96-bit nonce per file; the context is authenticated, so a file moved to another entry fails to open. */
export function sealerFromKey(key: Buffer): KeySealer {
  if (key.length !== 32) throw new Error('the store key must be 32 bytes');
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const sealed: Sealed = { v: 1, alg: 'A256GCM', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
      return `${JSON.stringify(sealed)}\n`;
    },
    open(text, context) {
      let sealed: Sealed;
      try {
        sealed = JSON.parse(text) as Sealed;
      } catch {
        throw new CertificateError('STORE_CORRUPT', `an encrypted key (${context}) is not readable`);
      }
      if (sealed?.v !== 1 || sealed.alg !== 'A256GCM') throw new CertificateError('STORE_CORRUPT', `an encrypted key (${context}) has an unknown format`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new CertificateError('STORE_LOCKED', `the encrypted key ${context} does not open with the store key (wrong key, or the file was altered or moved)`);
      }
    },
  };
}

interface EncryptionFile {
  version: 1;
  kdf: 'scrypt';
  salt: string;
  N: number;
  r: number;
  p: number;
  /** A known text sealed with the derived key: tells a wrong secret apart at start-up. */
  check: string;
}

const checkText = 'secure-transfers cert-service store key';
const scryptParams = { N: 2 ** 15, r: 8, p: 1 };

function deriveKey(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, 32, { ...params, maxmem: 128 * params.N * params.r * 2 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export function encryptionFilePath(dataDir: string): string {
  return join(dataDir, 'encryption.json');
}

/**
 * The store's key sealer: derived from the secret with scrypt and a salt kept in
 * encryption.json (created on first use). A secret that does not open the check
 * value is refused at start, before any key is written with it. Without a secret
 * but with an encryption.json, the store is locked: refusing to start is clearer
 * than failing at the first key read.
 */
export async function openStoreEncryption(dataDir: string, secret: string | undefined): Promise<KeySealer | null> {
  const path = encryptionFilePath(dataDir);
  let existing: EncryptionFile | null = null;
  try {
    existing = JSON.parse(await readFile(path, 'utf8')) as EncryptionFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CertificateError('STORE_CORRUPT', `${path} is not readable: ${(error as Error).message}`);
  }
  if (!secret) {
    if (existing) throw new CertificateError('STORE_LOCKED', `the store's keys are encrypted (${path}); set CERT_STORE_KEY or CERT_STORE_KEY_FILE`);
    return null;
  }
  if (existing) {
    const sealer = sealerFromKey(await deriveKey(secret, Buffer.from(existing.salt, 'base64'), existing));
    try {
      if (sealer.open(existing.check, 'check') !== checkText) throw new Error('check mismatch');
    } catch {
      throw new CertificateError('STORE_LOCKED', `the store key does not match the one the store was encrypted with (${path})`);
    }
    return sealer;
  }
  const salt = randomBytes(16);
  const sealer = sealerFromKey(await deriveKey(secret, salt, scryptParams));
  const file: EncryptionFile = { version: 1, kdf: 'scrypt', salt: salt.toString('base64'), ...scryptParams, check: sealer.seal(checkText, 'check') };
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  return sealer;
}
