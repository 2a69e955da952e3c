import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@st/logging';
import { ActiveCertificate } from './active-certificate.js';
import { createConsoleApp } from './app.js';
import { Backends } from './backends.js';
import { SessionStore, type Credentials } from './sessions.js';
import { defaultThrottleRules, SignInThrottle, type ThrottleRules } from './sign-in-throttle.js';
import { tls12ForwardSecretCiphers } from '@st/contracts';

export interface ConsoleServiceConfig {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  tls: boolean;
  configServiceUrl: string;
  certServiceUrl: string;
  logServiceUrl: string;
  gatewayHealthUrls: readonly string[];
  /** The console calls config-service and cert-service with it; it is required. */
  adminToken: string;
  operatorToken?: string | undefined;
  /** Fetches the certificate bundle when set; otherwise the admin token does. */
  serviceToken?: string | undefined;
  adminPassword?: string | undefined;
  operatorPassword?: string | undefined;
  publicDir: string;
  session: { idleMs: number; maxMs: number };
  throttle?: ThrottleRules;
  amqpUrl?: string | undefined;
  eventsExchange?: string | undefined;
  logger: Logger;
}

export interface ConsoleService {
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
  /** The certificate served right now (TLS only). */
  certificateId(): string | null;
}

export function createConsoleService(config: ConsoleServiceConfig): ConsoleService {
  const credentials: Credentials = {
    adminToken: config.adminToken,
    operatorToken: config.operatorToken,
    adminPassword: config.adminPassword,
    operatorPassword: config.operatorPassword,
  };
  const app = createConsoleApp({
    backends: new Backends({
      configServiceUrl: config.configServiceUrl,
      certServiceUrl: config.certServiceUrl,
      logServiceUrl: config.logServiceUrl,
      adminToken: config.adminToken,
      logToken: config.operatorToken ?? config.adminToken,
    }),
    sessions: new SessionStore(config.session),
    throttle: new SignInThrottle(config.throttle ?? defaultThrottleRules),
    credentials,
    gatewayHealthUrls: config.gatewayHealthUrls,
    publicDir: config.publicDir,
    tls: config.tls,
    logger: config.logger,
  });
  let server: Server | HttpsServer | null = null;
  let certificate: ActiveCertificate | null = null;

  return {
    async start() {
      if (config.tls) {
        let https: HttpsServer | null = null;
        certificate = new ActiveCertificate({
          certServiceUrl: config.certServiceUrl,
          token: config.serviceToken ?? config.adminToken,
          logger: config.logger,
          amqpUrl: config.amqpUrl,
          eventsExchange: config.eventsExchange,
          // New connections get a newly activated certificate; open ones keep theirs.
          onChange: (bundle) => https?.setSecureContext({ key: bundle.privateKeyPem, cert: bundle.certificatePem, ...tlsPolicy }),
        });
        const bundle = await certificate.start();
        https = createHttpsServer({ key: bundle.privateKeyPem, cert: bundle.certificatePem, ...tlsPolicy }, app);
        server = https;
      } else {
        server = createHttpServer(app);
      }
      server.requestTimeout = 0; // the log follow stream is long-lived; idle sockets are bounded by headersTimeout and keepAliveTimeout
      server.headersTimeout = 20_000;
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(config.port, config.host, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      const port = (listening.address() as AddressInfo).port;
      const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
      const url = `${config.tls ? 'https' : 'http'}://${urlHost}:${port}`;
      config.logger.info({ url, tls: config.tls }, 'console listening');
      return { url, port };
    },
    async stop() {
      await certificate?.stop();
      certificate = null;
      const closing = server;
      server = null;
      if (!closing) return;
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeAllConnections();
      });
    },
    certificateId: () => certificate?.bundle?.id ?? null,
  };
}

/** The same floor as the gateway: TLS 1.2 at least, forward-secret suites only. */
const tlsPolicy = { minVersion: 'TLSv1.2' as const, ciphers: tls12ForwardSecretCiphers.join(':'), honorCipherOrder: true };
