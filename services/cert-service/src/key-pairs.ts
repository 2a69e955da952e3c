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
  // Copies with their own ArrayBuffer: small Buffers share Node's pool at an offset, and
  // WebCrypto then intermittently rejected the key data ("Invalid keyData").
  const privateDer = new Uint8Array(pair.privateKey.export({ type: 'pkcs8', format: 'der' }));
  const publicDer = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', privateDer, importParams, false, ['sign']),
    webcrypto.subtle.importKey('spki', publicDer, importParams, true, ['verify']),
  ]);
  return {
    keys: { privateKey, publicKey } as unknown as CryptoKeyPair,
    signingAlgorithm: isRsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : ({ name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams),
  };
}
