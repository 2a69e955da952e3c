import { z } from 'zod';

/**
 * What a gateway needs to terminate TLS: the leaf certificate followed by its
 * chain, and the private key. Served only over authenticated HTTP, never on the bus.
 */
export const certificateBundleSchema = z.object({
  id: z.string().min(1),
  /** SHA-256 of the leaf certificate's DER, upper-case hex with colons (as openssl prints it). */
  fingerprintSha256: z.string().min(1),
  subject: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  certificatePem: z.string().min(1),
  privateKeyPem: z.string().min(1),
});
export type CertificateBundle = z.infer<typeof certificateBundleSchema>;

/** A bundle as it may be logged or announced: no key material. */
export type CertificateSummary = Omit<CertificateBundle, 'certificatePem' | 'privateKeyPem'>;

export function summarizeBundle(bundle: CertificateBundle): CertificateSummary {
  const { certificatePem: _cert, privateKeyPem: _key, ...summary } = bundle;
  return summary;
}
