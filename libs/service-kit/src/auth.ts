import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './http-errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares in constant time whatever the lengths, by comparing digests. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Requires `Authorization: Bearer <token>` matching one of the accepted tokens.
 * With no accepted token configured every request is refused: nothing is open
 * by default.
 */
export function requireBearer(acceptedTokens: ReadonlyArray<string | undefined>): RequestHandler {
  const accepted = acceptedTokens.filter((token): token is string => typeof token === 'string' && token.length > 0);
  return (req, _res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) return next(new HttpError(401, 'UNAUTHENTICATED', 'missing bearer token'));
    const presented = match[1];
    let ok = false;
    for (const token of accepted) ok = tokenMatches(presented, token) || ok;
    if (!ok) return next(new HttpError(403, 'FORBIDDEN', 'token not accepted for this endpoint'));
    next();
  };
}
