import { randomInt } from 'node:crypto';
import type { Logger } from '@st/logging';
import { x509 } from '../x509.js';
import { ariCertificateId, ariMinCheckMs, parseRenewalInfo, renewalTimeInWindow, type RenewalInfo } from './renewal-info.js';

/** An HTTP GET as the ACME client makes it (same trust and timeout); any status resolves. */
export type AcmeGet = (url: string) => Promise<{ status: number; data: unknown; headers: Record<string, unknown> }>;

/** What operators see of ARI in GET /acme. */
export interface RenewalInfoStatus {
  /** The CA's directory offers renewal information (null: not asked yet). */
  offered: boolean | null;
  window: { start: string; end: string } | null;
  explanationUrl: string | null;
  /** The moment chosen in the window to renew at. */
  renewAt: string | null;
  checkAgainAt: string | null;
  /** Why the last look failed (renewal then follows the lifetime rule). */
  error: string | null;
}

/**
 * Asks the CA when it wants the active certificate renewed (RFC 9773), at
 * the pace the CA sets, and keeps the moment chosen in its window while the
 * window stays the same. CAs that offer no renewalInfo in their directory
 * (Pebble, many private CAs) are asked nothing more; renewal then follows
 * the lifetime rule, as it does whenever an answer cannot be had.
 */
export class RenewalInfoTracker {
  private directory: { url: string; renewalInfo: string | null } | null = null;
  private current: { certificateId: string; info: RenewalInfo; renewAt: Date } | null = null;
  private lastError: { certificateId: string; message: string; retryAt: Date } | null = null;
  /** Changed by forget(): an answer of the CA used before is dropped, not stored. */
  private generation = 0;

  constructor(
    private readonly get: AcmeGet,
    private readonly log: Logger,
  ) {}

  /**
   * When the CA wants the certificate in `certificatePem` renewed, and its ARI
   * identifier (for the new order's `replaces`); null when the CA offers no
   * renewal information or it cannot be had now (the reason is in status()).
   */
  async renewAt(directoryUrl: string, certificatePem: string, now: Date): Promise<{ at: Date; certificateId: string } | null> {
    let certificateId = '';
    let current: typeof this.current = null;
    const generation = this.generation;
    try {
      certificateId = certificateIdOf(certificatePem);
      current = this.current?.certificateId === certificateId ? this.current : null;
      if (current && now < current.info.checkAgainAt) return { at: current.renewAt, certificateId };
      if (this.lastError?.certificateId === certificateId && now < this.lastError.retryAt) return current ? { at: current.renewAt, certificateId } : null;
      const endpoint = await this.endpoint(directoryUrl, generation);
      if (!endpoint || generation !== this.generation) return null;
      const response = await this.get(`${endpoint.replace(/\/$/, '')}/${certificateId}`);
      if (generation !== this.generation) return null;
      if (response.status !== 200) throw new Error(`the CA answered HTTP ${response.status} for the certificate's renewal information`);
      const retryAfter = response.headers['retry-after'];
      const info = parseRenewalInfo(response.data, typeof retryAfter === 'string' ? retryAfter : null, now);
      // The same window as before keeps its moment: choosing anew at every look would drift towards the start.
      const kept = current && current.info.window.start.getTime() === info.window.start.getTime() && current.info.window.end.getTime() === info.window.end.getTime() ? current.renewAt : null;
      const sameWindow = kept !== null;
      const renewAt = kept ?? renewalTimeInWindow(info.window, randomInt(0, 1_000_000) / 1_000_000);
      if (!sameWindow) {
        this.log.info(
          { window: { start: info.window.start.toISOString(), end: info.window.end.toISOString() }, renewAt: renewAt.toISOString(), ...(info.explanationUrl ? { explanation: info.explanationUrl } : {}) },
          'the ACME CA suggested when to renew the active certificate',
        );
      }
      this.current = { certificateId, info, renewAt };
      this.lastError = null;
      return { at: renewAt, certificateId };
    } catch (error) {
      if (generation !== this.generation) return null;
      const message = (error as Error).message;
      if (this.lastError?.message !== message) this.log.warn({ reason: message }, 'the ACME CA\'s renewal information cannot be had; renewal follows the certificate\'s lifetime until it can');
      this.lastError = { certificateId, message, retryAt: new Date(now.getTime() + ariMinCheckMs) };
      return current ? { at: current.renewAt, certificateId } : null;
    }
  }

  /** A new directory: nothing known about it yet. */
  forget(): void {
    this.generation++;
    this.directory = null;
    this.current = null;
    this.lastError = null;
  }

  status(): RenewalInfoStatus {
    const current = this.current;
    return {
      offered: this.directory ? this.directory.renewalInfo !== null : null,
      window: current ? { start: current.info.window.start.toISOString(), end: current.info.window.end.toISOString() } : null,
      explanationUrl: current?.info.explanationUrl ?? null,
      renewAt: current?.renewAt.toISOString() ?? null,
      checkAgainAt: current?.info.checkAgainAt.toISOString() ?? null,
      error: this.lastError?.message ?? null,
    };
  }

  /** The directory's renewalInfo URL (RFC 9773 §3), read once per directory; null when it has none. */
  private async endpoint(directoryUrl: string, generation: number): Promise<string | null> {
    if (this.directory?.url === directoryUrl) return this.directory.renewalInfo;
    const response = await this.get(directoryUrl);
    if (generation !== this.generation) return null;
    if (response.status !== 200) throw new Error(`the ACME directory ${directoryUrl} answered HTTP ${response.status}`);
    // A maintenance page is no directory: asked again later, not taken for one without renewal information.
    if (typeof response.data !== 'object' || response.data === null) throw new Error(`the ACME directory ${directoryUrl} did not answer with a directory`);
    const renewalInfo = (response.data as { renewalInfo?: unknown } | null)?.renewalInfo;
    this.directory = { url: directoryUrl, renewalInfo: typeof renewalInfo === 'string' && /^https?:\/\//.test(renewalInfo) ? renewalInfo : null };
    if (this.directory.renewalInfo) this.log.info({ directory: directoryUrl }, 'the ACME CA offers renewal information (ARI): renewal follows its suggested windows');
    return this.directory.renewalInfo;
  }
}

/** The ARI identifier of the first certificate in a PEM chain. */
export function certificateIdOf(certificatePem: string): string {
  const first = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(certificatePem);
  if (!first) throw new Error('the active certificate is not PEM');
  const certificate = new x509.X509Certificate(first[0]);
  const authorityKey = certificate.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!authorityKey?.keyId) throw new Error('the certificate has no authority key identifier, which renewal information needs');
  return ariCertificateId(authorityKey.keyId, certificate.serialNumber);
}
