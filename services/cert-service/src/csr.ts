import { createHash } from 'node:crypto';
import type { KeyType } from '@st/contracts';
import { generateKeyPairFor, webCryptoKeys } from './key-pairs.js';
import { normaliseSheet, type CertificateSheet } from './sheet.js';
import { x509 } from './x509.js';
import { subjectAltNameExtension, subjectName } from './x509-build.js';

export interface KeyAndRequest {
  /** PKCS#10, PEM. */
  csrPem: string;
  privateKeyPem: string;
  serverName: string;
  subject: string;
  subjectAltNames: string[];
  keyType: KeyType;
  /** SHA-256 of the public key's SPKI DER, upper-case hex with colons: how the returned certificate finds this key. */
  publicKeySha256: string;
}

function pemBlock(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function colonHex(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase().match(/../g)!.join(':');
}

/**
 * A private key and a CSR for the sheet. The CSR asks for the sheet's names as
 * subjectAltName; the authority decides the rest (validity, usages). The key
 * stays with the caller (the service keeps it as pending).
 */
export async function generateCsr(sheet: CertificateSheet): Promise<KeyAndRequest> {
  const normalised = normaliseSheet(sheet);
  const pair = await generateKeyPairFor(normalised.keyType);
  const { keys, signingAlgorithm } = await webCryptoKeys(pair);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(normalised),
    keys,
    signingAlgorithm,
    extensions: [subjectAltNameExtension(normalised)],
  });
  return {
    csrPem: pemBlock('CERTIFICATE REQUEST', request.rawData),
    privateKeyPem: pair.privateKeyPem,
    serverName: normalised.serverName.name,
    subject: request.subject,
    subjectAltNames: normalised.altNames.map((name) => (name.kind === 'dns' ? `DNS:${name.name}` : `IP Address:${name.name}`)),
    keyType: normalised.keyType,
    publicKeySha256: colonHex(createHash('sha256').update(pair.publicKey.export({ type: 'spki', format: 'der' })).digest()),
  };
}
