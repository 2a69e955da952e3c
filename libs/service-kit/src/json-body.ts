import express, { type Express, type RequestHandler } from 'express';
import { HttpError } from './http-errors.js';

/** Whether a request carries a body at all (RFC 9112 §6.3: Transfer-Encoding, or a Content-Length above 0). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * express.json() with an answer for a body it would skip: JSON sent without
 * (or with another) Content-Type is refused with 415 saying so, instead of
 * reaching the route as an empty body and failing there as "field: Required".
 */
export function jsonBody(options: { limit: number; types?: readonly string[] }): RequestHandler {
  const types = [...(options.types ?? ['application/json'])];
  const parse = express.json({ limit: options.limit, type: types });
  return (req, res, next) => {
    if (!hasBody(req.headers) || req.is(types)) return parse(req, res, next);
    const given = req.get('content-type');
    next(
      new HttpError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `send the body as JSON with Content-Type: ${types.join(' or ')} (this request has ${given ? `Content-Type: ${given}` : 'no Content-Type'})`,
      ),
    );
  };
}

interface RouteInfo {
  path: string;
  methods: string[];
}

/** The routes an app (and routers mounted at its root) declares with string paths. */
function declaredRoutes(app: Express): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const visit = (stack: unknown[]) => {
    for (const layer of stack as Array<{ route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } }>) {
      if (layer.route && typeof layer.route.path === 'string') {
        routes.push({ path: layer.route.path, methods: Object.keys(layer.route.methods).filter((method) => layer.route!.methods[method]) });
      } else if (Array.isArray(layer.handle?.stack)) {
        visit(layer.handle.stack);
      }
    }
  };
  visit((app as unknown as { router: { stack: unknown[] } }).router.stack);
  return routes;
}

/** The methods the routes allow on a concrete path (`:name` matches one segment); HEAD comes with GET. Pure. */
export function allowedMethods(routes: readonly RouteInfo[], path: string): string[] {
  const allowed = new Set<string>();
  for (const route of routes) {
    const pattern = new RegExp(`^${route.path.split(/(:[A-Za-z]+)/).map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}/?$`);
    if (!pattern.test(path)) continue;
    for (const method of route.methods) allowed.add(method.toUpperCase());
  }
  if (allowed.has('GET')) allowed.add('HEAD');
  return [...allowed].sort();
}

/**
 * Placed after the routes: a path that exists with other methods gets 405
 * and an Allow header (RFC 9110 §15.5.6) instead of a 404 that suggests a
 * wrong path.
 */
export function methodNotAllowed(app: Express): RequestHandler {
  let routes: RouteInfo[] | null = null;
  return (req, res, next) => {
    routes ??= declaredRoutes(app);
    const allowed = allowedMethods(routes, req.path);
    if (allowed.length === 0) return next();
    res.set('Allow', allowed.join(', '));
    next(new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}`));
  };
}
