import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import {
  activeCertificateAlias,
  certActivatedEventSchema,
  keyFamilyOf,
  routingKeys,
  summarizeBundle,
  type CertificateBundle,
  type CertificateFinding,
  type CertificatePair,
  type CertificateSheetInput,
  type ExpiryStatus,
  type KeyType,
  type LoadCertificateRequest,
  type PendingRequest,
  type StoredCertificate,
} from '@st/contracts';
import type { EventPublisher } from '@st/bus';
import type { Logger } from '@st/logging';
import { certificateCoversName, publicKeySha256, subjectOf } from './certificate-info.js';
import { generateCsr } from './csr.js';
import { CertificateError } from './errors.js';
import { expiryNotice, expiryStatus } from './expiry.js';
import { errorsOf, warningsOf } from './findings.js';
import { decodeMaterial } from './material-input.js';
import { generateSelfSigned } from './self-signed.js';
import type { CertificateStore } from './store.js';
import { validateMaterial, type ValidationResult } from './validate.js';

/** `active`: the active certificate; `activeAlongside`: served beside it (the other key kind). */
export type ListedCertificate = StoredCertificate & { active: boolean; activeAlongside: boolean; expiry: ExpiryStatus };

export interface LoadOutcome {
  certificate: ListedCertificate;
  warnings: CertificateFinding[];
  /** The pending CSR whose key completed it. */
  requestId?: string;
}

export interface ValidationReport {
  ok: boolean;
  errors: CertificateFinding[];
  warnings: CertificateFinding[];
  /** The leaf as it would be stored. */
  leaf: { subject: string; issuer: string; subjectAltName: string | null; notAfter: string; fingerprintSha256: string } | null;
  chain: string[];
  requestId?: string;
}

export interface CertManagerOptions {
  store: CertificateStore;
  logger: Logger;
  /** The name clients use; loaded certificates must cover it unless the load names another. */
  serverName: string;
  validityDays?: number;
  keyType?: KeyType;
  publisher?: EventPublisher | null;
  now?: () => Date;
}

let wellKnownRoots: X509Certificate[] | null = null;
/** Node's bundled Mozilla roots: a chain that ends just below one of them is complete. */
function trustedRoots(): X509Certificate[] {
  wellKnownRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return wellKnownRoots;
}

/**
 * The certificate use cases — generate, request, load, activate, delete,
 * export — over a store, with the active bundle kept in memory for gateways.
 * Changes run one at a time, so two activations cannot interleave.
 */
export class CertManager {
  private bundle: CertificatePair | null = null;
  /** A certificate with a key of the other kind, served beside the active one. */
  private alongside: CertificatePair | null = null;
  private lastAlongsideExpiryNotice: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private lastExpiryNotice: string | null = null;
  private readonly now: () => Date;

  private readonly options: CertManagerOptions;

  constructor(options: CertManagerOptions) {
    this.options = { ...options };
    this.now = options.now ?? (() => new Date());
  }

  /** What gateways serve: the active certificate, with the one active alongside it if any. */
  get active(): CertificateBundle | null {
    if (!this.bundle) return null;
    return this.alongside ? { ...this.bundle, alongside: this.alongside } : this.bundle;
  }

  /** The publisher comes after init(), so that start-up announces once, after the active certificate is known. */
  attachPublisher(publisher: EventPublisher | null): void {
    this.options.publisher = publisher;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /**
   * Loads the active certificate, or makes a self-signed one for the server
   * name and activates it when the store has none. A store that names an
   * active certificate it cannot read is an error: replacing it silently would
   * change the fingerprint clients have pinned.
   */
  init(): Promise<CertificateBundle> {
    return this.exclusive(async () => {
      const { store, serverName } = this.options;
      const existing = await store.loadActive();
      if (existing) {
        this.bundle = existing;
        this.log.info({ certificate: summarizeBundle(existing) }, 'active certificate loaded');
        if (!certificateCoversName(existing.certificatePem, serverName)) {
          this.log.warn(
            { certificate: summarizeBundle(existing), serverName },
            'the active certificate does not cover SERVER_NAME; clients checking that name will refuse it',
          );
        }
        this.alongside = await store.loadAlongside();
        if (this.alongside) this.log.info({ certificate: summarizeBundle(this.alongside) }, 'certificate active alongside loaded');
      } else {
        const material = await generateSelfSigned({ serverName, validityDays: this.options.validityDays, keyType: this.options.keyType });
        const stored = await store.save(material, 'self-signed');
        await this.activateStored(stored.id);
        this.log.info({ certificate: summarizeBundle(this.bundle!) }, 'generated and activated a self-signed certificate');
      }
      this.checkExpiry();
      return this.bundle!;
    });
  }

  /** Tells gateways which certificate is active; they fetch it over HTTP. Never key material. */
  async announce(): Promise<void> {
    const { publisher } = this.options;
    const bundle = this.bundle;
    if (!publisher || !bundle) return;
    const alongside = this.alongside;
    const event = certActivatedEventSchema.parse({
      id: bundle.id,
      fingerprintSha256: bundle.fingerprintSha256,
      ...(alongside ? { alongside: { id: alongside.id, fingerprintSha256: alongside.fingerprintSha256 } } : {}),
    });
    if (await publisher.publish(routingKeys.certActivated, event)) {
      this.log.info({ event }, 'certificate activation announced');
    } else {
      // Announced again when the bus is back (the publisher's onConnected), and gateways re-fetch when they reconnect.
      this.log.warn({ event }, 'certificate activation not announced: the bus is not connected; it will be announced on reconnect');
    }
  }

  private async activateStored(id: string): Promise<void> {
    const { store } = this.options;
    await store.activate(id);
    this.bundle = await store.loadActive();
    // Two certificates of one kind cannot be served side by side: the new one takes the place of both.
    const alongside = this.alongside;
    if (alongside && (alongside.id === id || (await this.familyOf(alongside.id)) === (await this.familyOf(id)))) {
      await store.setAlongside(null);
      this.alongside = null;
      this.log.info({ certificateId: alongside.id, replacedBy: id }, 'certificate no longer active alongside: the newly active one has a key of the same kind');
    }
    this.lastExpiryNotice = null;
    this.checkExpiry();
    void this.announce();
  }

  private async familyOf(id: string): Promise<string> {
    return keyFamilyOf((await this.options.store.get(id)).keyType);
  }

  /** Logs an expiry warning once per threshold crossed (for the active certificate and the one alongside it); run on a timer and at each change. */
  checkExpiry(): ExpiryStatus | null {
    const bundle = this.bundle;
    if (!bundle) return null;
    const status = expiryStatus(bundle, this.now());
    const notice = expiryNotice(bundle.id, status, this.lastExpiryNotice);
    if (notice) {
      this.lastExpiryNotice = notice.key;
      this.log[notice.level]({ certificate: summarizeBundle(bundle), daysLeft: status.daysLeft }, notice.message);
    }
    const alongside = this.alongside;
    if (alongside) {
      const alongsideStatus = expiryStatus(alongside, this.now());
      const alongsideNotice = expiryNotice(alongside.id, alongsideStatus, this.lastAlongsideExpiryNotice);
      if (alongsideNotice) {
        this.lastAlongsideExpiryNotice = alongsideNotice.key;
        this.log[alongsideNotice.level]({ certificate: summarizeBundle(alongside), daysLeft: alongsideStatus.daysLeft, alongside: true }, alongsideNotice.message);
      }
    }
    return status;
  }

  private listed(meta: StoredCertificate): ListedCertificate {
    return { ...meta, active: meta.id === this.bundle?.id, activeAlongside: meta.id === this.alongside?.id, expiry: expiryStatus(meta, this.now()) };
  }

  private resolveId(id: string): string {
    if (id !== activeCertificateAlias) return id;
    if (!this.bundle) throw new CertificateError('NO_ACTIVE_CERTIFICATE', 'no certificate is active');
    return this.bundle.id;
  }

  async list(): Promise<{
    activeId: string | null;
    active: (ExpiryStatus & { id: string }) | null;
    alongside: (ExpiryStatus & { id: string }) | null;
    certificates: ListedCertificate[];
  }> {
    const certificates = (await this.options.store.list()).map((meta) => this.listed(meta));
    const { bundle, alongside } = this;
    return {
      activeId: bundle?.id ?? null,
      active: bundle ? { id: bundle.id, ...expiryStatus(bundle, this.now()) } : null,
      alongside: alongside ? { id: alongside.id, ...expiryStatus(alongside, this.now()) } : null,
      certificates,
    };
  }

  async show(id: string): Promise<ListedCertificate & { certificatePem: string }> {
    const resolved = this.resolveId(id);
    const meta = await this.options.store.get(resolved);
    const { certificatePem } = await this.options.store.load(resolved);
    return { ...this.listed(meta), certificatePem };
  }

  async createSelfSigned(sheet: CertificateSheetInput, activate: boolean): Promise<ListedCertificate> {
    const material = await generateSelfSigned(sheet);
    return this.exclusive(async () => {
      const stored = await this.options.store.save(material, 'self-signed');
      this.log.info({ certificate: { id: stored.id, subject: stored.subject, fingerprintSha256: stored.fingerprintSha256 }, keyType: stored.keyType }, 'self-signed certificate generated');
      if (activate) await this.activateStored(stored.id);
      return this.listed(stored);
    });
  }

  async createRequest(sheet: CertificateSheetInput): Promise<{ request: PendingRequest; csrPem: string }> {
    const generated = await generateCsr(sheet);
    const request = await this.exclusive(() => this.options.store.saveRequest(generated));
    this.log.info({ request }, 'key and CSR created; the key is pending until its certificate is loaded');
    return { request, csrPem: generated.csrPem };
  }

  listRequests(): Promise<PendingRequest[]> {
    return this.options.store.listRequests();
  }

  getRequest(id: string): Promise<PendingRequest & { csrPem: string }> {
    return this.options.store.getRequest(id);
  }

  removeRequest(id: string): Promise<void> {
    return this.exclusive(async () => {
      await this.options.store.removeRequest(id);
      this.log.info({ requestId: id }, 'pending key and CSR deleted');
    });
  }

  /** Decodes, finds the key (given, or pending from a CSR) and validates, without storing anything. */
  private async examine(body: LoadCertificateRequest): Promise<{ result: ValidationResult | null; findings: CertificateFinding[]; key: KeyObject | null; requestId?: string }> {
    const decoded = decodeMaterial(body);
    if (decoded.findings.length > 0) return { result: null, findings: decoded.findings, key: null };

    let key = decoded.key?.key ?? null;
    let pending: PendingRequest | undefined;
    const requests = await this.options.store.listRequests();
    if (key) {
      const keyHash = publicKeySha256(key);
      pending = requests.find((request) => request.publicKeySha256 === keyHash);
    } else {
      const hashes = new Set(decoded.certificates.map((entry) => publicKeySha256(entry.certificate.publicKey)));
      pending = requests.find((request) => hashes.has(request.publicKeySha256));
      if (pending) key = createPrivateKey(await this.options.store.requestKey(pending.id));
    }
    const noKeyHint =
      requests.length === 0 ? 'none was given, and there is no pending key from a CSR' : `none was given, and none of the ${requests.length} pending keys (CSRs) belongs to it`;
    const result = validateMaterial({
      certificates: decoded.certificates,
      key,
      serverNames: [body.serverName?.trim() || pending?.serverName || this.options.serverName],
      now: this.now(),
      trustedRoots: trustedRoots(),
      noKeyHint,
    });
    return { result, findings: result.findings, key, ...(pending ? { requestId: pending.id } : {}) };
  }

  async validate(body: LoadCertificateRequest): Promise<ValidationReport> {
    const { result, findings, requestId } = await this.examine(body);
    const leaf = result?.chain[0];
    return {
      ok: errorsOf(findings).length === 0,
      errors: errorsOf(findings),
      warnings: warningsOf(findings),
      leaf: leaf
        ? { subject: subjectOf(leaf), issuer: leaf.issuer.split('\n').join(', '), subjectAltName: leaf.subjectAltName ?? null, notAfter: new Date(leaf.validTo).toISOString(), fingerprintSha256: leaf.fingerprint256 }
        : null,
      chain: result?.chain.slice(1).map(subjectOf) ?? [],
      ...(requestId ? { requestId } : {}),
    };
  }

  /** Stores a loaded certificate as a new version; a load with any error changes nothing. */
  load(body: LoadCertificateRequest, origin?: 'acme'): Promise<LoadOutcome> {
    return this.exclusive(async () => {
      const { result, findings, key, requestId } = await this.examine(body);
      const errors = errorsOf(findings);
      const warnings = warningsOf(findings);
      if (!result || errors.length > 0 || !key) {
        this.log.warn({ errors: errors.map((item) => item.code), warnings: warnings.map((item) => item.code) }, 'certificate load rejected');
        throw new CertificateError('VALIDATION_FAILED', `the certificate was not stored: ${errors.map((item) => item.message).join('; ')}`, { errors, warnings });
      }
      const certificatePem = result.chain.map((certificate) => certificate.toString()).join('');
      const privateKeyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
      const stored = await this.options.store.save(
        { certificatePem, privateKeyPem },
        { origin: origin ?? (requestId ? 'csr' : 'loaded'), warnings, ...(requestId ? { requestId } : {}) },
      );
      // The key now lives with its certificate; the pending copy has done its job.
      if (requestId) await this.options.store.removeRequest(requestId);
      this.log.info(
        { certificate: { id: stored.id, subject: stored.subject, issuer: stored.issuer, fingerprintSha256: stored.fingerprintSha256 }, warnings: warnings.map((item) => item.code), requestId },
        'certificate loaded',
      );
      if (body.activate) await this.activateStored(stored.id);
      return { certificate: this.listed(stored), warnings, ...(requestId ? { requestId } : {}) };
    });
  }

  activate(id: string): Promise<{ certificate: ListedCertificate; previousId: string | null }> {
    return this.exclusive(async () => {
      const previousId = this.bundle?.id ?? null;
      // "active" names the active certificate: activating it again changes nothing.
      const resolved = this.resolveId(id);
      const meta = await this.options.store.get(resolved);
      if (previousId !== resolved) await this.activateStored(resolved);
      this.log.info({ certificate: summarizeBundle(this.bundle!), previousId }, 'certificate activated');
      return { certificate: this.listed(meta), previousId };
    });
  }

  /**
   * Serves a certificate beside the active one: it must have a key of the
   * other kind (ECDSA beside RSA or the reverse); each client's signature
   * algorithms pick one. Replaces any certificate active alongside before.
   */
  activateAlongside(id: string): Promise<{ certificate: ListedCertificate; previousId: string | null }> {
    return this.exclusive(async () => {
      const bundle = this.bundle;
      if (!bundle) throw new CertificateError('NO_ACTIVE_CERTIFICATE', 'no certificate is active: activate one first');
      const meta = await this.options.store.get(id);
      const activeMeta = await this.options.store.get(bundle.id);
      if (id === bundle.id) throw new CertificateError('ALREADY_ACTIVE', `certificate ${id} is the active certificate already`);
      if (keyFamilyOf(meta.keyType) === keyFamilyOf(activeMeta.keyType)) {
        throw new CertificateError(
          'SAME_KEY_KIND',
          `certificate ${id} has a ${meta.keyType} key like the active certificate (${activeMeta.keyType}); only a key of the other kind can be served alongside it. Activate it instead to replace the active certificate`,
        );
      }
      const previousId = this.alongside?.id ?? null;
      if (previousId !== id) {
        await this.options.store.setAlongside(id);
        this.alongside = await this.options.store.loadAlongside();
        this.lastAlongsideExpiryNotice = null;
        this.checkExpiry();
        void this.announce();
      }
      this.log.info({ certificate: summarizeBundle(this.alongside!), active: bundle.id, previousId }, 'certificate activated alongside the active one');
      return { certificate: this.listed(meta), previousId };
    });
  }

  /** Stops serving the certificate active alongside; the active certificate itself can only be replaced. */
  deactivate(id: string): Promise<{ certificate: ListedCertificate }> {
    return this.exclusive(async () => {
      const meta = await this.options.store.get(id);
      if (id === this.bundle?.id) throw new CertificateError('CERTIFICATE_ACTIVE', `certificate ${id} is the active certificate; activate another one to replace it`);
      if (id !== this.alongside?.id) throw new CertificateError('NOT_ACTIVE', `certificate ${id} is not active`);
      await this.options.store.setAlongside(null);
      this.alongside = null;
      void this.announce();
      this.log.info({ certificateId: id }, 'certificate no longer active alongside');
      return { certificate: this.listed(meta) };
    });
  }

  remove(id: string): Promise<void> {
    return this.exclusive(async () => {
      // "active" resolves like any id, so deleting it is refused as deleting the active certificate is.
      const resolved = this.resolveId(id);
      await this.options.store.remove(resolved);
      this.log.info({ certificateId: resolved }, 'certificate deleted');
    });
  }

  /** The compatible stunnel files: leaf and chain, and (only when asked for) the key. */
  async exportPair(id: string): Promise<{ id: string; certificatePem: string; privateKeyPem: string }> {
    const resolved = this.resolveId(id);
    const bundle = await this.options.store.load(resolved);
    return { id: resolved, certificatePem: bundle.certificatePem, privateKeyPem: bundle.privateKeyPem };
  }
}
