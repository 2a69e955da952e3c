import { Readable } from 'node:stream';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { changeCommentHeader, configApi, logApi } from '@st/contracts';
import type { Logger } from '@st/logging';
import { errorHandler, HttpError, notFound, tokenMatches } from '@st/service-kit';
import type { Backends } from './backends.js';
import { collectOverview } from './overview.js';
import { callKind, proxyRoutes, targetPath, type CallKind } from './routes-table.js';
import { cookieValue, roleForSecret, type Credentials, type Session, type SessionStore } from './sessions.js';
import type { SignInThrottle } from './sign-in-throttle.js';

export const csrfHeader = 'x-csrf-token';

export interface ConsoleAppDeps {
  backends: Backends;
  sessions: SessionStore;
  throttle: SignInThrottle;
  credentials: Credentials;
  gatewayHealthUrls: readonly string[];
  /** Built front-end (index.html, app.js, app.css). */
  publicDir: string;
  /** Served over TLS: the cookie is Secure and __Host- prefixed, HSTS is sent. */
  tls: boolean;
  logger: Logger;
  now?: () => number;
}

/**
 * Scripts and styles come only from this origin (the bundle), nothing inline;
 * the page may not be framed, and forms and fetches go nowhere else.
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

type SignedInRequest = Request & { session?: Session };

export function createConsoleApp(deps: ConsoleAppDeps): Express {
  const now = deps.now ?? Date.now;
  const cookieName = deps.tls ? '__Host-st-console' : 'st-console';
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': contentSecurityPolicy,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      ...(deps.tls ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
    });
    next();
  });

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get('/health/ready', (_req, res) => {
    res.json({ status: 'ready' });
  });

  app.use(express.static(deps.publicDir, { index: 'index.html', maxAge: 0, setHeaders: (res) => res.set('Cache-Control', 'no-cache') }));

  app.use('/api', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  app.use('/api', express.json({ limit: '2mb', type: 'application/json' }));

  const clientAddress = (req: Request) => req.socket.remoteAddress ?? 'unknown';

  const audit = (req: SignedInRequest, action: string, status: number, extra: Record<string, unknown> = {}) => {
    const session = req.session;
    const record = { change: { who: session?.who, role: session?.role, client: clientAddress(req), action, method: req.method, path: req.path, status, ...extra } };
    if (status >= 400) deps.logger.warn(record, `console change refused or failed: ${action}`);
    else deps.logger.info(record, `console change: ${action}`);
  };

  // Sign-in. JSON only: a cross-site form cannot send application/json without a preflight that this origin never allows.
  app.post('/api/session', (req, res, next) => {
    const address = clientAddress(req);
    const wait = deps.throttle.waitMs(address, now());
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      res.set('Retry-After', String(seconds));
      deps.logger.warn({ client: address, retryAfterS: seconds }, 'console sign-in attempt refused: too many failures from this address');
      return next(new HttpError(429, 'TOO_MANY_ATTEMPTS', `too many failed sign-ins from this address; try again in ${seconds} s`));
    }
    const body = (req.body ?? {}) as { secret?: unknown; name?: unknown };
    if (!req.is('application/json') || typeof body.secret !== 'string' || body.secret === '') {
      return next(new HttpError(400, 'BAD_REQUEST', 'send JSON { "secret": "<admin or operator token, or console password>", "name": "<your name>" }'));
    }
    const name = typeof body.name === 'string' ? body.name.trim().replace(/[^\p{L}\p{N} ._@-]/gu, '').slice(0, 60) : '';
    const match = roleForSecret(body.secret, deps.credentials);
    if (!match) {
      deps.throttle.failed(address, now());
      deps.logger.warn({ client: address }, 'console sign-in failed: wrong token or password');
      return next(new HttpError(401, 'SIGN_IN_FAILED', 'that token or password is not accepted'));
    }
    deps.throttle.succeeded(address);
    const who = `${name || match.role} (${match.role}, ${match.method}, from ${address})`;
    const session = deps.sessions.create(match.role, who, now());
    res.set('Set-Cookie', `${cookieName}=${session.id}; Path=/; HttpOnly; SameSite=Strict${deps.tls ? '; Secure' : ''}`);
    deps.logger.info({ who, role: match.role, client: address }, 'console sign-in');
    res.status(201).json({ role: session.role, who: session.who, csrfToken: session.csrfToken });
  });

  // Every other /api route needs a session.
  app.use('/api', (req: SignedInRequest, _res, next) => {
    const session = deps.sessions.find(cookieValue(req.headers.cookie, cookieName), now());
    if (!session) return next(new HttpError(401, 'SIGN_IN_REQUIRED', 'sign in first (the session ended or never began)'));
    req.session = session;
    next();
  });

  /** Any method but GET/HEAD must carry the session's CSRF token; changes need the admin role. */
  const guard = (req: SignedInRequest, kind: CallKind, action: string): HttpError | undefined => {
    const session = req.session!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const presented = req.get(csrfHeader) ?? '';
      if (!presented || !tokenMatches(presented, session.csrfToken)) {
        audit(req, action, 403, { reason: 'missing or wrong CSRF token' });
        return new HttpError(403, 'CSRF_TOKEN_INVALID', 'this change did not carry the page\'s CSRF token; reload the console and try again');
      }
    }
    if ((kind === 'change' || kind === 'secret') && session.role !== 'admin') {
      audit(req, action, 403, { reason: 'operator role' });
      return new HttpError(403, 'READ_ONLY_ROLE', 'signed in as operator: you can see everything but change nothing; sign in with the admin token to change it');
    }
    return undefined;
  };

  app.get('/api/session', (req: SignedInRequest, res) => {
    const session = req.session!;
    res.json({ role: session.role, who: session.who, csrfToken: session.csrfToken });
  });

  app.delete('/api/session', (req: SignedInRequest, res, next) => {
    const refused = guard(req, 'read', 'sign out');
    if (refused) return next(refused);
    deps.sessions.delete(req.session!.id);
    res.set('Set-Cookie', `${cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${deps.tls ? '; Secure' : ''}`);
    res.status(204).end();
  });

  app.get('/api/overview', async (_req, res, next) => {
    try {
      res.json(await collectOverview(deps.backends, deps.gatewayHealthUrls));
    } catch (error) {
      next(error);
    }
  });

  // Start/Stop: the tunnel's switch is a setting, so the history shows who stopped it.
  app.post('/api/tunnel', async (req: SignedInRequest, res, next) => {
    const enabled = (req.body as { enabled?: unknown } | undefined)?.enabled;
    const action = enabled === true ? 'start tunnel' : 'stop tunnel';
    const refused = guard(req, 'change', action);
    if (refused) return next(refused);
    if (typeof enabled !== 'boolean') return next(new HttpError(400, 'BAD_REQUEST', 'send { "enabled": true } to start or { "enabled": false } to stop'));
    try {
      const response = await deps.backends.call('config', {
        method: 'PATCH',
        path: configApi.settings,
        headers: { 'content-type': 'application/merge-patch+json', [changeCommentHeader]: headerSafe(`${action} from the console by ${req.session!.who}`) },
        body: JSON.stringify({ tunnelEnabled: enabled }),
      });
      audit(req, action, response.status);
      await relay(response, res);
    } catch (error) {
      next(unreachable('config', error));
    }
  });

  app.get('/api/logs/follow', async (req, res, next) => {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      const lastEventId = req.get('last-event-id');
      const response = await deps.backends.call('logs', {
        path: `${logApi.follow}${queryString(req)}`,
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal: abort.signal,
        timeoutMs: 0,
      });
      res.status(response.status);
      res.set({ 'Content-Type': response.headers.get('content-type') ?? 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      if (!response.body) return res.end();
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).on('error', () => res.end()).pipe(res);
    } catch (error) {
      if (abort.signal.aborted) return;
      next(unreachable('logs', error));
    }
  });

  for (const route of proxyRoutes) {
    const method = route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete';
    app[method](route.path, async (req: SignedInRequest, res: Response, next: NextFunction) => {
      const kind = callKind(route, req.query as Record<string, unknown>);
      const refused = guard(req, kind, route.action);
      if (refused) return next(refused);
      const headers: Record<string, string> = {};
      for (const name of ['accept', 'if-match'] as const) {
        const value = req.get(name);
        if (value) headers[name] = value;
      }
      let body: string | undefined;
      if (route.method !== 'GET' && route.method !== 'DELETE') {
        body = JSON.stringify(req.body ?? {});
        headers['content-type'] = 'application/json';
      }
      if (kind === 'change' && route.backend === 'config') {
        const comment = req.get(changeCommentHeader);
        headers[changeCommentHeader] = headerSafe(`${comment ? `${comment} — ` : ''}from the console by ${req.session!.who}`);
      }
      try {
        const response = await deps.backends.call(route.backend, {
          method: route.method,
          path: `${targetPath(route.target, req.params)}${queryString(req)}`,
          headers,
          ...(body !== undefined ? { body } : {}),
        });
        if (kind === 'change' || kind === 'secret') audit(req, route.action, response.status, { target: targetPath(route.target, req.params) });
        await relay(response, res);
      } catch (error) {
        next(unreachable(route.backend, error));
      }
    });
  }

  app.use('/api', notFound);
  // Anything else is the page itself (one page; the tabs are in the URL's hash).
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

function queryString(req: Request): string {
  const index = req.originalUrl.indexOf('?');
  return index < 0 ? '' : req.originalUrl.slice(index);
}

/** Header values are one line of Latin-1: anything else is replaced. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);
}

function unreachable(backend: string, error: unknown): HttpError {
  const name = backend === 'config' ? 'config-service' : backend === 'cert' ? 'cert-service' : 'log-service';
  return new HttpError(502, 'SERVICE_UNREACHABLE', `${name} cannot be reached: ${(error as Error).message}`);
}

/** Passes a service's answer on: status, the headers a browser needs, the body. */
async function relay(response: globalThis.Response, res: Response): Promise<void> {
  res.status(response.status);
  for (const name of ['content-type', 'content-disposition', 'etag', 'location', 'retry-after']) {
    const value = response.headers.get(name);
    if (value) res.set(name, value);
  }
  res.end(Buffer.from(await response.arrayBuffer()));
}
