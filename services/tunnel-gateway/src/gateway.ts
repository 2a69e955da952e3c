import { portMapSchema, type CertificateBundle, type PortMap } from '@st/contracts';
import { listenHttp, type RunningHttpServer } from '@st/service-kit';
import { createGatewayContext, type GatewayConfig, type GatewayContext, type PlainHttpSettings } from './gateway-context.js';
import { gatewayStatus, healthApp, type GatewayStatus } from './health.js';
import type { LinkReport } from './ftp/link-reports.js';
import { openPlainHttpListener, type PlainHttpListener } from './listeners/plain-http-listener.js';
import { Reconciler } from './reconciler.js';
import { StateSync } from './state-sync.js';
import { StatusReporter } from './status-report.js';

export type { GatewayConfig, GatewayStatus };

/**
 * The tunnel gateway: terminates TLS for HTTPS, implicit FTPS control and
 * passive data according to the port map, with the certificate from
 * cert-service. Starts from its disk cache when the owning services are down.
 *
 * The parts: the context (shared I/O and state), the state sync (fetching from
 * config-service and cert-service), the reconciler (port map → listeners, one
 * file per protocol under listeners/), health, and the status reports to
 * config-service.
 */
export class Gateway {
  private readonly context: GatewayContext;
  private readonly reconciler: Reconciler;
  private readonly sync: StateSync;
  private bundleFingerprint: string | null = null;
  /** The certificates the TLS contexts were built from. */
  private loadedCertificates: string | null = null;
  private healthServer: RunningHttpServer | null = null;
  private reporter: StatusReporter | null = null;
  private plainHttp: PlainHttpListener | null = null;
  /** The plain HTTP port's openings and closings, one at a time in the order asked (as the reconciler applies maps). */
  private plainHttpChanges: Promise<void> = Promise.resolve();
  /** Why the plain HTTP port could not be opened, while it cannot; and the timer of the next try. */
  private plainHttpFailure: string | null = null;
  private plainHttpRetry: NodeJS.Timeout | null = null;
  /** A plain HTTP port closed while the tunnel was disabled, letting its passed requests finish. */
  private plainHttpDraining: Promise<void> | null = null;
  private stopping = false;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly config: GatewayConfig) {
    this.context = createGatewayContext(config);
    this.reconciler = new Reconciler(this.context);
    this.sync = new StateSync(this.context, {
      applyBundle: (bundle, from) => this.applyBundle(bundle, from),
      applyPortMap: (portMap, from) => this.applyPortMap(portMap, from),
      bundleChanged: (bundle) => bundleIdentity(bundle) !== this.bundleFingerprint || !this.context.contexts.active,
      portMapChanged: (portMap) => {
        const applied = this.reconciler.appliedPortMap;
        return !applied || JSON.stringify(portMap) !== JSON.stringify(applied);
      },
      eventHandled: () => this.reporter?.report(),
    });
  }

  /** How long removed listeners drain, from the port map in force (0 before the first). */
  get drainMs(): number {
    return this.context.portMap?.timeouts.drainMs ?? 0;
  }

  get healthUrl(): string | null {
    return this.healthServer?.url ?? null;
  }

  async start(): Promise<void> {
    const { logger, redis, cache } = this.context;
    redis.connect().catch((error) => logger.warn({ err: error }, 'redis not reachable yet; retrying'));
    this.context.linkExchange.start((report) => this.routeLinkReport(report));
    if (this.config.health) this.healthServer = await listenHttp(healthApp(() => this.status()), this.config.health.host, this.config.health.port);
    const cached = await cache.load();
    for (const problem of cached.problems) logger.warn(problem);
    if (cached.bundle) this.applyBundle(cached.bundle, 'cache');
    if (cached.portMap) await this.applyPortMap(cached.portMap, 'cache');
    if (cached.bundle || cached.portMap) logger.info({ cacheDir: this.config.cacheDir, ready: this.status().ready }, 'started from cache');
    this.sync.start();
    if (this.config.amqpUrl) {
      this.reporter = new StatusReporter({
        amqpUrl: this.config.amqpUrl,
        ...(this.config.eventsExchange ? { exchange: this.config.eventsExchange } : {}),
        logger,
        identity: { replica: this.config.replica, pid: process.pid, startedAt: this.startedAt, heartbeatMs: this.config.heartbeatMs ?? 15_000 },
        state: () => this.status(),
      });
    }
  }

  /**
   * Stops the gateway. drainMs 0 (the default) cuts every connection at once;
   * otherwise it stops accepting, lets what runs finish for up to drainMs
   * (FTP sessions end with a 421 once their transfer is done, passive ports
   * still take the data connections of transfers being started), then cuts
   * what is left. Leases are released either way.
   */
  async stop(drainMs = 0): Promise<void> {
    if (drainMs > 0) this.context.logger.info({ drainMs, controlSessions: this.context.registry.size, dataConnections: this.context.dataPorts.openLinks }, 'stopping: letting open connections finish');
    await this.reporter?.close({ ...this.status(), status: 'offline', reasons: ['the gateway stopped'] }).catch(() => undefined);
    this.stopping = true;
    await this.sync.stop();
    const plainHttp = this.plainHttp;
    this.plainHttp = null;
    if (this.plainHttpRetry) clearTimeout(this.plainHttpRetry);
    this.plainHttpRetry = null;
    // Requests passed through the plain HTTP port finish within the same drain time as the other ports'.
    await Promise.all([
      plainHttp?.close(drainMs),
      this.plainHttpDraining,
      this.reconciler.closeAll(drainMs, () => {
        for (const session of this.context.registry.all()) session.shutdown();
      }),
    ]);
    this.context.logger.debug({ controlSessions: this.context.registry.size, dataConnections: this.context.dataPorts.openLinks }, 'stopping: every listener closed');
    // Leases of the connections just closed are given back before Redis goes, not left to their TTL.
    const { registry, dataPorts, passivePorts } = this.context;
    const deadline = Date.now() + 2000;
    while ((registry.size > 0 || dataPorts.openLinks > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await passivePorts.releasesDone(2000);
    await this.context.linkExchange.stop();
    await this.healthServer?.close();
    this.context.redis.disconnect();
    this.context.logger.info('gateway stopped');
  }

  /**
   * The plain HTTP port is a public port like the others: opened with the
   * first port map (it listens where the HTTPS port does), closed while the
   * tunnel is disabled, opened again when it is enabled.
   */
  private reconcilePlainHttp(): Promise<void> {
    this.plainHttpChanges = this.plainHttpChanges.then(() => this.reconcilePlainHttpNow());
    return this.plainHttpChanges;
  }

  private async reconcilePlainHttpNow(): Promise<void> {
    const settings = this.config.plainHttp;
    if (!settings || this.stopping) return;
    const wanted = this.context.portMap?.tunnelEnabled === true;
    if (wanted && !this.plainHttp) {
      try {
        await this.openPlainHttp(settings);
        this.plainHttpFailure = null;
      } catch (error) {
        // Tried again every few seconds while it is wanted (a port held by a process that is stopping).
        const reason = (error as Error).message;
        if (reason !== this.plainHttpFailure) this.context.logger.error({ err: error, port: settings.port }, 'the plain HTTP port cannot be opened (ACME HTTP-01 answers and plain HTTP are off); trying again every 5 s');
        this.plainHttpFailure = reason;
        this.plainHttpRetry ??= setTimeout(() => {
          this.plainHttpRetry = null;
          void this.reconcilePlainHttp();
        }, 5000);
      }
    } else if (!wanted && this.plainHttp) {
      const open = this.plainHttp;
      this.plainHttp = null;
      // Requests passed to the file server get the drain time, as on the HTTPS port; a stop cuts what is left.
      this.plainHttpDraining = open.close(this.context.portMap?.timeouts.drainMs ?? 0).finally(() => (this.plainHttpDraining = null));
      this.context.logger.info({ port: open.port }, 'plain HTTP port closed: the tunnel is disabled');
    }
  }

  /** The plain HTTP port listens where the public ports do (GATEWAY_BIND_HOST, else the HTTPS listener's address, else all). */
  private async openPlainHttp(settings: PlainHttpSettings): Promise<void> {
    // The web listener actually running (none while the tunnel is disabled or no certificate is loaded): nothing is passed or redirected past it.
    const web = () => this.reconciler.listeners.find((listener) => listener.spec.protocol === 'http')?.spec ?? null;
    const source = this.config.source;
    const opened = await openPlainHttpListener({
      host: this.config.bindHost ?? web()?.bindHost ?? this.context.portMap?.listeners.find((listener) => listener.protocol === 'http')?.bindHost ?? '0.0.0.0',
      settings,
      webListener: web,
      challengeAnswer: source.fetchHttpChallenge ? (token) => source.fetchHttpChallenge!(token) : null,
      context: this.context,
    });
    // Stopped while it was opening: it closes at once.
    if (this.stopping) await opened.close(0);
    else this.plainHttp = opened;
  }

  /** The plain HTTP port actually bound (0 asked for a free one), or null when off. */
  get plainHttpPort(): number | null {
    return this.plainHttp?.port ?? null;
  }

  /** A report from another gateway process about a data connection: to the control session, or to the link it cuts. */
  private routeLinkReport(report: LinkReport): void {
    const { registry, dataPorts } = this.context;
    switch (report.type) {
      case 'claimed':
        registry.get(report.sessionId)?.attachRemoteLink(report);
        return;
      case 'upstream-complete':
      case 'done':
        registry.get(report.sessionId)?.remoteLinkReport(report);
        return;
      case 'abort':
        dataPorts.abortLink(report.linkId, report.cause);
        return;
    }
  }

  /** Fetches the port map and certificate now (see StateSync.fetchOnce). */
  fetchOnce(): Promise<void> {
    return this.sync.fetchOnce();
  }

  status(): GatewayStatus {
    return gatewayStatus({
      replica: this.config.replica,
      pid: process.pid,
      certificate: this.context.contexts.active,
      portMap: this.context.portMap,
      appliedPortMap: this.reconciler.appliedPortMap,
      portMapFailure: this.reconciler.portMapFailure,
      listeners: this.reconciler.listeners,
      controlSessions: this.context.registry.size,
    });
  }

  /** True when the bundle is now the active certificate. */
  private applyBundle(bundle: CertificateBundle, from: string): boolean {
    const { logger, contexts } = this.context;
    const acmeTlsAlpn = bundle.acmeTlsAlpn === true;
    if (acmeTlsAlpn !== this.context.acmeTlsAlpn) {
      this.context.acmeTlsAlpn = acmeTlsAlpn;
      logger.info({ acmeTlsAlpn }, acmeTlsAlpn ? 'ACME TLS-ALPN-01 validations are answered on the HTTPS port' : 'ACME TLS-ALPN-01 validations are no longer looked for');
    }
    // The same certificates (only the flag changed): the contexts stay.
    if (contexts.active && certificatesOf(bundle) === this.loadedCertificates) {
      this.bundleFingerprint = bundleIdentity(bundle);
      return true;
    }
    try {
      const certificate = contexts.load(bundle);
      this.bundleFingerprint = bundleIdentity(bundle);
      this.loadedCertificates = certificatesOf(bundle);
      logger.info({ certificate, from }, 'certificate loaded');
      this.reporter?.report();
      return true;
    } catch (error) {
      logger.error({ err: error, id: bundle.id, from }, 'certificate rejected; keeping the previous one');
      return false;
    }
  }

  private async applyPortMap(portMap: PortMap, from: string): Promise<boolean> {
    const applied = await this.reconciler.apply(portMapSchema.parse(portMap), from);
    await this.reconcilePlainHttp();
    this.reporter?.report();
    return applied;
  }
}

/** What makes a bundle new to this gateway: its certificates, and whether it asks for TLS-ALPN-01 answers. */
function bundleIdentity(bundle: CertificateBundle): string {
  return `${certificatesOf(bundle)}${bundle.acmeTlsAlpn ? '|acme-tls-alpn' : ''}`;
}

/** The certificates a bundle holds: their fingerprints. */
function certificatesOf(bundle: CertificateBundle): string {
  return `${bundle.fingerprintSha256}|${bundle.alongside?.fingerprintSha256 ?? ''}`;
}
