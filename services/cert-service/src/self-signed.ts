import { X509Certificate } from 'node:crypto';
import { generateKeyPairFor, webCryptoKeys } from './key-pairs.js';
import { normaliseSheet, type CertificateSheet } from './sheet.js';
import { x509 } from './x509.js';
import { randomSerialNumber, subjectAltNameExtension, subjectName } from './x509-build.js';

export { normaliseSheet, defaultValidityDays, maxValidityDays, type CertificateSheet } from './sheet.js';
export { randomSerialNumber } from './x509-build.js';

export interface KeyAndCertificate {
  /** The leaf first, then its chain. */
  certificatePem: string;
  privateKeyPem: string;
}

/** Backdating notBefore lets clients whose clocks run a little slow accept a certificate made just now. */
export const clockSkewMs = 5 * 60 * 1000;

/**
 * A self-signed TLS server certificate for the sheet: SHA-256 signature,
 * subjectAltName of the right kind for each name (clients ignore the CN), not a
 * CA, serverAuth only, subject and authority key identifiers. The key pair comes
 * from Node's crypto; @peculiar/x509 builds and signs the certificate through
 * Node's WebCrypto, which covers ECDSA where node-forge cannot.
 */
export async function generateSelfSigned(sheet: CertificateSheet, options: { now?: Date } = {}): Promise<KeyAndCertificate> {
  const normalised = normaliseSheet(sheet);
  const pair = await generateKeyPairFor(normalised.keyType);
  const { keys, signingAlgorithm } = await webCryptoKeys(pair);
  const now = options.now ?? new Date();
  const isRsa = pair.publicKey.asymmetricKeyType === 'rsa';

  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: subjectName(normalised),
    notBefore: new Date(now.getTime() - clockSkewMs),
    notAfter: new Date(now.getTime() + normalised.validityDays * 24 * 60 * 60 * 1000),
    signingAlgorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // keyEncipherment is for RSA key transport; an ECDSA key only signs.
      new x509.KeyUsagesExtension(isRsa ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      subjectAltNameExtension(normalised),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      // Self-signed: the authority's key identifier is our own subject key identifier.
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // Node's PEM encoder: LF line ends and 64-column lines, like openssl.
  const certificatePem = new X509Certificate(Buffer.from(certificate.rawData)).toString();
  return { certificatePem, privateKeyPem: pair.privateKeyPem };
}
