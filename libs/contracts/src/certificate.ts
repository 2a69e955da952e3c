import { z } from 'zod';

/**
 * What a gateway needs to terminate TLS: the leaf certificate followed by its
 * chain, and the private key. Served only over authenticated HTTP, never on the bus.
 */
export const certificatePairSchema = z.object({
  id: z.string().min(1),
  /** SHA-256 of the leaf certificate's DER, upper-case hex with colons (as openssl prints it). */
  fingerprintSha256: z.string().min(1),
  subject: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  certificatePem: z.string().min(1),
  privateKeyPem: z.string().min(1),
});
export type CertificatePair = z.infer<typeof certificatePairSchema>;

/**
 * The active certificate and, when one is active alongside it, a certificate
 * with a key of the other kind (ECDSA beside RSA, or RSA beside ECDSA): the
 * gateway serves both, and each client's signature algorithms pick one.
 */
export const certificateBundleSchema = certificatePairSchema.extend({
  alongside: certificatePairSchema.optional(),
  /** cert-service gets certificates by ACME TLS-ALPN-01: gateways look at each HTTPS ClientHello for the CA's validation. */
  acmeTlsAlpn: z.boolean().optional(),
});
export type CertificateBundle = z.infer<typeof certificateBundleSchema>;

/** One certificate as it may be logged or announced: no key material. */
export type PairSummary = Omit<CertificatePair, 'certificatePem' | 'privateKeyPem'>;
/** A bundle as it may be logged or announced: no key material. */
export type CertificateSummary = PairSummary & { alongside?: PairSummary };

export function summarizeBundle(bundle: CertificateBundle | CertificatePair): CertificateSummary {
  const { certificatePem: _cert, privateKeyPem: _key, ...summary } = bundle as CertificateBundle;
  const { alongside, ...own } = summary;
  return alongside ? { ...own, alongside: summarizeBundle(alongside) as PairSummary } : own;
}

/** "RSA 2048" → rsa, "ECDSA P-256" → ecdsa: certificates of one kind cannot be served side by side. */
export function keyFamilyOf(keyType: string): string {
  return keyType.trim().split(/\s+/)[0]!.toLowerCase();
}

/** Key types cert-service generates. */
export const keyTypes = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'] as const;
export type KeyType = (typeof keyTypes)[number];
export const defaultKeyType: KeyType = 'rsa-2048';

/** Bounds a text field so that a request body cannot carry megabytes in one name. */
const text = z.string().max(1024);

/**
 * The information sheet for a self-signed certificate or a CSR. Unknown fields
 * are refused, so a misspelt field is an error rather than silently missing.
 */
export const certificateSheetSchema = z
  .object({
    /** DNS name or IP address; becomes the CN and the first subjectAltName. */
    serverName: text,
    organisation: text.optional(),
    organisationalUnit: text.optional(),
    city: text.optional(),
    state: text.optional(),
    /** Two-letter ISO 3166 code. */
    country: text.optional(),
    email: text.optional(),
    /** Further DNS names (a leading `*.` allowed) or IP addresses. */
    altNames: z.array(text).max(100).optional(),
    validityDays: z.number().optional(),
    keyType: z.enum(keyTypes).optional(),
  })
  .strict();
export type CertificateSheetInput = z.infer<typeof certificateSheetSchema>;

export const selfSignedRequestSchema = certificateSheetSchema.extend({ activate: z.boolean().optional() }).strict();
export type SelfSignedRequest = z.infer<typeof selfSignedRequestSchema>;

/** Largest certificate/key/PKCS#12 text accepted in one field. */
export const maxMaterialLength = 256 * 1024;
const material = z.string().min(1).max(maxMaterialLength);

/**
 * Loads a certificate. Either `certificate` (PEM text with one or more
 * certificates in any order, possibly with the key too, or one certificate as
 * base64 DER) or `pkcs12` (base64). Without a key, the certificate is matched
 * to a pending key made for a CSR.
 */
export const loadCertificateRequestSchema = z
  .object({
    certificate: material.optional(),
    /** More certificates (the authority's intermediates): PEM text, or base64 DER items. */
    chain: z.union([material, z.array(material).max(20)]).optional(),
    /** PEM (PKCS#8, PKCS#1, SEC1, encrypted or not) or base64 DER PKCS#8. */
    key: material.optional(),
    keyPassphrase: z.string().max(1024).optional(),
    pkcs12: material.optional(),
    pkcs12Password: z.string().max(1024).optional(),
    /** The name clients use; defaults to the service's SERVER_NAME (or the CSR's server name). */
    serverName: text.optional(),
    activate: z.boolean().optional(),
  })
  .strict()
  .refine((body) => (body.certificate === undefined) !== (body.pkcs12 === undefined), {
    message: 'give exactly one of "certificate" (PEM or base64 DER) and "pkcs12" (base64)',
  });
export type LoadCertificateRequest = z.infer<typeof loadCertificateRequestSchema>;

/** One problem found in loaded material: errors make TLS fail and reject the load; warnings are reported. */
export interface CertificateFinding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
}

export const certificateOrigins = ['self-signed', 'csr', 'loaded', 'acme'] as const;
export type CertificateOrigin = (typeof certificateOrigins)[number];

/** A stored certificate version as listed and shown: metadata only, never key material. */
export interface StoredCertificate extends PairSummary {
  origin: CertificateOrigin;
  /** As openssl prints it, e.g. "DNS:files.example.test, IP Address:127.0.0.1". */
  subjectAltName: string | null;
  subjectAltNames: string[];
  issuer: string;
  serialNumber: string;
  fingerprintSha1: string;
  /** SHA-256 of the public key (SPKI DER): how a returned certificate finds its pending key. */
  publicKeySha256: string;
  /** e.g. "RSA 2048", "ECDSA P-256". */
  keyType: string;
  /** Subjects of the chain after the leaf, in order. */
  chain: string[];
  /** Warnings given when it was stored. */
  warnings: CertificateFinding[];
  /** The CSR whose pending key it completed. */
  requestId?: string;
  createdAt: string;
}

/** A pending key and its CSR, waiting for the authority's certificate. */
export interface PendingRequest {
  id: string;
  serverName: string;
  subject: string;
  subjectAltNames: string[];
  keyType: KeyType;
  publicKeySha256: string;
  createdAt: string;
}

export const expiryStates = ['valid', 'expiring', 'expired', 'not-yet-valid'] as const;
export type ExpiryState = (typeof expiryStates)[number];

/** How long a certificate has left; `warnAt` is the 30/7/1-day threshold it has crossed, if any. */
export interface ExpiryStatus {
  daysLeft: number;
  state: ExpiryState;
  warnAt: number | null;
}
