import { randomBytes } from 'node:crypto';
import express from 'express';
import { Redis } from 'ioredis';
import { healthApi, portMapSchema, routingKeys, type CertificateBundle, type Listener, type PortMap } from '@st/contracts';
import { createEventSubscriber, type EventSubscriber } from '@st/bus';
import { logDeferred, recordIdSource, type Logger } from '@st/logging';
import { errorHandler, listenHttp, retryWithBackoff, sleep, type RunningHttpServer } from '@st/service-kit';
import { FtpControlSession } from './ftp/control-session.js';
import { PassiveDataListeners } from './ftp/data-listener.js';
import { LeaseStore } from './ftp/lease-store.js';
import { SessionRegistry } from './ftp/session-registry.js';
import { StateCache, type StateSource } from './gateway-state.js';
import { gatewayHealth } from './health-state.js';
import { HttpsProxy } from './https-proxy.js';
import { listenerKey, planListenerChanges } from './listener-plan.js';
import { StatusReporter, type ReportedState } from './status-report.js';
import { bundleIsUsable, TlsContextHolder } from './tls-context.js';
import { TlsListener, admitAll } from './tls-listener.js';

export interface GatewayConfig {
  replica: string;
  redisUrl: string;
  /** Namespaces every Redis key, so several deployments (or tests) can share one Redis. */
  redisPrefix: string;
  cacheDir: string;
  source: StateSource;
  health: { host: string; port: number };
  /** 48 bytes shared by all replicas so a data connection can resume a session issued by another replica. */
  ticketKeys?: Buffer;
  /** How often the port map and certificate are re-fetched when no event says so. */
  refreshIntervalMs?: number;
  /** RabbitMQ: config.updated and cert.activated trigger a fetch; so does every (re)connection. Status reports go there too. */
  amqpUrl?: string;
  /** How often the replica reports its status when nothing changes (default 15 s). */
  heartbeatMs?: number;
  /** Where the last good state is kept; a StateCache over cacheDir unless given (tests slow it down). */
  cache?: Pick<StateCache, 'load' | 'savePortMap' | 'saveBundle'>;
  eventsExchange?: string;
  logger: Logger;
}

/** A listener that runs; `spec` is replaced in place when only its upstream target changes. */
interface RunningListener {
  spec: Listener;
  close(drainMs: number): Promise<void>;
  openConnections(): number;
  /** HTTPS: upstream web connections kept for the next client. */
  idleUpstreamConnections?(): number;
}

export interface GatewayStatus {
  /** Serving clients (ready or degraded): the health endpoint answers 200. */
  ready: boolean;
  /** ready, degraded (serving, a newer map refused), stopped (tunnel disabled) or not-ready. */
  status: ReportedState['status'];
  reasons: string[];
  replica: string;
  pid: number;
  portMapVersion: number | null;
  tunnelEnabled: boolean | null;
  /** The newest map that could not be applied (the previous one keeps running). */
  portMapFailure: { version: number; reason: string; at: string } | null;
  certificate: { id: string; fingerprintSha256: string; notAfter: string } | null;
  listeners: Array<{ id: string; protocol: string; ports: string; openConnections: number; idleUpstreamConnections?: number }>;
  listenerErrors: string[];
  controlSessions: number;
}

/**
 * The tunnel gateway: terminates TLS for HTTPS, implicit FTPS control and
 * passive data according to the port map, with the certificate from
 * cert-service. Starts from its disk cache when the owning services are down.
 */
export class Gateway {
  private readonly logger: Logger;
  private readonly contexts: TlsContextHolder;
  private readonly redis: Redis;
  private readonly leases: LeaseStore;
  private readonly registry = new SessionRegistry();
  private readonly cache: Pick<StateCache, 'load' | 'savePortMap' | 'saveBundle'>;
  private readonly running = new Map<string, RunningListener>();
  private readonly abort = new AbortController();
  /** HTTPS connection ids: a random per-process prefix and a counter, cheaper than fresh random bytes per handshake. */
  private readonly nextWebConnectionId = recordIdSource();
  /** The latest port map known; listeners read timeouts and policy from it. */
  private portMap: PortMap | null = null;
  /** The port map the running listeners were built from. */
  private appliedPortMap: PortMap | null = null;
  private bundleFingerprint: string | null = null;
  private portMapFailure: { version: number; reason: string; at: string } | null = null;
  private reporter: StatusReporter | null = null;
  private readonly startedAt = new Date().toISOString();
  private healthServer: RunningHttpServer | null = null;
  private applying: Promise<boolean> = Promise.resolve(true);
  private fetching: Promise<void> = Promise.resolve();
  private fetchLoop: Promise<void> | null = null;
  private subscriber: EventSubscriber | null = null;
  /** Set while a fetch triggered by an event runs; a second event during it asks for one more. */
  private eventFetch: { running: Promise<void>; again: boolean } | null = null;

  constructor(private readonly config: GatewayConfig) {
    this.logger = config.logger;
    this.contexts = new TlsContextHolder(config.ticketKeys ?? randomBytes(48));
    this.redis = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      commandTimeout: 3000,
      retryStrategy: (attempt) => Math.min(200 * 2 ** attempt, 5000),
      lazyConnect: true,
    });
    this.redis.on('error', (error) => this.logger.debug({ err: error }, 'redis error'));
    this.leases = new LeaseStore(this.redis, config.redisPrefix);
    this.cache = config.cache ?? new StateCache(config.cacheDir);
  }

  get healthUrl(): string | null {
    return this.healthServer?.url ?? null;
  }

  async start(): Promise<void> {
    this.redis.connect().catch((error) => this.logger.warn({ err: error }, 'redis not reachable yet; retrying'));
    this.healthServer = await listenHttp(this.healthApp(), this.config.health.host, this.config.health.port);
    const cached = await this.cache.load();
    for (const problem of cached.problems) this.logger.warn(problem);
    if (cached.bundle) this.applyBundle(cached.bundle, 'cache');
    if (cached.portMap) await this.applyPortMap(cached.portMap, 'cache');
    if (cached.bundle || cached.portMap) this.logger.info({ cacheDir: this.config.cacheDir, ready: this.status().ready }, 'started from cache');
    this.fetchLoop = this.keepFetching();
    if (this.config.amqpUrl) {
      this.subscriber = createEventSubscriber({
        url: this.config.amqpUrl,
        logger: this.logger,
        name: `tunnel-gateway ${this.config.replica}`,
        ...(this.config.eventsExchange ? { exchange: this.config.eventsExchange } : {}),
        bindings: [routingKeys.configUpdated, routingKeys.certActivated],
        onMessage: (message) => {
          this.logger.info({ event: message.routingKey, body: message.body }, 'event received; fetching state');
          this.fetchOnEvent();
        },
        // Events are notifications: whatever was missed while disconnected is caught up by a fetch.
        onConnected: () => this.fetchOnEvent(),
      });
      this.reporter = new StatusReporter({
        amqpUrl: this.config.amqpUrl,
        ...(this.config.eventsExchange ? { exchange: this.config.eventsExchange } : {}),
        logger: this.logger,
        identity: { replica: this.config.replica, pid: process.pid, startedAt: this.startedAt, heartbeatMs: this.config.heartbeatMs ?? 15_000 },
        state: () => this.status(),
      });
    }
  }

  /** Fetches now (coalescing bursts of events); failures are left to the periodic loop's retries. */
  private fetchOnEvent(): void {
    if (this.abort.signal.aborted) return;
    if (this.eventFetch) {
      this.eventFetch.again = true;
      return;
    }
    const state = { running: Promise.resolve(), again: false };
    this.eventFetch = state;
    state.running = (async () => {
      do {
        state.again = false;
        await this.fetchOnce().catch((error: Error) => this.logger.warn({ reason: error.message }, 'fetch after event failed'));
      } while (state.again && !this.abort.signal.aborted);
      this.eventFetch = null;
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('gateway stopping'));
    await this.reporter?.close({ ...this.status(), status: 'offline', reasons: ['the gateway stopped'] }).catch(() => undefined);
    await this.subscriber?.close().catch(() => undefined);
    await this.fetchLoop?.catch(() => undefined);
    await this.eventFetch?.running;
    await this.applying;
    await Promise.all([...this.running.values()].map((listener) => listener.close(0)));
    this.running.clear();
    await this.healthServer?.close();
    this.redis.disconnect();
  }

  status(): GatewayStatus {
    const health = gatewayHealth({
      certificate: this.contexts.active !== null,
      known: this.portMap,
      applied: this.appliedPortMap,
      failure: this.portMapFailure,
    });
    const certificate = this.contexts.active;
    return {
      ready: health.serving,
      status: health.status,
      reasons: health.reasons,
      replica: this.config.replica,
      pid: process.pid,
      portMapVersion: this.appliedPortMap?.version ?? null,
      tunnelEnabled: this.appliedPortMap?.tunnelEnabled ?? null,
      portMapFailure: this.portMapFailure,
      certificate: certificate ? { id: certificate.id, fingerprintSha256: certificate.fingerprintSha256, notAfter: certificate.notAfter } : null,
      listeners: [...this.running.values()].map((listener) => ({
        id: listener.spec.id,
        protocol: listener.spec.protocol,
        ports: `${listener.spec.ports.from}-${listener.spec.ports.to}`,
        openConnections: listener.openConnections(),
        ...(listener.idleUpstreamConnections ? { idleUpstreamConnections: listener.idleUpstreamConnections() } : {}),
      })),
      listenerErrors: this.portMapFailure ? [`port map version ${this.portMapFailure.version} not applied: ${this.portMapFailure.reason}`] : [],
      controlSessions: this.registry.size,
    };
  }

  /** Fetches both documents until they arrive, then refreshes them periodically. */
  private async keepFetching(): Promise<void> {
    const signal = this.abort.signal;
    try {
      for (;;) {
        await retryWithBackoff(() => this.fetchOnce(), {
          signal,
          initialMs: 250,
          maxMs: 10_000,
          onRetry: (error, attempt, delay) =>
            this.logger.warn({ attempt, retryInMs: delay, reason: (error as Error).message }, 'could not fetch gateway state'),
        });
        await sleep(this.config.refreshIntervalMs ?? 60_000, signal);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /**
   * Fetches the certificate bundle and the port map and applies what changed.
   * Fetches run one at a time (events, reconnections and the periodic loop all
   * come here), so an older answer can never be applied after a newer one.
   * The two documents are independent: config changes still apply while
   * cert-service is down, and the other way round. Rejects when either fetch
   * failed, so the periodic loop keeps retrying.
   */
  fetchOnce(): Promise<void> {
    const run = this.fetching.then(() => this.fetchNow());
    this.fetching = run.catch(() => undefined);
    return run;
  }

  private async fetchNow(): Promise<void> {
    const [bundle, portMap] = await Promise.allSettled([this.config.source.fetchBundle(), this.config.source.fetchPortMap()]);
    if (this.abort.signal.aborted) return;
    if (bundle.status === 'fulfilled' && (bundle.value.fingerprintSha256 !== this.bundleFingerprint || !this.contexts.active)) {
      // Cached before it is used: whoever sees this certificate served (or the gateway ready) finds it on disk.
      if (bundleIsUsable(bundle.value)) {
        await this.cache.saveBundle(bundle.value).catch((error: Error) => this.logger.warn({ err: error, cacheDir: this.config.cacheDir }, 'could not cache the certificate bundle'));
      }
      this.applyBundle(bundle.value, 'cert-service');
    }
    if (portMap.status === 'fulfilled' && (!this.appliedPortMap || JSON.stringify(portMap.value) !== JSON.stringify(this.appliedPortMap))) {
      // Only a map that was applied is cached: a restart must not start from one whose ports could not be opened.
      if (await this.applyPortMap(portMap.value, 'config-service')) await this.cache.savePortMap(portMap.value);
    }
    const failures = [bundle, portMap].filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0) throw new Error(failures.map((failure) => (failure.reason as Error).message).join('; '));
  }

  /** True when the bundle is now the active certificate. */
  private applyBundle(bundle: CertificateBundle, from: string): boolean {
    try {
      const certificate = this.contexts.load(bundle);
      this.bundleFingerprint = bundle.fingerprintSha256;
      this.logger.info({ certificate, from }, 'certificate loaded');
      this.reporter?.report();
      return true;
    } catch (error) {
      this.logger.error({ err: error, id: bundle.id, from }, 'certificate rejected; keeping the previous one');
      return false;
    }
  }

  /** Resolves true once the map is in force (or remembered until a certificate arrives), false when it was refused. */
  private applyPortMap(portMap: PortMap, from: string): Promise<boolean> {
    this.applying = this.applying.then(async () => {
      const applied = await this.reconcile(portMapSchema.parse(portMap), from);
      this.reporter?.report();
      return applied;
    });
    return this.applying;
  }

  /**
   * Opens what the new map adds first; if any socket cannot be opened, closes
   * what was just opened and keeps the previous map running (all or nothing).
   * Then retargets kept listeners and drains removed ones.
   */
  private async reconcile(portMap: PortMap, from: string): Promise<boolean> {
    if (!this.contexts.active) {
      // Listeners need a certificate; the map is remembered and applied once one arrives.
      this.portMap = portMap;
      this.portMapFailure = null;
      return true;
    }
    const desired = portMap.tunnelEnabled ? portMap.listeners : [];
    const plan = planListenerChanges(
      [...this.running.values()].map((listener) => listener.spec),
      desired,
    );
    const opened: RunningListener[] = [];
    const previousPortMap = this.appliedPortMap;
    this.portMap = portMap;
    this.contexts.setPolicy(portMap.tls);
    try {
      for (const spec of plan.open) opened.push(await this.openListener(spec));
    } catch (error) {
      await Promise.all(opened.map((listener) => listener.close(0)));
      this.portMap = previousPortMap ?? portMap;
      if (previousPortMap) this.contexts.setPolicy(previousPortMap.tls);
      this.portMapFailure = { version: portMap.version, reason: (error as Error).message, at: new Date().toISOString() };
      this.logger.error({ err: error, version: portMap.version, from }, 'port map not applied; previous listeners keep running');
      return false;
    }
    for (const listener of opened) this.running.set(listenerKey(listener.spec), listener);
    for (const { to } of plan.keep) {
      const listener = this.running.get(listenerKey(to));
      if (listener) listener.spec = to;
    }
    for (const spec of plan.close) {
      const listener = this.running.get(listenerKey(spec));
      this.running.delete(listenerKey(spec));
      listener?.close(portMap.timeouts.drainMs).catch((error) => this.logger.warn({ err: error }, 'listener close failed'));
      this.logger.info({ listener: spec.id, ports: spec.ports }, 'listener closed');
    }
    this.appliedPortMap = portMap;
    this.portMapFailure = null;
    this.logger.info(
      { version: portMap.version, from, opened: plan.open.map((l) => l.id), closed: plan.close.map((l) => l.id), tunnelEnabled: portMap.tunnelEnabled },
      'port map applied',
    );
    return true;
  }

  private async openListener(spec: Listener): Promise<RunningListener> {
    const handshakeTimeoutMs = () => this.portMap?.timeouts.handshakeMs ?? 10_000;
    const logger = this.logger.child({ listener: spec.id });
    if (spec.protocol === 'ftp-data') {
      const running: RunningListener = { spec, close: (drainMs) => data.close(drainMs), openConnections: () => data.openConnections };
      const data = new PassiveDataListeners({
        portMap: () => this.portMap!,
        listener: () => running.spec,
        contexts: this.contexts,
        leases: this.leases,
        registry: this.registry,
        logger,
      });
      await data.open(spec);
      logger.info({ ports: spec.ports, upstream: spec.upstream }, 'listener started');
      return running;
    }
    let proxy: HttpsProxy | null = null;
    const running: RunningListener = {
      spec,
      close: async (drainMs) => {
        await tlsListener.close(drainMs);
        proxy?.close();
      },
      openConnections: () => tlsListener.openConnections,
      ...(spec.protocol === 'http' ? { idleUpstreamConnections: () => proxy?.idleUpstreamConnections ?? 0 } : {}),
    };
    if (spec.protocol === 'http') {
      proxy = new HttpsProxy({
        listener: () => running.spec,
        logger,
        idleTimeoutMs: () => this.portMap?.timeouts.controlIdleMs ?? 300_000,
        // The time a client gets to say who it is (TLS) is also the time it gets to say what it wants.
        headTimeoutMs: handshakeTimeoutMs,
        upstreamKeepAliveMs: () => this.portMap?.timeouts.upstreamKeepAliveMs ?? 0,
      });
    }
    const tlsListener = new TlsListener({
      host: spec.bindHost,
      port: spec.ports.from,
      contexts: this.contexts,
      handshakeTimeoutMs,
      logger,
      allowHalfOpen: spec.protocol === 'http',
      handlers: {
        admit: admitAll,
        onSecure: (socket, connection) => {
          if (proxy) {
            // One record per handshake: written in a batch a moment later (see logDeferred), which
            // is a few percent of the full-handshake rate.
            const conn = `web_${this.nextWebConnectionId()}`;
            logDeferred(
              logger,
              'info',
              {
                conn,
                client: connection.remoteAddress,
                clientPort: connection.remotePort,
                port: connection.localPort,
                tls: socket.getProtocol(),
                cipher: socket.getCipher()?.name,
                sni: socket.servername || null,
                resumed: socket.isSessionReused(),
              },
              'HTTPS connection opened',
            );
            proxy.handle(socket, { clientAddress: connection.remoteAddress, port: connection.localPort }, conn);
            return;
          }
          new FtpControlSession(socket, connection, {
            listener: running.spec,
            portMap: () => this.portMap!,
            leases: this.leases,
            registry: this.registry,
            replica: this.config.replica,
            logger,
          });
        },
      },
    });
    await tlsListener.listen();
    logger.info({ ports: spec.ports, protocol: spec.protocol, upstream: spec.upstream }, 'listener started');
    return running;
  }

  private healthApp(): express.Express {
    const app = express();
    app.get(healthApi.live, (_req, res) => {
      res.json({ status: 'live' });
    });
    app.get(healthApi.ready, (_req, res) => {
      const status = this.status();
      // 200 while serving (ready or degraded), so a load balancer keeps a gateway that still serves its previous map.
      res.status(status.ready ? 200 : 503).json(status);
    });
    app.use(errorHandler);
    return app;
  }
}
