import express, { type Express, type Request } from 'express';
import { logApi } from '@st/contracts';
import type { Logger } from '@st/logging';
import {
  errorHandler,
  healthRoutes,
  HttpError,
  listenHttp,
  methodNotAllowed,
  notFound,
  requestLog,
  requireBearer,
  type HealthReport,
  type RunnableService,
  type RunningHttpServer,
  type StartedService,
} from '@st/service-kit';
import { encodeCursor, FilterError, parseQuery, parseSummaryQuery } from './filter.js';
import { follow } from './follow.js';
import { LogIngest, type IngestStats } from './ingest.js';
import { LogStore, type RetentionPolicy } from './store.js';

export type { StartedService } from '@st/service-kit';

export interface LogServiceConfig {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  dbPath: string;
  sync?: 'NORMAL' | 'FULL';
  /** Reads logs. */
  operatorToken?: string;
  /** Reads logs too. */
  adminToken?: string;
  logger: Logger;
  /** Where records come from; without it the service only answers queries (tests, reading a copied database). */
  amqp?: { url: string; exchange: string; queue: string };
  ingest?: { prefetch?: number; batchSize?: number; batchBytes?: number; batchDelayMs?: number; backoffInitialMs?: number; backoffMaxMs?: number };
  retention: RetentionPolicy & { intervalMs: number };
  followHeartbeatMs?: number;
  now?: () => number;
}

export interface LogService extends RunnableService {
  /** The open store while running (tests, benchmarks). */
  store(): LogStore | undefined;
  ingestStats(): IngestStats | undefined;
  /** Runs retention now; resolves with what it removed. */
  applyRetention(): ReturnType<LogStore['applyRetention']> | undefined;
}

function badQuery(error: unknown): never {
  if (error instanceof FilterError) throw new HttpError(400, 'BAD_QUERY', error.message, { field: error.field });
  throw error;
}

export function buildLogApp(config: LogServiceConfig, store: LogStore, isReady: () => boolean | HealthReport): Express {
  const now = config.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(config.logger));
  app.use(healthRoutes(isReady));

  const operator = requireBearer([config.operatorToken, config.adminToken]);
  const query = (req: Request) => req.query as Record<string, unknown>;

  app.get(logApi.records, operator, (req, res) => {
    let parsed;
    try {
      parsed = parseQuery(query(req), now(), { extra: ['limit', 'cursor'] });
    } catch (error) {
      badQuery(error);
    }
    const page = store.query(parsed.filter, parsed.limit, parsed.cursor);
    // The records are stored as JSON text: splice them in rather than parse and serialize each.
    const next = page.next ? JSON.stringify(encodeCursor(page.next)) : 'null';
    res.type('application/json').send(`{"records":[${page.rows.map((row) => row.body).join(',')}],"nextCursor":${next}}`);
  });

  app.get(logApi.follow, operator, (req, res) => {
    let parsed;
    try {
      parsed = parseQuery(query(req), now(), { extra: ['tail'] });
    } catch (error) {
      badQuery(error);
    }
    follow(store, parsed.filter, parsed.tail, req, res, config.followHeartbeatMs !== undefined ? { heartbeatMs: config.followHeartbeatMs } : {});
  });

  app.get(logApi.summary, operator, (req, res) => {
    let parsed;
    try {
      parsed = parseSummaryQuery(query(req), now());
    } catch (error) {
      badQuery(error);
    }
    const summary = store.summary(parsed.from, parsed.to, parsed.errors);
    const head = JSON.stringify({
      from: new Date(summary.from).toISOString(),
      to: new Date(summary.to).toISOString(),
      total: summary.total,
      services: summary.services,
    });
    res.type('application/json').send(`${head.slice(0, -1)},"recentErrors":[${summary.recentErrors.map((row) => row.body).join(',')}]}`);
  });

  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/**
 * The log-service: opens the store, serves the API, consumes the logs queue
 * and applies retention on a timer. The API answers even while RabbitMQ is
 * down; readiness says whether records are being consumed.
 */
export function createLogService(config: LogServiceConfig): LogService {
  let store: LogStore | undefined;
  let ingest: LogIngest | undefined;
  let server: RunningHttpServer | undefined;
  let retentionTimer: NodeJS.Timeout | undefined;
  const now = config.now ?? Date.now;

  const applyRetention = () => {
    if (!store) return undefined;
    const started = Date.now();
    const result = store.applyRetention(config.retention, now());
    if (result.removedByAge + result.removedBySize > 0) {
      config.logger.info({ ...result, ms: Date.now() - started }, 'log retention removed old records');
    }
    return result;
  };

  return {
    async start(): Promise<StartedService> {
      if (server) return { url: server.url, port: server.port };
      store = new LogStore(config.dbPath, config.sync ? { synchronous: config.sync } : {});
      const opened = store;
      const currentIngest = config.amqp
        ? new LogIngest({ ...config.amqp, ...config.ingest, store: opened, logger: config.logger })
        : undefined;
      ingest = currentIngest;
      const app = buildLogApp(config, opened, () => {
        const stats = currentIngest?.stats();
        if (!stats || stats.consuming) return { ready: true, ...(stats ? { details: { ingest: stats } } : {}) };
        return { ready: false, reasons: ['not consuming the logs queue: RabbitMQ unreachable (retrying); queries still answer'], details: { ingest: stats } };
      });
      try {
        server = await listenHttp(app, config.host, config.port);
      } catch (error) {
        opened.close();
        store = undefined;
        throw error;
      }
      currentIngest?.start();
      applyRetention();
      retentionTimer = setInterval(() => {
        try {
          applyRetention();
        } catch (error) {
          config.logger.error({ err: error }, 'log retention failed');
        }
      }, config.retention.intervalMs);
      retentionTimer.unref();
      config.logger.info({ url: server.url, dbPath: config.dbPath, records: opened.count() }, 'log-service listening');
      return { url: server.url, port: server.port };
    },
    async stop() {
      const running = server;
      if (!running) return;
      server = undefined;
      clearInterval(retentionTimer);
      await ingest?.stop();
      await running.close();
      store?.close();
      store = undefined;
      ingest = undefined;
      config.logger.info('log-service stopped');
    },
    store: () => store,
    ingestStats: () => ingest?.stats(),
    applyRetention,
  };
}
