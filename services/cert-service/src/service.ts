import express, { type Express } from 'express';
import { certApi, summarizeBundle, type CertificateBundle } from '@st/contracts';
import type { Logger } from '@st/logging';
import { createHttpService, errorHandler, healthRoutes, HttpError, notFound, requestLog, requireBearer, type RunnableService } from '@st/service-kit';
import { certificateCoversName } from './certificate-info.js';
import { CertificateError } from './errors.js';
import { generateSelfSigned } from './self-signed.js';
import { parseServerName } from './server-name.js';
import { createFileCertificateStore, type CertificateStore } from './store.js';

export interface CertServiceConfig {
  /** Holds keys and certificates; created with mode 0700 when missing. */
  dataDir: string;
  /** Name (DNS or IP) for the self-signed certificate made when none is active. */
  serverName: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Reads the bundle and the certificate list. */
  adminToken?: string;
  /** Reads the active bundle only (gateways). */
  serviceToken?: string;
  logger: Logger;
  /** Validity of a generated self-signed certificate; 825 days by default. */
  validityDays?: number;
}

export type { StartedService } from '@st/service-kit';
export type CertService = RunnableService;

/** Holds the active bundle in memory; the store on disk is the truth it is loaded from. */
interface ActiveState {
  bundle: CertificateBundle | null;
}

export function buildCertApp(config: CertServiceConfig, store: CertificateStore, state: ActiveState): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(config.logger));

  app.use(healthRoutes(() => state.bundle !== null));

  app.get(certApi.activeBundle, requireBearer([config.adminToken, config.serviceToken]), (_req, res) => {
    if (!state.bundle) throw new HttpError(503, 'NO_ACTIVE_CERTIFICATE', 'no certificate is active yet');
    // The body carries a private key: no cache anywhere may keep it.
    res.set('Cache-Control', 'no-store').json(state.bundle);
  });
  app.get(certApi.certificates, requireBearer([config.adminToken]), async (_req, res) => {
    const certificates = await store.list();
    res.json({ activeId: state.bundle?.id ?? null, certificates });
  });

  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/**
 * Loads the active certificate, or makes a self-signed one for the server name
 * and activates it when the store has none. A store that names an active
 * certificate it cannot read is an error: replacing it silently would change
 * the fingerprint clients have pinned.
 */
async function ensureActive(config: CertServiceConfig, store: CertificateStore): Promise<CertificateBundle> {
  const existing = await store.loadActive();
  if (existing) {
    config.logger.info({ certificate: summarizeBundle(existing) }, 'active certificate loaded');
    if (!certificateCoversName(existing.certificatePem, config.serverName)) {
      config.logger.warn(
        { certificate: summarizeBundle(existing), serverName: config.serverName },
        'the active certificate does not cover SERVER_NAME; clients checking that name will refuse it',
      );
    }
    return existing;
  }
  const material = await generateSelfSigned({ serverName: config.serverName, validityDays: config.validityDays });
  const stored = await store.save(material, 'self-signed');
  await store.activate(stored.id);
  const bundle = await store.loadActive();
  if (!bundle) throw new CertificateError('STORE_CORRUPT', `certificate ${stored.id} was activated but cannot be read back`);
  config.logger.info({ certificate: summarizeBundle(bundle) }, 'generated and activated a self-signed certificate');
  return bundle;
}

export function createCertService(config: CertServiceConfig): CertService {
  const name = parseServerName(config.serverName);
  if (!name.ok) throw new CertificateError('INVALID_SERVER_NAME', name.message);
  const store = createFileCertificateStore(config.dataDir, {
    onUnreadableEntry: (id, error) => config.logger.warn({ certificateId: id, err: error }, 'skipping an unreadable stored certificate'),
  });
  const state: ActiveState = { bundle: null };
  const app = buildCertApp(config, store, state);

  return createHttpService(app, {
    host: config.host,
    port: config.port,
    // Runs after listening so that liveness answers while a key is being generated; readiness waits for the certificate.
    async onListening(server) {
      state.bundle = await ensureActive(config, store);
      config.logger.info({ url: server.url, dataDir: config.dataDir }, 'cert-service listening');
    },
    onStopped() {
      state.bundle = null;
      config.logger.info('cert-service stopped');
    },
  });
}
