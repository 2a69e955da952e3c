import express, { type Express } from 'express';
import { configApi, type PortMap, type ServerSettings } from '@st/contracts';
import type { Logger } from '@st/logging';
import { createHttpService, errorHandler, healthRoutes, notFound, requestLog, requireBearer, type RunnableService } from '@st/service-kit';
import { derivePortMap } from './port-map.js';
import { formatProblem, validateSettings } from './validate-settings.js';

export interface ConfigServiceConfig {
  settings: ServerSettings;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Reads settings and the port map. */
  adminToken?: string;
  /** Reads the port map only (gateways). */
  serviceToken?: string;
  logger: Logger;
  /** Clock for the port map's generatedAt; tests pin it. */
  now?: () => Date;
}

export type { StartedService } from '@st/service-kit';
export type ConfigService = RunnableService;

export function buildConfigApp(config: ConfigServiceConfig, portMap: PortMap): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(config.logger));

  app.use(healthRoutes());

  app.get(configApi.portMap, requireBearer([config.adminToken, config.serviceToken]), (_req, res) => {
    res.json(portMap);
  });
  app.get(configApi.settings, requireBearer([config.adminToken]), (_req, res) => {
    res.json(config.settings);
  });

  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/**
 * The config-service with its settings fixed at creation. Invalid settings are
 * refused here, before anything listens, with every problem in the message.
 */
export function createConfigService(config: ConfigServiceConfig): ConfigService {
  const report = validateSettings(config.settings);
  if (report.errors.length > 0) {
    throw new Error(`invalid server settings:\n${report.errors.map((problem) => `  ${formatProblem(problem)}`).join('\n')}`);
  }
  const now = config.now ?? (() => new Date());
  const portMap = derivePortMap(config.settings, 1, now().toISOString());
  const app = buildConfigApp(config, portMap);

  return createHttpService(app, {
    host: config.host,
    port: config.port,
    onListening(server) {
      config.logger.info(
        {
          url: server.url,
          portMapVersion: portMap.version,
          listeners: portMap.listeners.map((listener) => ({ id: listener.id, ports: listener.ports, upstream: listener.upstream })),
        },
        'config-service listening',
      );
    },
    onStopped() {
      config.logger.info('config-service stopped');
    },
  });
}
