import { constants, randomBytes, X509Certificate } from 'node:crypto';
import tls, { type SecureContext, type SecureContextOptions } from 'node:tls';
import { tls12ForwardSecretCiphers, tls13CipherSuites, type CertificateBundle, type TlsPolicy } from '@st/contracts';

/**
 * Forward-secret suites only (ECDHE for TLS 1.2; every TLS 1.3 suite is forward
 * secret). The TLS 1.3 names must be listed too, or Node would disable 1.3.
 */
export const forwardSecretCiphers = [...tls13CipherSuites, ...tls12ForwardSecretCiphers].join(':');

/**
 * No renegotiation (a client could make the server repeat its most expensive
 * work at will, and TLS 1.3 has none anyway) and no compression (CRIME).
 */
const secureOptions = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION;

/** Fixed so that data connections can resume the control connection's session on any listener. */
const sessionIdContext = 'secure-transfers';

export interface ActiveCertificate {
  id: string;
  fingerprintSha256: string;
  subject: string;
  notAfter: string;
}

/**
 * Holds the TLS context every listener uses. All listeners share one context
 * and one set of ticket keys: FTP clients resume the control connection's
 * session on the data connection, which only works when both were issued by
 * the same keys. Swapping the certificate replaces the context for new
 * handshakes; open connections keep the one they negotiated.
 */
export class TlsContextHolder {
  private context: SecureContext | null = null;
  private certificate: ActiveCertificate | null = null;
  private readonly listeners = new Set<(certificate: ActiveCertificate) => void>();

  constructor(
    private readonly ticketKeys: Buffer = randomBytes(48),
    private policy: Pick<TlsPolicy, 'minVersion'> = { minVersion: 'TLSv1.2' },
  ) {
    if (ticketKeys.length !== 48) throw new Error('TLS ticket keys must be 48 bytes');
  }

  get current(): SecureContext {
    if (!this.context) throw new Error('no certificate loaded yet');
    return this.context;
  }

  get active(): ActiveCertificate | null {
    return this.certificate;
  }

  /** Builds a context from the bundle; throws (changing nothing) if the pair is unusable. */
  load(bundle: CertificateBundle): ActiveCertificate {
    const leaf = new X509Certificate(bundle.certificatePem);
    const context = tls.createSecureContext(this.contextOptions(bundle));
    this.context = context;
    this.certificate = {
      id: bundle.id,
      fingerprintSha256: leaf.fingerprint256,
      subject: leaf.subject.replace(/\n/g, ', '),
      notAfter: new Date(leaf.validTo).toISOString(),
    };
    this.lastBundle = bundle;
    for (const listener of this.listeners) listener(this.certificate);
    return this.certificate;
  }

  /** A policy change (minimum version) rebuilds the context from the same certificate. */
  setPolicy(policy: Pick<TlsPolicy, 'minVersion'>): void {
    if (policy.minVersion === this.policy.minVersion) return;
    this.policy = policy;
    if (this.lastBundle) this.load(this.lastBundle);
  }

  onChange(listener: (certificate: ActiveCertificate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private lastBundle: CertificateBundle | null = null;

  private contextOptions(bundle: CertificateBundle): SecureContextOptions {
    return {
      cert: bundle.certificatePem,
      key: bundle.privateKeyPem,
      minVersion: this.policy.minVersion,
      maxVersion: 'TLSv1.3',
      ciphers: forwardSecretCiphers,
      honorCipherOrder: true,
      secureOptions,
      ecdhCurve: 'X25519:P-256:P-384',
      ticketKeys: this.ticketKeys,
      sessionIdContext,
      sessionTimeout: 600,
    } as SecureContextOptions;
  }
}

/** Whether a bundle would load (its PEM parses, the key belongs to the certificate), without touching any active context. */
export function bundleIsUsable(bundle: CertificateBundle): boolean {
  try {
    new X509Certificate(bundle.certificatePem);
    tls.createSecureContext({ cert: bundle.certificatePem, key: bundle.privateKeyPem });
    return true;
  } catch {
    return false;
  }
}
