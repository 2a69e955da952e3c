import { generateKeyPair, webcrypto, type KeyObject } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { promisify } from 'node:util';
import type { KeyType } from '@st/contracts';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface GeneratedKeyPair {
  keyType: KeyType;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Unencrypted PKCS#8 PEM. */
  privateKeyPem: string;
}

const rsaBits: Partial<Record<KeyType, number>> = { 'rsa-2048': 2048, 'rsa-3072': 3072, 'rsa-4096': 4096 };
const curves: Partial<Record<KeyType, 'P-256' | 'P-384'>> = { 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384' };

/** In OpenSSL's thread pool: the event loop stays free while a large RSA key is found. */
export async function generateKeyPairFor(keyType: KeyType): Promise<GeneratedKeyPair> {
  const bits = rsaBits[keyType];
  const { privateKey, publicKey } = bits
    ? await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 })
    : await generateKeyPairAsync('ec', { namedCurve: curves[keyType]! });
  return { keyType, privateKey, publicKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** The WebCrypto view of a Node key pair, and how to sign with it (SHA-256 for every type). */
export async function webCryptoKeys(pair: { privateKey: KeyObject; publicKey: KeyObject }): Promise<{
  keys: CryptoKeyPair;
  signingAlgorithm: webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams;
}> {
  const isRsa = pair.publicKey.asymmetricKeyType === 'rsa';
  const importParams = isRsa
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: pair.publicKey.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256' };
  const [privateKey, publicKey] = await Promise.all([
    importWithRetry(() => webcrypto.subtle.importKey('pkcs8', pair.privateKey.export({ type: 'pkcs8', format: 'der' }), importParams, false, ['sign'])),
    importWithRetry(() => webcrypto.subtle.importKey('spki', pair.publicKey.export({ type: 'spki', format: 'der' }), importParams, true, ['verify'])),
  ]);
  return {
    keys: { privateKey, publicKey } as unknown as CryptoKeyPair,
    signingAlgorithm: isRsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : ({ name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams),
  };
}

/**
 * WebCrypto's import of a key Node just exported very rarely fails with
 * "DataError: Invalid keyData" (seen about once in sixty RSA imports under
 * jest, never in 800 plain-Node imports of the same kind); the same key imports
 * on a second try. A key that is really unusable still fails all attempts.
 */
async function importWithRetry(importKey: () => Promise<webcrypto.CryptoKey>, attempts = 3): Promise<webcrypto.CryptoKey> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await importKey();
    } catch (error) {
      if (attempt >= attempts || (error as Error).name !== 'DataError') throw error;
    }
  }
}
