import type { ErrorRequestHandler, RequestHandler } from 'express';

/** An error with a stable code and the HTTP status it maps to. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The last route: anything not matched before it is a 404 in the usual error shape. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof HttpError) {
    res.status(err.status).json({ error: { code: err.code, message: err.message, details: err.details } });
    return;
  }
  // express.json() reports malformed or oversized bodies with a status of its own.
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  const code = status === 500 ? 'INTERNAL' : String(err?.type ?? 'BAD_REQUEST').toUpperCase().replace(/\W+/g, '_');
  res.status(status).json({ error: { code, message: status === 500 ? 'internal error' : String(err?.message ?? err) } });
};
