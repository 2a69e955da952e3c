import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ZodType } from 'zod';
import {
  certApi,
  loadCertificateRequestSchema,
  selfSignedRequestSchema,
  certificateSheetSchema,
  type KeyType,
} from '@st/contracts';
import { createEventPublisher, type EventPublisher } from '@st/bus';
import type { Logger } from '@st/logging';
import {
  createHttpService,
  errorHandler,
  healthRoutes,
  HttpError,
  jsonBody,
  methodNotAllowed,
  notFound,
  requestLog,
  requireBearer,
  type HealthReport,
  type RunnableService,
} from '@st/service-kit';
import { AcmeIssuer } from './acme/acme-issuer.js';
import { acmeRoutes, readStoredSettings } from './acme/acme-routes.js';
import type { AcmeSettings } from './acme/acme-env.js';
import { ChallengeBoard } from './acme/challenge-board.js';
import { openStoreEncryption, type KeySealer } from './at-rest.js';
import { CertManager } from './cert-manager.js';
import { CertificateError } from './errors.js';
import { expiryStatus } from './expiry.js';
import { parseServerName } from './server-name.js';
import { createFileCertificateStore } from './store.js';

export interface CertServiceConfig {
  /** Holds keys and certificates; created with mode 0700 when missing. */
  dataDir: string;
  /** The name clients use (DNS or IP): the self-signed certificate made when none is active is for it, and loaded certificates must cover it. */
  serverName: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Everything: generate, load, activate, delete, export. */
  adminToken?: string;
  /** Reads the active bundle only (gateways). */
  serviceToken?: string;
  logger: Logger;
  /** Validity of the self-signed certificate made at first start; 825 days by default. */
  validityDays?: number;
  /** Key type of that certificate; RSA 2048 by default. */
  keyType?: KeyType;
  /** RabbitMQ: when set, each activation is announced as `cert.activated`, and readiness needs the connection. */
  amqpUrl?: string;
  /** Exchange for the announcement; the contracts' events exchange by default (tests isolate themselves). */
  eventsExchange?: string;
  /** Secret that encrypts private keys at rest (AES-256-GCM, key derived with scrypt). */
  storeKey?: string;
  /** How often the active certificate's expiry is checked; hourly by default. */
  expiryCheckIntervalMs?: number;
  /** Clock for validation and expiry; tests pin it. */
  now?: () => Date;
  /** Certificates from an ACME CA (ACME_* variables); settings given later through PUT /acme win over them. */
  acme?: AcmeSettings;
  /** Longest sleep of the ACME renewal check (tests with short-lived certificates shorten it). */
  acmeMaxSleepMs?: number;
}

export type { StartedService } from '@st/service-kit';
export type CertService = RunnableService;

/** What the HTTP layer works with; null until the store is open and a certificate is active. */
export interface CertServiceState {
  manager: CertManager | null;
  publisher: EventPublisher | null;
  acme: AcmeIssuer | null;
  /** Challenge answers of running ACME orders, for the gateways. */
  board: ChallengeBoard;
  /** Opened with the store: ACME keeps its account key the same way. */
  sealer: KeySealer | null;
  /** When a gateway (or an operator) last fetched the active bundle (Date.now()); null: not since the start. */
  bundleFetchedAt: number | null;
}

const maxBodyBytes = 2 * 1024 * 1024;

function parseBody<T>(schema: ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new HttpError(400, 'INVALID_REQUEST', `invalid request body: ${problems.join('; ')}`, { problems });
  }
  return parsed.data;
}

/** Certificate errors keep their code; the status comes from the one catalogue. */
function certificateErrors(error: unknown, _req: Request, _res: Response, next: NextFunction): void {
  if (error instanceof CertificateError) return next(new HttpError(error.status, error.code, error.message, error.details));
  next(error);
}

function idParam(req: Request): string {
  return String(req.params.id ?? '');
}

function download(res: Response, filename: string, body: string, type = 'application/x-pem-file'): void {
  res.set('Content-Type', type).set('Content-Disposition', `attachment; filename="${filename}"`).send(body);
}

export function healthReport(state: CertServiceState, now: Date): HealthReport {
  const bundle = state.manager?.active ?? null;
  const bus = state.publisher ? (state.publisher.connected ? 'connected' : 'disconnected') : 'not-configured';
  if (!bundle) return { ready: false, reasons: ['no certificate is active yet'], details: { bus } };
  const expiry = expiryStatus(bundle, now);
  const reasons: string[] = [];
  const warnings: string[] = [];
  if (expiry.state === 'expired') reasons.push(`the active certificate expired on ${bundle.notAfter}: clients refuse it`);
  if (expiry.state === 'not-yet-valid') reasons.push(`the active certificate is not valid before ${bundle.notBefore}`);
  if (expiry.state === 'expiring') warnings.push(`the active certificate expires in ${expiry.daysLeft} days (${bundle.notAfter})`);
  if (bus === 'disconnected') reasons.push('not connected to RabbitMQ: activations cannot be announced (retrying)');
  const acme = state.acme ? state.acme.status() : null;
  if (acme) warnings.push(...acme.warnings);
  return {
    ready: reasons.length === 0,
    ...(reasons.length > 0 ? { reasons } : {}),
    details: {
      certificate: { id: bundle.id, fingerprintSha256: bundle.fingerprintSha256, subject: bundle.subject, notAfter: bundle.notAfter, ...expiry },
      bus,
      ...(acme ? { acme: { directoryUrl: acme.directoryUrl, challenge: acme.challenge, nextOrderAt: acme.nextOrderAt, failures: acme.failures, lastError: acme.lastError } } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    },
  };
}

export function buildCertApp(config: CertServiceConfig, state: CertServiceState): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(config.logger));
  const now = config.now ?? (() => new Date());
  app.use(healthRoutes(() => healthReport(state, now())));

  const admin = requireBearer([config.adminToken]);
  const json = jsonBody({ limit: maxBodyBytes });
  const manager = (): CertManager => {
    if (!state.manager) throw new HttpError(503, 'NOT_READY', 'cert-service is starting: the store is not open yet');
    return state.manager;
  };

  app.get(certApi.activeBundle, requireBearer([config.adminToken, config.serviceToken]), (_req, res) => {
    const bundle = state.manager?.active;
    if (!bundle) throw new HttpError(503, 'NO_ACTIVE_CERTIFICATE', 'no certificate is active yet');
    state.bundleFetchedAt = Date.now();
    // The body carries a private key: no cache anywhere may keep it.
    res.set('Cache-Control', 'no-store').json(state.acme?.answersTlsAlpn ? { ...bundle, acmeTlsAlpn: true } : bundle);
  });

  app.get(certApi.certificates, admin, async (_req, res) => {
    res.json(await manager().list());
  });
  app.post(certApi.certificates, admin, json, async (req, res) => {
    const body = parseBody(loadCertificateRequestSchema, req.body);
    res.status(201).json(await manager().load(body));
  });
  app.post(certApi.validate, admin, json, async (req, res) => {
    const body = parseBody(loadCertificateRequestSchema, req.body);
    res.json(await manager().validate(body));
  });
  app.post(certApi.selfSigned, admin, json, async (req, res) => {
    const { activate, ...sheet } = parseBody(selfSignedRequestSchema, req.body);
    res.status(201).json({ certificate: await manager().createSelfSigned(sheet, activate ?? false) });
  });
  app.get(certApi.certificate, admin, async (req, res) => {
    res.json(await manager().show(idParam(req)));
  });
  app.delete(certApi.certificate, admin, async (req, res) => {
    await manager().remove(idParam(req));
    res.status(204).end();
  });
  app.post(certApi.activate, admin, async (req, res) => {
    res.json(await manager().activate(idParam(req)));
  });
  app.post(certApi.activateAlongside, admin, async (req, res) => {
    res.json(await manager().activateAlongside(idParam(req)));
  });
  app.post(certApi.deactivate, admin, async (req, res) => {
    res.json(await manager().deactivate(idParam(req)));
  });
  app.get(certApi.exportCertificate, admin, async (req, res) => {
    const pair = await manager().exportPair(idParam(req));
    download(res, 'stunnel.cert', pair.certificatePem);
  });
  app.get(certApi.exportKey, admin, async (req, res) => {
    const pair = await manager().exportPair(idParam(req));
    // An explicit admin call, and it leaves a trace: who took which key (never the key itself).
    config.logger.warn({ certificateId: pair.id, remote: req.socket.remoteAddress }, 'private key exported');
    res.set('Cache-Control', 'no-store');
    download(res, 'stunnel.cert.key', pair.privateKeyPem);
  });

  app.get(certApi.requests, admin, async (_req, res) => {
    res.json({ requests: await manager().listRequests() });
  });
  app.post(certApi.requests, admin, json, async (req, res) => {
    const sheet = parseBody(certificateSheetSchema, req.body);
    res.status(201).json(await manager().createRequest(sheet));
  });
  app.get(certApi.request, admin, async (req, res) => {
    const { csrPem, ...request } = await manager().getRequest(idParam(req));
    res.json({ request, csrPem });
  });
  app.get(certApi.requestCsr, admin, async (req, res) => {
    const request = await manager().getRequest(idParam(req));
    download(res, `${request.serverName.replace(/[^A-Za-z0-9.-]/g, '_')}.csr`, request.csrPem, 'application/pkcs10');
  });
  app.delete(certApi.request, admin, async (req, res) => {
    await manager().removeRequest(idParam(req));
    res.status(204).end();
  });

  app.use(
    acmeRoutes({
      issuer: () => state.acme,
      board: state.board,
      dataDir: config.dataDir,
      serverName: config.serverName,
      admin,
      gatewayOrAdmin: requireBearer([config.adminToken, config.serviceToken]),
      json,
      enable: (settings) => startAcme(config, state, settings),
      announce: async () => state.manager?.announce(),
    }),
  );

  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(certificateErrors);
  app.use(errorHandler);
  return app;
}

/**
 * The cert-service: opens the store (unlocking encrypted keys), makes sure a
 * certificate is active, serves the API and announces activations. Liveness
 * answers from the moment it listens; readiness once a certificate is active.
 */
export function createCertService(config: CertServiceConfig): CertService {
  const name = parseServerName(config.serverName);
  if (!name.ok) throw new CertificateError('INVALID_SERVER_NAME', name.message);
  const state: CertServiceState = { manager: null, publisher: null, acme: null, board: new ChallengeBoard(), sealer: null, bundleFetchedAt: null };
  const app = buildCertApp(config, state);
  let expiryTimer: NodeJS.Timeout | null = null;

  async function tearDown(): Promise<void> {
    if (expiryTimer) clearInterval(expiryTimer);
    expiryTimer = null;
    state.acme?.stop();
    // A running order is given a few seconds to finish; its requests time out by themselves.
    await Promise.race([state.acme?.settled(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    state.acme = null;
    const publisher = state.publisher;
    state.publisher = null;
    state.manager = null;
    await publisher?.close();
  }

  const http = createHttpService(app, {
    host: config.host,
    port: config.port,
    tearDown,
    onStopped: () => config.logger.info('cert-service stopped'),
    // Runs after listening so that liveness answers while a key is being generated; readiness waits for the certificate.
    async onListening(server) {
      const sealer = await openStoreEncryption(config.dataDir, config.storeKey);
      const store = createFileCertificateStore(config.dataDir, {
        sealer,
        onUnreadableEntry: (id, error) => config.logger.warn({ certificateId: id, err: error }, 'skipping an unreadable stored entry'),
      });
      const manager = new CertManager({
        store,
        logger: config.logger,
        serverName: name.value.name,
        validityDays: config.validityDays,
        keyType: config.keyType,
        now: config.now,
        publisher: null,
      });
      if (config.amqpUrl) {
        state.publisher = createEventPublisher({
          url: config.amqpUrl,
          logger: config.logger,
          name: 'cert-service',
          exchange: config.eventsExchange,
          // Events are notifications of state: after any reconnection, say again which certificate is active.
          onConnected: () => void state.manager?.announce(),
        });
      }
      await manager.init();
      manager.attachPublisher(state.publisher);
      state.manager = manager;
      state.sealer = sealer;
      void manager.announce();
      const stored = await readStoredSettings(config.dataDir, config.serverName);
      if (stored.problem) config.logger.warn({ reason: stored.problem }, 'ACME settings given through the API are ignored');
      if (stored.settings && config.acme) config.logger.info('ACME settings given through the API (PUT /acme) apply; the ACME_* variables do not');
      const acmeSettings = stored.settings ?? config.acme ?? null;
      if (acmeSettings) await startAcme(config, state, acmeSettings);
      expiryTimer = setInterval(() => manager.checkExpiry(), config.expiryCheckIntervalMs ?? 60 * 60 * 1000);
      expiryTimer.unref();
      config.logger.info({ url: server.url, dataDir: config.dataDir, encryptedAtRest: sealer !== null, bus: state.publisher ? 'configured' : 'off' }, 'cert-service listening');
    },
  });

  return http;
}

/** ACME on: the issuer orders at once if no ACME certificate for the names is active, and keeps it renewed. */
async function startAcme(config: CertServiceConfig, state: CertServiceState, settings: AcmeSettings): Promise<AcmeIssuer> {
  if (!state.manager) throw new HttpError(503, 'NOT_READY', 'cert-service is starting: the store is not open yet');
  // Two first PUTs at once: the second reconfigures the issuer the first made.
  if (state.acme) {
    state.acme.reconfigure(settings);
    return state.acme;
  }
  const issuer = new AcmeIssuer({
    settings,
    serverName: config.serverName,
    keyType: config.keyType,
    dataDir: config.dataDir,
    sealer: state.sealer,
    manager: state.manager,
    board: state.board,
    logger: config.logger,
    now: config.now,
    maxSleepMs: config.acmeMaxSleepMs,
    bundleFetchedAt: () => state.bundleFetchedAt,
  });
  state.acme = issuer;
  await issuer.start();
  // Gateways fetch the bundle again and learn whether to watch for TLS-ALPN-01 validations.
  void state.manager.announce();
  config.logger.info({ directory: settings.directoryUrl, challenge: settings.challenge, names: issuer.names }, 'ACME on: certificates are ordered and renewed by cert-service');
  return issuer;
}
