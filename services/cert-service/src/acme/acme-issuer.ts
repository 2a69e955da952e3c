import { randomBytes, randomInt, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import acme from 'acme-client';
import type { KeyType } from '@st/contracts';
import type { Logger } from '@st/logging';
import { writeFileAtomic } from '@st/service-kit';
import type { KeySealer } from '../at-rest.js';
import type { CertManager } from '../cert-manager.js';
import { AcmeAccount } from './acme-account.js';
import { CertificateError } from '../errors.js';
import { describeAcmeProblem, describeRequestFailure, isTransient, type AcmeProblem } from './acme-problems.js';
import { expiryWarning, firstOrderWaitMs, renewalDue, renewalTime, retryDelayMs } from './acme-schedule.js';
import type { AcmeChallengeType, AcmeSettings } from './acme-env.js';
import type { ChallengeBoard } from './challenge-board.js';
import { retryAfterMs } from './renewal-info.js';
import { RenewalInfoTracker, type RenewalInfoStatus } from './renewal-info-tracker.js';

export type AcmeOrderState = 'pending' | 'valid' | 'invalid';

/** One order as operators see it (GET /acme/orders): what, why, how far, and in plain words what went wrong. */
export interface AcmeOrderRecord {
  id: string;
  names: string[];
  challenge: AcmeChallengeType;
  directoryUrl: string;
  /** start: no ACME certificate active yet; renewal: the active one is due; operator: asked through the API. */
  reason: 'start' | 'renewal' | 'operator';
  /** The certificate is activated once issued (an operator may ask for it only to be stored). */
  activate: boolean;
  state: AcmeOrderState;
  step: string;
  createdAt: string;
  updatedAt: string;
  error?: string;
  certificateId?: string;
  notAfter?: string;
  /**
   * Names the CA did not validate for this order because it still held a
   * valid authorization from an earlier one (Let's Encrypt keeps them for
   * 30 days): no challenge was published and no gateway was asked.
   */
  alreadyValidated?: string[];
}

export interface AcmeStatus {
  directoryUrl: string;
  email: string | null;
  challenge: AcmeChallengeType;
  names: string[];
  accountUrl: string | null;
  termsOfServiceUrl: string | null;
  /** When the next order starts by itself (renewal or retry); null while one runs. */
  nextOrderAt: string | null;
  failures: number;
  lastError: string | null;
  warnings: string[];
  /** What the CA said about when to renew (ARI), if it says anything. */
  renewalInfo: RenewalInfoStatus;
}

export interface AcmeIssuerOptions {
  settings: AcmeSettings;
  serverName: string;
  keyType?: KeyType;
  dataDir: string;
  sealer: KeySealer | null;
  manager: CertManager;
  board: ChallengeBoard;
  logger: Logger;
  now?: () => Date;
  /** Longest sleep between two looks at the active certificate (tests shorten it). */
  maxSleepMs?: number;
  /** When a gateway last fetched the certificate bundle (Date.now()): the first order waits for one (firstOrderWaitMs). */
  bundleFetchedAt?: () => number | null;
}

/** How long the first order waits for a gateway at most, and how long after one appeared. */
const firstOrderMaxWaitMs = 60_000;
const gatewaySettleMs = 3000;


/** Orders kept in orders.json for the API. */
const keptOrders = 50;
const hourMs = 3_600_000;

/**
 * Gets certificates from an ACME CA (RFC 8555) with acme-client and keeps
 * them fresh: orders at start while no ACME certificate for the names is
 * active, renews when due (acme-schedule), retries failures with backoff and
 * jitter. A certificate it gets is stored and activated like any other
 * (origin acme), so gateways swap it in through the usual announcement.
 * The challenges are answered by the gateways, from the board.
 */
export class AcmeIssuer {
  private settings: AcmeSettings;
  private readonly log: Logger;
  private readonly now: () => Date;
  private records: AcmeOrderRecord[] = [];
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;
  private lastError: string | null = null;
  private retryAt: Date | null = null;
  private nextAt: Date | null = null;
  private readonly account: AcmeAccount;
  /** What the last look found: the active certificate is this CA's, for every name (health reads it without I/O). */
  private activeFromAcme = false;
  private readonly renewalInfo: RenewalInfoTracker;
  /** The active certificate's ARI identifier while the CA offers renewal information: a renewal order names it (`replaces`). */
  private replaces: string | null = null;
  /** The certificate a CA refused to see named as replaced: not named again. */
  private replacesRefused: string | null = null;
  /** Changed by a reconfiguration, an order or a stop: a renewal check that awaited across one decides nothing. */
  private generation = 0;
  private startedAt = Date.now();

  constructor(private readonly options: AcmeIssuerOptions) {
    this.settings = options.settings;
    this.log = options.logger.child({ component: 'acme' });
    this.now = options.now ?? (() => new Date());
    this.account = new AcmeAccount(options.dataDir, options.sealer, () => this.settings);
    this.renewalInfo = new RenewalInfoTracker((url) => this.account.get(url), this.log);
  }

  get names(): string[] {
    return [...new Set([this.options.serverName.toLowerCase(), ...this.settings.extraNames])];
  }

  async start(): Promise<void> {
    await mkdir(join(this.options.dataDir, 'acme'), { recursive: true, mode: 0o700 });
    this.records = await this.readRecords();
    // An order cut off by a restart did not finish: say so rather than show it pending for ever.
    for (const record of this.records) {
      if (record.state === 'pending') Object.assign(record, { state: 'invalid', step: 'interrupted', error: 'cert-service stopped before the order finished' });
    }
    this.startedAt = Date.now();
    this.schedule(this.settleMs());
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  orders(): AcmeOrderRecord[] {
    return [...this.records].reverse();
  }

  order(id: string): AcmeOrderRecord | null {
    return this.records.find((record) => record.id === id) ?? null;
  }

  /** Gateways are to watch their HTTPS ClientHellos for TLS-ALPN-01 validations. */
  get answersTlsAlpn(): boolean {
    return this.settings.challenge === 'tls-alpn-01';
  }

  get busy(): boolean {
    return this.running !== null;
  }

  status(): AcmeStatus {
    const warnings: string[] = [];
    const active = this.options.manager.active;
    const fromAcme = this.activeFromAcme;
    if (active && !fromAcme && this.lastError) warnings.push(`no certificate from the ACME CA yet: ${this.lastError}`);
    if (active && fromAcme && this.lastError) warnings.push(`renewal failed: ${this.lastError}`);
    const expiry = active ? expiryWarning(new Date(active.notAfter), this.now()) : null;
    if (expiry && this.failures > 0) warnings.push(expiry);
    return {
      directoryUrl: this.settings.directoryUrl,
      email: this.settings.email,
      challenge: this.settings.challenge,
      names: this.names,
      accountUrl: this.account.accountUrl,
      termsOfServiceUrl: this.account.termsUrl,
      nextOrderAt: this.running ? null : (this.nextAt?.toISOString() ?? null),
      failures: this.failures,
      lastError: this.lastError,
      warnings,
      renewalInfo: this.renewalInfo.status(),
    };
  }

  /** Starts an order now (renew now); the record is returned at once and updated as it goes. */
  orderNow(reason: AcmeOrderRecord['reason'] = 'operator', activate = true): AcmeOrderRecord {
    if (this.running) throw new Error('an order is already running');
    this.generation++;
    const record: AcmeOrderRecord = {
      id: `order-${this.now().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`,
      names: this.names,
      challenge: this.settings.challenge,
      directoryUrl: this.settings.directoryUrl,
      reason,
      activate,
      state: 'pending',
      step: 'starting',
      createdAt: this.now().toISOString(),
      updatedAt: this.now().toISOString(),
    };
    this.records.push(record);
    if (this.records.length > keptOrders) this.records.splice(0, this.records.length - keptOrders);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.writeRecords();
    this.running = this.run(record)
      // run() handles every failure of the order; this is a bug's last stop, not the process's.
      .catch((error: Error) => this.log.error({ err: error, order: record.id }, 'ACME order ended unexpectedly'))
      .finally(() => {
        this.running = null;
        void this.writeRecords();
        if (!this.stopped) void this.planNext();
      });
    return record;
  }

  /** Waits for the running order, if any (tests, shutdown). */
  async settled(): Promise<void> {
    await this.running;
  }

  /** A new directory, contact or challenge (PUT /acme): used from the next order; kept across restarts by the caller. */
  reconfigure(settings: AcmeSettings): void {
    const newCa = settings.directoryUrl !== this.settings.directoryUrl;
    this.settings = settings;
    if (newCa) {
      this.account.forget();
      this.renewalInfo.forget();
      this.replaces = null;
    }
    this.failures = 0;
    this.lastError = null;
    this.retryAt = null;
    this.generation++;
    if (!this.running) this.schedule(this.settleMs());
  }

  /**
   * A first order waits this long after a start or a change: gateways learn
   * from the announced bundle that they are to answer TLS-ALPN-01 (HTTP-01
   * answers need no such notice).
   */
  private settleMs(): number {
    return this.settings.challenge === 'tls-alpn-01' ? 3000 : 0;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const sleep = Math.max(0, Math.min(delayMs, this.options.maxSleepMs ?? hourMs));
    this.nextAt = new Date(this.now().getTime() + delayMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.planNext();
    }, sleep);
    this.timer.unref();
  }

  /** Looks at the active certificate: orders when due (or the retry time came), else sleeps until then. */
  private async planNext(): Promise<void> {
    if (this.stopped || this.running) return;
    const generation = this.generation;
    try {
      const now = this.now();
      const active = this.options.manager.active;
      const fromAcme = active ? await this.activeIsFromAcme() : false;
      const lifetimeDue = active ? renewalTime({ notBefore: new Date(active.notBefore), notAfter: new Date(active.notAfter), fromAcme }, this.settings.renewDaysBefore) : new Date(0);
      // A CA that says when it wants renewal (ARI) is followed; days set by the operator can only bring it forward.
      const suggested = active && fromAcme ? await this.renewalInfo.renewAt(this.settings.directoryUrl, active.certificatePem, now) : null;
      // Stopped, reconfigured or an order started while this looked: the next look decides.
      if (this.stopped || this.running || generation !== this.generation) return;
      this.replaces = suggested?.certificateId ?? null;
      const due = active && fromAcme ? renewalDue(lifetimeDue, suggested?.at ?? null, new Date(active.notAfter), this.settings.renewDaysBefore !== null) : lifetimeDue;
      const at = this.retryAt && this.retryAt > due ? this.retryAt : due;
      if (at.getTime() <= now.getTime()) {
        // The very first certificate: not before a gateway is there to answer the CA.
        const wait = !fromAcme && this.failures === 0 && this.options.bundleFetchedAt ? firstOrderWaitMs(Date.now(), this.startedAt, this.options.bundleFetchedAt(), gatewaySettleMs, firstOrderMaxWaitMs) : 0;
        if (wait > 0) {
          this.schedule(wait);
          return;
        }
        this.orderNow(fromAcme ? 'renewal' : 'start');
        return;
      }
      this.schedule(at.getTime() - now.getTime());
    } catch (error) {
      // A change meanwhile scheduled its own look.
      if (this.stopped || generation !== this.generation) return;
      this.log.error({ err: error }, 'ACME renewal check failed; looking again in a minute');
      this.schedule(60_000);
    }
  }

  /** The active certificate came from ACME and covers every name wanted. */
  private async activeIsFromAcme(): Promise<boolean> {
    const active = this.options.manager.active;
    let fromAcme = false;
    if (active) {
      const shown = await this.options.manager.show(active.id);
      const covered = new Set(shown.subjectAltNames.map((entry) => entry.replace(/^(?:DNS|IP Address):/i, '').toLowerCase()));
      fromAcme = shown.origin === 'acme' && this.names.every((name) => covered.has(name));
    }
    this.activeFromAcme = fromAcme;
    return fromAcme;
  }

  private update(record: AcmeOrderRecord, fields: Partial<AcmeOrderRecord>): void {
    Object.assign(record, fields, { updatedAt: this.now().toISOString() });
  }

  /**
   * A renewal names the certificate it replaces when the CA offers renewal
   * information (RFC 9773 §5), so the CA can lift rate limits for it. A CA
   * that refuses the order for that (the certificate was replaced already,
   * or another account got it: a lost account key, a restored backup) gets
   * it again without the name, and later orders for that certificate leave
   * it out; a refusal that is about the CA's state (rate limit, nonce,
   * outage) is the order's failure as it is.
   */
  private async createOrder(client: acme.Client, record: AcmeOrderRecord): Promise<acme.Order> {
    const identifiers = record.names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
    const replaces = record.reason === 'renewal' && this.replaces !== this.replacesRefused ? this.replaces : null;
    if (!replaces) return client.createOrder({ identifiers });
    const asked = Date.now();
    try {
      return await client.createOrder({ identifiers, replaces } as Parameters<acme.Client['createOrder']>[0]);
    } catch (error) {
      const problem = this.account.problemSince(asked);
      if (!problem || /:(?:rateLimited|badNonce|serverInternal)$/.test(problem)) throw error;
      this.replacesRefused = replaces;
      this.log.info({ order: record.id, replaces, problem }, 'the CA refused an order that names the certificate it replaces; ordering without the name');
      return client.createOrder({ identifiers });
    }
  }

  private async run(record: AcmeOrderRecord): Promise<void> {
    const challengeType = record.challenge;
    const started = Date.now();
    const withdraw: Array<() => void> = [];
    let requestId: string | null = null;
    let currentName: string | undefined;
    let client: acme.Client | null = null;
    let order: acme.Order | null = null;
    try {
      this.log.info({ order: record.id, names: record.names, challenge: challengeType, directory: record.directoryUrl, reason: record.reason }, 'ACME order started');
      this.update(record, { step: 'registering the account' });
      client = await this.account.client();
      this.update(record, { step: 'ordering' });
      order = await this.createOrder(client, record);
      const authorizations = await client.getAuthorizations(order);
      this.update(record, { step: 'answering challenges' });
      for (const authorization of authorizations) {
        currentName = authorization.identifier.value;
        if (authorization.status === 'valid') {
          this.update(record, { alreadyValidated: [...(record.alreadyValidated ?? []), currentName] });
          this.log.info({ order: record.id, name: currentName }, 'ACME: the CA already holds a valid authorization for this name (an earlier validation is reused); no challenge to answer');
          continue;
        }
        const challenge = authorization.challenges.find((candidate) => candidate.type === challengeType);
        if (!challenge) throw new Error(`the CA offers no ${challengeType} challenge for ${currentName} (it offers ${authorization.challenges.map((c) => c.type).join(', ') || 'none'}); set ACME_CHALLENGE to another kind`);
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
        if (challengeType === 'http-01') {
          this.options.board.publishHttp(challenge.token, keyAuthorization);
          withdraw.push(() => this.options.board.withdrawHttp(challenge.token));
        } else {
          const [key, certificate] = await acme.crypto.createAlpnCertificate(authorization, keyAuthorization);
          const name = currentName;
          this.options.board.publishAlpn(name, { certificatePem: certificate.toString(), privateKeyPem: key.toString() });
          withdraw.push(() => this.options.board.withdrawAlpn(name));
        }
        this.log.info({ order: record.id, name: currentName, challenge: challengeType, token: challenge.token }, 'ACME challenge published; asking the CA to validate');
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      }
      currentName = undefined;
      this.update(record, { step: 'finalizing' });
      // The names of this order, not of the settings (which a PUT may have changed meanwhile).
      const [commonName = this.options.serverName, ...altNames] = record.names;
      const { request, csrPem } = await this.options.manager.createRequest({
        serverName: commonName,
        ...(altNames.length > 0 ? { altNames } : {}),
        ...(this.options.keyType ? { keyType: this.options.keyType } : {}),
      });
      requestId = request.id;
      order = await client.finalizeOrder(order, csrPem);
      this.update(record, { step: 'downloading the certificate' });
      const chainPem = await client.getCertificate(order);
      this.update(record, { step: 'activating' });
      const outcome = await this.options.manager.load({ certificate: chainPem, activate: record.activate }, 'acme');
      requestId = null;
      const notAfter = new X509Certificate(chainPem).validTo;
      this.update(record, { state: 'valid', step: 'done', certificateId: outcome.certificate.id, notAfter: new Date(notAfter).toISOString() });
      this.failures = 0;
      this.lastError = null;
      this.retryAt = null;
      this.log.info({ order: record.id, certificateId: outcome.certificate.id, notAfter: record.notAfter, activated: record.activate }, record.activate ? 'ACME certificate issued and activated' : 'ACME certificate issued and stored (not activated, as asked)');
    } catch (error) {
      const { reason, transient } = await this.explain(error as Error, client, order, currentName, challengeType);
      this.failures++;
      this.lastError = reason;
      this.account.drop();
      const delay = retryDelayMs(this.failures, randomInt(0, 1_000_000) / 1_000_000, transient, retryAfterMs(this.account.retryAfterSince(started), this.now()));
      this.retryAt = new Date(this.now().getTime() + delay);
      // Shown at once (GET /acme, health); the renewal check that follows the order schedules it.
      this.nextAt = this.retryAt;
      if (requestId) await this.options.manager.removeRequest(requestId).catch(() => undefined);
      // Last, with no wait behind it: whoever sees the order failed sees the issuer done with it (the retry time set).
      this.update(record, { state: 'invalid', step: 'failed', error: reason });
      this.log.warn({ order: record.id, reason, failures: this.failures, retryAt: this.retryAt.toISOString() }, 'ACME order failed; the active certificate is unchanged');
    } finally {
      for (const step of withdraw) step();
    }
  }

  /**
   * The failure in an operator's words: the CA's problem for a challenge, or
   * what kept the request from the CA; `transient`: it may pass by itself
   * (the CA's rate limit or an outage, a network error), else it needs a
   * change (DNS, firewall, settings) and retries are spaced out.
   */
  private async explain(error: Error, client: acme.Client | null, order: acme.Order | null, name: string | undefined, challenge: AcmeChallengeType): Promise<{ reason: string; transient: boolean }> {
    if (client && order && name) {
      try {
        const authorizations = await client.getAuthorizations(order);
        const authorization = authorizations.find((candidate) => candidate.identifier.value === name);
        const failed = authorization?.challenges.find((candidate) => candidate.type === challenge && (candidate as { error?: AcmeProblem }).error);
        const problem = (failed as { error?: AcmeProblem } | undefined)?.error;
        if (problem) return { reason: describeAcmeProblem(problem, { name, challenge }), transient: isTransient(problem) };
      } catch {
        // The CA cannot be asked: the error itself is all there is.
      }
    }
    if (error instanceof CertificateError) return { reason: `the issued certificate could not be stored: ${error.message}`, transient: false };
    return describeRequestFailure(error, this.settings.directoryUrl, { name, orderStarted: order !== null });
  }

  private recordsPath(): string {
    return join(this.options.dataDir, 'acme', 'orders.json');
  }

  private async readRecords(): Promise<AcmeOrderRecord[]> {
    try {
      const parsed = JSON.parse(await readFile(this.recordsPath(), 'utf8')) as unknown;
      return Array.isArray(parsed) ? (parsed as AcmeOrderRecord[]) : [];
    } catch {
      return [];
    }
  }

  private async writeRecords(): Promise<void> {
    try {
      await writeFileAtomic(this.recordsPath(), `${JSON.stringify(this.records, null, 2)}\n`, 0o600);
    } catch (error) {
      this.log.warn({ err: error }, 'could not write the ACME order list');
    }
  }
}
