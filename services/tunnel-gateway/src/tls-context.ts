import { constants, hkdfSync, randomBytes, X509Certificate } from 'node:crypto';
import tls, { type SecureContext, type SecureContextOptions } from 'node:tls';
import { tls12ForwardSecretCiphers, tls13CipherSuites, type CertificateBundle, type TlsPolicy } from '@st/contracts';
import { renewTicketsOnResumption } from './ticket-renewal.js';

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
  /** The certificate served beside it (a key of the other kind), if any. */
  alongside?: Omit<ActiveCertificate, 'alongside'>;
}

function describeLeaf(id: string, certificatePem: string): Omit<ActiveCertificate, 'alongside'> {
  const leaf = new X509Certificate(certificatePem);
  return { id, fingerprintSha256: leaf.fingerprint256, subject: leaf.subject.replace(/\n/g, ', '), notAfter: new Date(leaf.validTo).toISOString() };
}

/** Contexts with a session's own ticket keys kept per process (each costs a key parse to build again). */
const maxBoundContexts = 256;

/** How often session-ticket keys change unless told otherwise. */
export const defaultTicketRotationMs = 3_600_000;

export interface TicketKeyOptions {
  /**
   * 48 bytes every replica shares; each period's ticket keys are derived from
   * it (HKDF-SHA256 with the period's number), so replicas agree on the keys
   * of every period without talking to each other.
   */
  secret?: Buffer;
  /** Length of one period; the keys of a period encrypt new tickets during it and are forgotten one period later. */
  rotationMs?: number;
  /** Clock (tests move it). */
  now?: () => number;
}

/** A context and the ticket-key period it was built for. */
export interface PickedContext {
  context: SecureContext;
  ticketGeneration: number;
}

/**
 * Holds the TLS contexts every listener uses. All listeners share one set of
 * ticket keys per period: FTP clients resume the control connection's session
 * on the data connection, which only works when both use the same keys; so a
 * data connection is handshaken with the keys of its control connection's
 * period (its lease says which), also just after the keys rotated. Swapping
 * the certificate replaces the contexts for new handshakes; open connections
 * keep the one they negotiated.
 */
export class TlsContextHolder {
  /** Contexts of the current period and the one before, by period number. */
  private readonly contexts = new Map<number, SecureContext>();
  private certificate: ActiveCertificate | null = null;
  private readonly listeners = new Set<(certificate: ActiveCertificate) => void>();
  private readonly secret: Buffer;
  readonly rotationMs: number;
  private readonly now: () => number;

  constructor(
    tickets: TicketKeyOptions = {},
    private policy: Pick<TlsPolicy, 'minVersion'> = { minVersion: 'TLSv1.2' },
  ) {
    this.secret = tickets.secret ?? randomBytes(48);
    if (this.secret.length !== 48) throw new Error('TLS ticket keys must be 48 bytes');
    this.rotationMs = tickets.rotationMs ?? defaultTicketRotationMs;
    if (!(this.rotationMs >= 1000)) throw new Error('the ticket key rotation period must be at least one second');
    this.now = tickets.now ?? Date.now;
  }

  /** The context for a new handshake now. */
  get current(): SecureContext {
    return this.pick().context;
  }

  /** The number of the current ticket-key period. */
  get currentGeneration(): number {
    return Math.floor(this.now() / this.rotationMs);
  }

  /**
   * The context for a handshake: with the ticket keys of `generation` when it
   * is the current or the previous period (a data connection resuming its
   * control connection's session), else with the current ones. With `binding`
   * (an FTP control session's own key, when session reuse is required) the
   * ticket keys are that session's alone: only its own data connections can
   * resume its TLS session, not another session's from the same address.
   */
  pick(generation?: number, binding?: string): PickedContext {
    if (!this.lastBundle) throw new Error('no certificate loaded yet');
    const current = this.currentGeneration;
    const wanted = generation !== undefined && (generation === current || generation === current - 1) ? generation : current;
    if (binding !== undefined) return { context: this.boundContext(wanted, binding), ticketGeneration: wanted };
    let context = this.contexts.get(wanted);
    if (!context) {
      context = this.createContext(this.lastBundle, this.ticketKeysOf(wanted));
      this.contexts.set(wanted, context);
      // Keys of periods before the previous one are forgotten.
      for (const known of this.contexts.keys()) if (known < current - 1) this.contexts.delete(known);
    }
    return { context, ticketGeneration: wanted };
  }

  /** Contexts with one session's own ticket keys, the most recently used kept (a session's data connections come again and again). */
  private readonly bound = new Map<string, SecureContext>();

  private boundContext(generation: number, binding: string): SecureContext {
    const key = `${generation}|${binding}`;
    let context = this.bound.get(key);
    if (context) {
      this.bound.delete(key);
    } else {
      context = this.createContext(this.lastBundle!, this.ticketKeysOf(generation, binding));
      if (this.bound.size >= maxBoundContexts) this.bound.delete(this.bound.keys().next().value!);
    }
    this.bound.set(key, context);
    return context;
  }

  get active(): ActiveCertificate | null {
    return this.certificate;
  }

  /** Builds a context from the bundle; throws (changing nothing) if the pair is unusable. */
  load(bundle: CertificateBundle): ActiveCertificate {
    const primary = describeLeaf(bundle.id, bundle.certificatePem);
    const alongside = bundle.alongside ? describeLeaf(bundle.alongside.id, bundle.alongside.certificatePem) : null;
    const generation = this.currentGeneration;
    const context = this.createContext(bundle, this.ticketKeysOf(generation));
    this.contexts.clear();
    this.bound.clear();
    this.contexts.set(generation, context);
    this.certificate = alongside ? { ...primary, alongside } : primary;
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

  /** The 48 bytes of session-ticket keys (name, HMAC and AES keys) of one period, or of one session in it. */
  private ticketKeysOf(generation: number, binding?: string): Buffer {
    const info = binding === undefined ? `period ${generation}` : `period ${generation} session ${binding}`;
    return Buffer.from(hkdfSync('sha256', this.secret, 'secure-transfers session tickets', info, 48));
  }

  /** Every context renews tickets on resumption (see renewTicketsOnResumption). */
  private createContext(bundle: CertificateBundle, ticketKeys: Buffer): SecureContext {
    const context = tls.createSecureContext(this.contextOptions(bundle, ticketKeys));
    renewTicketsOnResumption(context, ticketKeys);
    return context;
  }

  private contextOptions(bundle: CertificateBundle, ticketKeys: Buffer): SecureContextOptions {
    // With a certificate alongside (the other key kind), OpenSSL picks per handshake by the client's signature algorithms.
    const { alongside } = bundle;
    return {
      cert: alongside ? [bundle.certificatePem, alongside.certificatePem] : bundle.certificatePem,
      key: alongside ? [bundle.privateKeyPem, alongside.privateKeyPem] : bundle.privateKeyPem,
      minVersion: this.policy.minVersion,
      maxVersion: 'TLSv1.3',
      ciphers: forwardSecretCiphers,
      honorCipherOrder: true,
      secureOptions,
      ecdhCurve: 'X25519:P-256:P-384',
      ticketKeys,
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
    if (bundle.alongside) {
      new X509Certificate(bundle.alongside.certificatePem);
      tls.createSecureContext({ cert: [bundle.certificatePem, bundle.alongside.certificatePem], key: [bundle.privateKeyPem, bundle.alongside.privateKeyPem] });
    }
    return true;
  } catch {
    return false;
  }
}
