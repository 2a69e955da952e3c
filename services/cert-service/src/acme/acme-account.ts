import { mkdir, readFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { Agent, get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import type { KeySealer } from '../at-rest.js';
import { writeFileAtomic } from '@st/service-kit';
import type { AcmeSettings } from './acme-env.js';
import { describeRequestFailure } from './acme-problems.js';

/** Longest wait for one answer of the CA. */
const requestTimeoutMs = 30_000;
/** RFC 8555 §6.1: ACME clients send a User-Agent. */
const userAgent = 'secure-transfers-cert-service';

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
 * What the CA last said when refusing a request (status 400 and up) through acme-client, and when (Date.now()):
 * its last Retry-After (a later refusal without one does not erase it) and its last problem type.
 */
let lastRetryAfter: { header: string; at: number } | null = null;
let lastProblem: { type: string; at: number } | null = null;
let refusalsNoted = false;

/** acme-client reads every answer itself and its errors lose the headers and the problem type: they are noted here. */
function noteRefusals(): void {
  if (refusalsNoted) return;
  refusalsNoted = true;
  acme.axios.interceptors.response.use((response) => {
    if (response.status >= 400) {
      const retryAfter = response.headers['retry-after'];
      const type = (response.data as { type?: unknown } | null)?.type;
      if (typeof retryAfter === 'string') lastRetryAfter = { header: retryAfter, at: Date.now() };
      lastProblem = typeof type === 'string' ? { type, at: Date.now() } : null;
    }
    return response;
  });
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
  private agent: { caFile: string | null; extra: string | null; agent: Agent } | null = null;

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

  /**
   * One unauthenticated GET to the CA (its directory, renewal information)
   * with the same trust and time limit as acme-client's requests, but none of
   * its retries: a CA that is down, or asks to come back in hours, is asked
   * again on the caller's own schedule. Network and trust failures come back
   * in plain words.
   */
  async get(url: string): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> {
    const agent = await this.trust();
    // A directory on loopback may be plain http (a test CA); anything else is https.
    const plain = url.startsWith('http:');
    let deadline: NodeJS.Timeout | undefined;
    try {
      return await new Promise((resolve, reject) => {
        const options = { timeout: requestTimeoutMs, headers: { accept: 'application/json', 'user-agent': userAgent } };
        const onResponse = (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            // A directory or renewal answer is a few hundred bytes; a huge one is no answer of a CA.
            if (size > 256 * 1024) request.destroy(new Error('the answer is larger than 256 KiB'));
            else chunks.push(chunk);
          });
          response.on('end', () => {
            let data: unknown = null;
            try {
              data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              data = null;
            }
            resolve({ status: response.statusCode ?? 0, data, headers: response.headers as Record<string, unknown> });
          });
          response.on('error', reject);
        };
        const request = plain ? httpGet(url, options, onResponse) : httpsGet(url, { ...options, agent }, onResponse);
        const timedOut = () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
        // The socket timeout measures silence; the deadline bounds the whole answer.
        deadline = setTimeout(timedOut, requestTimeoutMs);
        request.on('timeout', timedOut);
        request.on('error', reject);
      });
    } catch (error) {
      const origin = new URL(url).origin;
      throw new Error(describeRequestFailure(error as Error, origin, { orderStarted: false }).reason.replace(`the ACME directory ${origin}`, `the ACME CA at ${origin}`));
    } finally {
      clearTimeout(deadline);
    }
  }

  /** The CA's Retry-After on a refusal since `since` (Date.now()), if it sent one. */
  retryAfterSince(since: number): string | null {
    return lastRetryAfter && lastRetryAfter.at >= since ? lastRetryAfter.header : null;
  }

  /** The problem type (RFC 8555 §6.7) of the CA's last refusal since `since` (Date.now()), if it named one. */
  problemSince(since: number): string | null {
    return lastProblem && lastProblem.at >= since ? lastProblem.type : null;
  }

  /** A private CA's directory (ACME_CA_FILE) is trusted beside the public roots; the agent is made again only when that file changes. */
  private async trust(): Promise<Agent> {
    const caFile = this.settings().caFile;
    const extra = caFile ? await readFile(caFile, 'utf8') : null;
    if (!this.agent || this.agent.caFile !== caFile || this.agent.extra !== extra) {
      this.agent?.agent.destroy();
      this.agent = { caFile, extra, agent: new Agent({ ca: extra ? [...rootCertificates, extra] : [...rootCertificates], keepAlive: true }) };
    }
    acme.axios.defaults.httpsAgent = this.agent.agent;
    // A CA that stops answering must not hold the order (and every renewal after it) for ever.
    acme.axios.defaults.timeout = requestTimeoutMs;
    noteRefusals();
    return this.agent.agent;
  }
}

function knownAccountUrl(client: acme.Client): string | null {
  try {
    return client.getAccountUrl();
  } catch {
    return null;
  }
}
