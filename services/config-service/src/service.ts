import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Redis } from 'ioredis';
import {
  apiPath,
  changeCommentHeader,
  configApi,
  gatewayStatusEventSchema,
  nullableSettingFields,
  routingKeys,
  type GatewaysAnswer,
  type ServerSettings,
  type SettingsVersion,
} from '@st/contracts';
import { createEventPublisher, createEventSubscriber, type EventPublisher, type EventSubscriber } from '@st/bus';
import type { Logger } from '@st/logging';
import { createHttpService, errorHandler, healthRoutes, HttpError, jsonBody, methodNotAllowed, notFound, requestLog, requireBearer, type RunnableService } from '@st/service-kit';
import { LoginBanStore } from '@st/login-bans';
import { ConfigError } from './errors.js';
import { loginBanRoutes } from './login-bans-routes.js';
import { GatewayReports, outcomeWarnings, versionOutcome, type VersionOutcome } from './gateway-reports.js';
import { derivePortMap } from './port-map.js';
import { publicPorts, renderIptables, renderNftables, renderUfw } from './render-firewall.js';
import { defaultStunnelFiles, renderStunnelConfig } from './render-stunnel.js';
import { applyMergePatch } from './settings-changes.js';
import { SettingsManager, type ChangeResult, type HostResolver } from './settings-manager.js';
import { createFileSettingsStore } from './settings-store.js';
import { formatProblem, validateSettings } from './validate-settings.js';

export interface ConfigServiceConfig {
  /** Settings from the settings file and environment: version 1 of an empty store, later only their changes count. */
  seed: ServerSettings;
  /** Where the settings versions are kept. */
  dataDir: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Reads and changes the settings. */
  adminToken?: string;
  /** Reads the port map only (gateways). */
  serviceToken?: string;
  logger: Logger;
  /** Announce new versions on RabbitMQ; without it gateways only see changes when they poll. */
  amqpUrl?: string;
  eventsExchange?: string;
  /** Clock for version times; tests pin it. */
  now?: () => Date;
  /**
   * How long a change's answer waits for the gateways heard of recently to
   * report the new version (applied or refused); 3 s by default, 0 not at all.
   */
  gatewayWaitMs?: number;
  resolveHost?: HostResolver;
  /** The Redis the gateways share (the same key prefix): where the login defender's bans are listed and lifted. */
  redis?: { url: string; prefix: string };
}

export type { StartedService } from '@st/service-kit';
export type ConfigService = RunnableService;

/** What the HTTP layer works with; the manager is null until the history is open. */
export interface ConfigServiceState {
  manager: SettingsManager | null;
  publisher: EventPublisher | null;
  /** The gateways' reports (over RabbitMQ); empty without a bus. */
  gateways: GatewayReports;
  subscriber: EventSubscriber | null;
  /** The login defender's bans; null without Redis settings. */
  loginBans: LoginBanStore | null;
}

const maxBodyBytes = 64 * 1024;
/** How long a (re)connected publisher waits for the subscription to the replicas' reports before announcing anyway. */
const announcementWaitMs = 5000;

function openManager(state: ConfigServiceState): SettingsManager {
  if (!state.manager) throw new HttpError(503, 'NOT_READY', 'config-service is starting: the settings history is not open yet');
  return state.manager;
}

/** Settings errors keep their code; the status comes from the one catalogue. */
function configErrors(error: unknown, _req: Request, _res: Response, next: NextFunction): void {
  if (error instanceof ConfigError) return next(new HttpError(error.status, error.code, error.message, error.details));
  next(error);
}

/** An ETag is the settings version, so If-Match says which version a change was based on. */
function etag(version: number): string {
  return `"${version}"`;
}

/** `"7"`, `W/"7"` or `7`; `*` (any current version) means no condition. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) throw new HttpError(400, 'INVALID_REQUEST', `If-Match must name one settings version, e.g. "7" (got ${JSON.stringify(header)})`);
  return Number(match[1]);
}

/** A single text query parameter; repeated or empty counts as absent. */
function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** An absolute file path for the rendered file; stunnel has no quoting, so nothing that could end a line or start a comment. */
function filePathParam(req: Request, name: string): string | undefined {
  const value = queryText(req, name);
  if (value === undefined) return undefined;
  if (!value.startsWith('/') || /[\u0000-\u001f\u007f;#]/.test(value)) {
    throw new HttpError(400, 'INVALID_REQUEST', `${name} must be an absolute path without control characters, ";" or "#" (got ${JSON.stringify(value)})`);
  }
  return value;
}

function flag(value: unknown): boolean {
  return value === 'true' || value === '1' || value === '';
}

function versionParam(text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new HttpError(400, 'INVALID_REQUEST', `"${text}" is not a settings version number`);
  return Number(text);
}

function describeVersion(version: SettingsVersion) {
  return {
    version: version.version,
    createdAt: version.createdAt,
    source: version.source,
    comment: version.comment,
    restoredFrom: version.restoredFrom,
    changes: version.changes,
  };
}

/** Which gateways serve the version: waited for (bounded) after a new version, as known otherwise. */
async function gatewaysFor(config: ConfigServiceConfig, state: ConfigServiceState, result: ChangeResult): Promise<VersionOutcome | null> {
  if (result.outcome === 'dry-run') return null;
  const version = result.version.version;
  if (result.outcome === 'unchanged') return state.gateways.outcome(version);
  return state.gateways.waitFor(version, config.gatewayWaitMs ?? 3000);
}

function sendChange(res: Response, result: ChangeResult, gateways: VersionOutcome | null): void {
  const status = result.outcome === 'created' ? 201 : 200;
  if (result.outcome === 'created') res.location(apiPath(configApi.settingsVersion, { version: String(result.version.version) }));
  if (result.outcome !== 'dry-run') res.set('ETag', etag(result.version.version));
  const gatewayWarnings = gateways ? outcomeWarnings(gateways).map((message) => ({ field: 'gateways', message })) : [];
  res.status(status).json({
    outcome: result.outcome,
    ...describeVersion(result.version),
    warnings: [...result.warnings, ...gatewayWarnings],
    ...(gateways ? { gateways } : {}),
    settings: result.version.settings,
    portMap: result.portMap,
  });
}

/** Every port an earlier settings version opened (the current one's included where they coincide; the renderer sorts that out). */
function earlierPublicPorts(manager: SettingsManager) {
  return manager
    .history()
    .slice(1)
    .flatMap((version) => publicPorts(derivePortMap(version.settings, version.version, version.createdAt)));
}

function changeRequest(req: Request) {
  return {
    comment: req.get(changeCommentHeader) ?? null,
    ifMatch: parseIfMatch(req.get('if-match')),
    dryRun: flag(req.query.dryRun),
  };
}

function jsonObjectBody(req: Request, what: string): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'INVALID_REQUEST', `send ${what} as a JSON object with Content-Type: application/json`);
  }
  return body as Record<string, unknown>;
}

export function buildConfigApp(config: ConfigServiceConfig, state: ConfigServiceState): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(config.logger));

  app.use(
    healthRoutes(() => {
      const manager = state.manager;
      if (!manager) return { ready: false, reasons: ['settings history not open yet'] };
      const bus = state.publisher ? (state.publisher.connected ? 'connected' : 'disconnected') : 'not-configured';
      // Unauthenticated: the warnings themselves name hosts, so only their number shows here (GET /settings has them);
      // the same for the gateways (GET /gateways names them).
      const gateways = state.gateways.outcome(manager.current().version);
      const counts = { applied: gateways.applied.length, failed: gateways.failed.length, pending: gateways.pending.length };
      return { ready: true, details: { settingsVersion: manager.current().version, bus, warnings: manager.currentWarnings().length, gateways: counts } };
    }),
  );

  const admin = requireBearer([config.adminToken]);
  const json = jsonBody({ limit: maxBodyBytes, types: ['application/json', 'application/merge-patch+json'] });

  app.get(configApi.portMap, requireBearer([config.adminToken, config.serviceToken]), (_req, res) => {
    const portMap = openManager(state).currentPortMap();
    res.set('ETag', etag(portMap.version)).json(portMap);
  });

  app.get(configApi.settings, admin, (_req, res) => {
    const manager = openManager(state);
    const current = manager.current();
    res.set('ETag', etag(current.version)).json({
      ...describeVersion(current),
      warnings: manager.currentWarnings(),
      gateways: state.gateways.outcome(current.version),
      settings: current.settings,
    });
  });

  app.get(configApi.gateways, admin, (_req, res) => {
    const version = openManager(state).current().version;
    const replicas = state.gateways.list();
    const answer: GatewaysAnswer = {
      settingsVersion: version,
      bus: state.subscriber ? (state.subscriber.connected ? 'connected' : 'disconnected') : 'not-configured',
      summary: versionOutcome(replicas, version),
      replicas,
    };
    res.json(answer);
  });

  app.put(configApi.settings, admin, json, async (req, res) => {
    const body = jsonObjectBody(req, 'the complete settings');
    const result = await openManager(state).propose(body, { source: 'put', ...changeRequest(req) });
    sendChange(res, result, await gatewaysFor(config, state, result));
  });

  app.patch(configApi.settings, admin, json, async (req, res) => {
    const patch = jsonObjectBody(req, 'a JSON merge patch (RFC 7396) of the settings');
    const manager = openManager(state);
    // Applied to whatever version is current when its turn comes; with If-Match, a version changed in between is a conflict instead.
    const result = await manager.propose((current: ServerSettings) => applyMergePatch(current, patch, (field) => nullableSettingFields.includes(field)), { source: 'patch', ...changeRequest(req) });
    sendChange(res, result, await gatewaysFor(config, state, result));
  });

  app.get(configApi.settingsVersions, admin, (req, res) => {
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '50';
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1) throw new HttpError(400, 'INVALID_REQUEST', `limit must be a number from 1 to 9999 (got "${limitText}")`);
    const before = typeof req.query.before === 'string' ? versionParam(req.query.before) : Number.POSITIVE_INFINITY;
    const versions = openManager(state)
      .history()
      .filter((version) => version.version < before)
      .slice(0, Number(limitText));
    res.json({ current: openManager(state).current().version, versions: versions.map(describeVersion) });
  });

  app.get(configApi.settingsVersion, admin, (req, res) => {
    const version = openManager(state).get(versionParam(String(req.params.version)));
    res.json({ ...describeVersion(version), settings: version.settings });
  });

  app.post(configApi.rollback, admin, json, async (req, res) => {
    const body = jsonObjectBody(req, '{ "version": <number>, "comment": <optional text> }');
    if (typeof body.version !== 'number' || !Number.isInteger(body.version) || body.version < 1) {
      throw new HttpError(400, 'INVALID_REQUEST', 'body.version must be the number of the settings version to restore');
    }
    if (body.comment !== undefined && typeof body.comment !== 'string') throw new HttpError(400, 'INVALID_REQUEST', 'body.comment must be text');
    const request = changeRequest(req);
    const result = await openManager(state).rollback(body.version, { ...request, comment: (body.comment as string | undefined) ?? request.comment });
    sendChange(res, result, await gatewaysFor(config, state, result));
  });

  app.get(configApi.stunnelConfig, admin, (req, res) => {
    const portMap = openManager(state).currentPortMap();
    const certFile = filePathParam(req, 'certFile') ?? defaultStunnelFiles.certFile;
    const keyFile = filePathParam(req, 'keyFile') ?? defaultStunnelFiles.keyFile;
    let rendering: ReturnType<typeof renderStunnelConfig>;
    try {
      rendering = renderStunnelConfig(portMap, { certFile, keyFile });
    } catch (error) {
      // The paths were checked above, so what cannot be written comes from the settings.
      throw new ConfigError('NOT_RENDERABLE', `the current settings cannot be written as a stunnel configuration: ${(error as Error).message}`);
    }
    if (req.accepts(['text/plain', 'application/json']) === 'application/json') {
      res.json({ version: portMap.version, ...rendering });
      return;
    }
    res.set('X-Settings-Version', String(portMap.version)).type('text/plain; charset=utf-8').send(rendering.text);
  });

  app.get(configApi.publicPorts, admin, (_req, res) => {
    const portMap = openManager(state).currentPortMap();
    res.json({ version: portMap.version, tunnelEnabled: portMap.tunnelEnabled, ports: publicPorts(portMap) });
  });

  app.get(configApi.firewallRules, admin, (req, res) => {
    const portMap = openManager(state).currentPortMap();
    const format = queryText(req, 'format') ?? 'nftables';
    const family = queryText(req, 'family') ?? 'ipv4';
    if (family !== 'ipv4' && family !== 'ipv6') throw new HttpError(400, 'INVALID_REQUEST', `family must be ipv4 or ipv6 (got "${family}")`);
    const renderers: Record<string, () => string> = {
      nftables: () => renderNftables(portMap),
      iptables: () => renderIptables(portMap, family),
      // ufw cannot replace its own rules as a whole: it is told which earlier ports to close.
      ufw: () => renderUfw(portMap, earlierPublicPorts(openManager(state))),
    };
    const render = renderers[format];
    if (!render) throw new HttpError(400, 'INVALID_REQUEST', `format must be one of ${Object.keys(renderers).join(', ')} (got "${format}")`);
    res.set('X-Settings-Version', String(portMap.version)).type('text/plain; charset=utf-8').send(render());
  });

  app.use(loginBanRoutes(state.loginBans, admin, config.logger));

  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(configErrors);
  app.use(errorHandler);
  return app;
}

/**
 * The config-service: refuses invalid seed settings before anything listens,
 * opens the settings history, serves the API and announces each version.
 */
export function createConfigService(config: ConfigServiceConfig): ConfigService {
  const report = validateSettings(config.seed);
  if (report.errors.length > 0) {
    throw new Error(`invalid server settings:\n${report.errors.map((problem) => `  ${formatProblem(problem)}`).join('\n')}`);
  }
  // Connected on first use: only the ban list needs Redis, and the settings work without it.
  const redis = config.redis
    ? new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 3000, retryStrategy: (attempt) => Math.min(200 * 2 ** attempt, 5000) })
    : null;
  redis?.on('error', (error) => config.logger.debug({ err: error }, 'redis error'));
  const loginBans = redis && config.redis ? new LoginBanStore(redis, config.redis.prefix) : null;
  const state: ConfigServiceState = { manager: null, publisher: null, gateways: new GatewayReports(), subscriber: null, loginBans };
  const app = buildConfigApp(config, state);

  /** Set while the publisher is up and the subscription to the replicas' reports is not (yet). */
  let announcementTimer: NodeJS.Timeout | null = null;

  async function tearDown(): Promise<void> {
    if (announcementTimer) clearTimeout(announcementTimer);
    announcementTimer = null;
    redis?.disconnect();
    const { publisher, subscriber } = state;
    state.publisher = null;
    state.subscriber = null;
    state.manager = null;
    await publisher?.close();
    await subscriber?.close();
  }

  const http = createHttpService(app, {
    host: config.host,
    port: config.port,
    tearDown,
    onStopped: () => config.logger.info('config-service stopped'),
    async onListening(server) {
      const manager = new SettingsManager({
        store: createFileSettingsStore(config.dataDir),
        logger: config.logger,
        now: config.now,
        resolveHost: config.resolveHost,
      });
      await manager.init(config.seed);
      if (config.amqpUrl) {
        /**
         * Events are notifications of state: after any reconnection config-service says again which
         * version is current, and every replica answers with a report. An announcement waits (a while)
         * for the subscription to those reports, or the answers would go nowhere; whichever of the two
         * connections comes up last announces, once.
         */
        const announceNow = () => {
          if (announcementTimer) clearTimeout(announcementTimer);
          announcementTimer = null;
          void state.manager?.announce();
        };
        state.publisher = createEventPublisher({
          url: config.amqpUrl,
          logger: config.logger,
          name: 'config-service',
          exchange: config.eventsExchange,
          onConnected: () => {
            if (state.subscriber?.connected) return announceNow();
            // The subscription announces when it comes up; should it not, the gateways still hear of the version.
            announcementTimer ??= setTimeout(announceNow, announcementWaitMs);
            announcementTimer.unref();
          },
        });
        state.subscriber = createEventSubscriber({
          url: config.amqpUrl,
          logger: config.logger,
          name: 'config-service gateway reports',
          exchange: config.eventsExchange,
          bindings: [routingKeys.gatewayStatus],
          onMessage: (message) => {
            const parsed = gatewayStatusEventSchema.safeParse(message.body);
            if (!parsed.success) throw new Error(`gateway status report does not match its schema: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
            state.gateways.record(parsed.data);
          },
          // Reports sent before this subscription existed are gone: the announcement makes every replica answer now.
          onConnected: () => {
            if (state.publisher?.connected) announceNow();
          },
        });
      }
      manager.attachPublisher(state.publisher);
      state.manager = manager;
      const portMap = manager.currentPortMap();
      config.logger.info(
        {
          url: server.url,
          dataDir: config.dataDir,
          settingsVersion: portMap.version,
          bus: state.publisher ? 'configured' : 'off',
          listeners: portMap.listeners.map((listener) => ({ id: listener.id, ports: listener.ports, upstream: listener.upstream })),
          warnings: manager.currentWarnings(),
        },
        'config-service listening',
      );
    },
  });

  return http;
}
