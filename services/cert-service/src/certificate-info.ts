import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { PairSummary } from '@st/contracts';
import { CertificateError } from './errors.js';

/** What can be said about a certificate without its key; safe to log and to list. */
export interface CertificateInfo {
  /** Upper-case hex with colons, as openssl and X509Certificate.fingerprint256 print it. */
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  subjectAltName: string | null;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

export function parseCertificate(certificatePem: string): X509Certificate {
  try {
    return new X509Certificate(certificatePem);
  } catch (error) {
    throw new CertificateError('INVALID_CERTIFICATE', `not a readable PEM certificate: ${(error as Error).message}`);
  }
}

export function parsePrivateKey(privateKeyPem: string): KeyObject {
  try {
    return createPrivateKey(privateKeyPem);
  } catch (error) {
    // The key's content never goes into the message; the library's reason says enough.
    throw new CertificateError('INVALID_KEY', `not a readable, unencrypted PEM private key: ${(error as Error).message}`);
  }
}

/** X509Certificate prints a name one attribute per line; one line reads better in lists and logs. */
function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

function isoDate(text: string): string {
  return new Date(text).toISOString();
}

export function describeCertificate(certificatePem: string): CertificateInfo {
  const certificate = parseCertificate(certificatePem);
  return {
    fingerprintSha256: certificate.fingerprint256,
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    subjectAltName: certificate.subjectAltName ?? null,
    serialNumber: certificate.serialNumber,
    notBefore: isoDate(certificate.validFrom),
    notAfter: isoDate(certificate.validTo),
  };
}

/** The contract's summary of a bundle, for the given store id. */
export function summarizeCertificate(id: string, certificatePem: string): PairSummary {
  const info = describeCertificate(certificatePem);
  return { id, fingerprintSha256: info.fingerprintSha256, subject: info.subject, notBefore: info.notBefore, notAfter: info.notAfter };
}

/** True when the private key is the one the certificate's public key belongs to. */
export function checkKeyMatchesCertificate(certificatePem: string, privateKeyPem: string): boolean {
  return parseCertificate(certificatePem).checkPrivateKey(parsePrivateKey(privateKeyPem));
}

/** True when a client verifying `name` (host name or IP) would accept this certificate. */
export function certificateCoversName(certificatePem: string, name: string): boolean {
  const certificate = parseCertificate(certificatePem);
  const unbracketed = name.replace(/^\[(.*)\]$/, '$1');
  return isIP(unbracketed) ? certificate.checkIP(unbracketed) !== undefined : certificate.checkHost(unbracketed) !== undefined;
}

/** "RSA 2048", "ECDSA P-256", … as an operator reads it. */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'ec': {
      const curve = details.namedCurve;
      const nist: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
      return `ECDSA ${(curve && nist[curve]) ?? curve ?? '?'}`;
    }
    default:
      return String(key.asymmetricKeyType ?? 'unknown').toUpperCase();
  }
}

function colonHex(bytes: Buffer): string {
  return bytes.toString('hex').toUpperCase().match(/../g)!.join(':');
}

/** SHA-256 of the SPKI DER: the same for a certificate, its CSR and its private key. */
export function publicKeySha256(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return colonHex(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest());
}

/** Node prints the SAN as one line ("DNS:a, IP Address:1.2.3.4"); one entry per item reads and compares better. */
export function subjectAltNames(certificate: X509Certificate): string[] {
  return certificate.subjectAltName ? certificate.subjectAltName.split(/,\s*/).filter(Boolean) : [];
}

/** A certificate's subject on one line. */
export function subjectOf(certificate: X509Certificate): string {
  return oneLine(certificate.subject);
}

export function issuerOf(certificate: X509Certificate): string {
  return oneLine(certificate.issuer);
}
