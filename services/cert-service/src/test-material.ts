import { generateSelfSigned, type KeyAndCertificate } from './self-signed.js';

const generated = new Map<string, Promise<KeyAndCertificate>>();

/** One key pair per name per test file: RSA generation is the slow part of these tests. */
export function materialFor(serverName: string): Promise<KeyAndCertificate> {
  let material = generated.get(serverName);
  if (!material) {
    material = generateSelfSigned({ serverName });
    generated.set(serverName, material);
  }
  return material;
}
