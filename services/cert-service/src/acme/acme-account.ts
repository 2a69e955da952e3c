import { mkdir, readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { KeySealer } from '../at-rest.js';
import { writeFileAtomic } from '@st/service-kit';
import type { AcmeSettings } from './acme-env.js';

/** Longest wait for one answer of the CA. */
const requestTimeoutMs = 30_000;

/**
 * The ACME account key: made once, kept in the store directory like the
 * certificates' keys (mode 0600, sealed when the store is encrypted). The
 * account itself lives at the CA; the key is what identifies it, so losing it
 * only means registering again.
 */
export async function loadOrCreateAccountKey(dataDir: string, sealer: KeySealer | null): Promise<string> {
  const path = join(dataDir, 'acme', 'account-key.pem');
  const context = 'acme account key';
  try {
    const stored = await readFile(path, 'utf8');
    return sealer && !stored.startsWith('-----BEGIN') ? sealer.open(stored, context) : stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  await mkdir(join(dataDir, 'acme'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, sealer ? sealer.seal(key, context) : key, 0o600);
  return key;
}

/**
 * The account at the CA in use, and how cert-service talks to that CA
 * (acme-client's HTTP client: trust, timeout). Registered (terms agreed) once
 * per directory, then reused; a new contact address is sent as an account
 * update. Dropped after a failed order, so that an account the CA forgot is
 * registered again.
 */
export class AcmeAccount {
  accountUrl: string | null = null;
  termsUrl: string | null = null;
  private cached: { client: acme.Client; directoryUrl: string; email: string | null } | null = null;
  /** The CA's last Retry-After on a refused request (rate limits, outages), and when it came (Date.now()). */
  private retryAfter: { header: string; at: number } | null = null;
  private interceptorInstalled = false;

  constructor(
    private readonly dataDir: string,
    private readonly sealer: KeySealer | null,
    private readonly settings: () => AcmeSettings,
  ) {}

  async client(): Promise<acme.Client> {
    const settings = this.settings();
    const cached = this.cached;
    if (cached && cached.directoryUrl === settings.directoryUrl) {
      if (settings.email && cached.email !== settings.email) {
        await cached.client.updateAccount({ contact: [`mailto:${settings.email}`] });
        cached.email = settings.email;
      }
      return cached.client;
    }
    const accountKey = await loadOrCreateAccountKey(this.dataDir, this.sealer);
    await this.trust();
    const client = new acme.Client({ directoryUrl: settings.directoryUrl, accountKey, backoffAttempts: 20, backoffMin: 500, backoffMax: 5000 });
    this.termsUrl ??= (await client.getTermsOfServiceUrl().catch(() => null)) ?? null;
    try {
      await client.createAccount({ termsOfServiceAgreed: true, ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}) });
    } catch (error) {
      // The key's account exists already: acme-client then sends an update, which a CA refuses when there is
      // nothing to update (no contact address). The account URL it learnt is all that is needed.
      if (!knownAccountUrl(client)) throw error;
    }
    this.accountUrl = client.getAccountUrl();
    this.cached = { client, directoryUrl: settings.directoryUrl, email: settings.email };
    return client;
  }

  /** After a failed order: registered again before the next. */
  drop(): void {
    this.cached = null;
  }

  /** Another CA: nothing of this one's account applies. */
  forget(): void {
    this.cached = null;
    this.accountUrl = null;
    this.termsUrl = null;
  }

  /** A GET to the CA as acme-client makes it (same trust and timeout); any status resolves. */
  async get(url: string): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> {
    await this.trust();
    const response = await acme.axios.get(url, { validateStatus: () => true });
    return { status: response.status, data: response.data as unknown, headers: response.headers as Record<string, unknown> };
  }

  /** The CA's Retry-After on a refusal since `since` (Date.now()), if it sent one. */
  retryAfterSince(since: number): string | null {
    return this.retryAfter && this.retryAfter.at >= since ? this.retryAfter.header : null;
  }

  /** A private CA's directory (ACME_CA_FILE) is trusted beside the public roots. */
  private async trust(): Promise<void> {
    const caFile = this.settings().caFile;
    const extra = caFile ? await readFile(caFile, 'utf8') : null;
    acme.axios.defaults.httpsAgent = new Agent({ ca: extra ? [...rootCertificates, extra] : [...rootCertificates], keepAlive: true });
    // A CA that stops answering must not hold the order (and every renewal after it) for ever.
    acme.axios.defaults.timeout = requestTimeoutMs;
    if (!this.interceptorInstalled) {
      this.interceptorInstalled = true;
      // acme-client reads every answer itself; its errors lose the headers, so a refusal's Retry-After is noted here.
      acme.axios.interceptors.response.use((response) => {
        const retryAfter = response.headers['retry-after'];
        if (response.status >= 400 && typeof retryAfter === 'string') this.retryAfter = { header: retryAfter, at: Date.now() };
        return response;
      });
    }
  }
}

function knownAccountUrl(client: acme.Client): string | null {
  try {
    return client.getAccountUrl();
  } catch {
    return null;
  }
}
