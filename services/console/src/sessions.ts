import { randomBytes } from 'node:crypto';
import { tokenMatches } from '@st/service-kit';

/** admin changes things; operator sees everything and changes nothing. */
export type Role = 'admin' | 'operator';

export interface Session {
  id: string;
  role: Role;
  /** Who signed in, as shown in the change log: the role, the name they gave, how they signed in. */
  who: string;
  /** Sent back in X-CSRF-Token on every change; the cookie alone never authorises one. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionLimits {
  idleMs: number;
  maxMs: number;
}

/** Sessions in memory: a console restart signs everyone out, which is the safe direction. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly limits: SessionLimits) {}

  create(role: Role, who: string, now: number): Session {
    const session: Session = { id: randomBytes(32).toString('base64url'), role, who, csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    this.prune(now);
    return session;
  }

  /** The live session for a cookie value, touched; undefined when unknown or expired. */
  find(id: string | undefined, now: number): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (now - session.lastSeenAt > this.limits.idleMs || now - session.createdAt > this.limits.maxMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private prune(now: number): void {
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeenAt > this.limits.idleMs || now - session.createdAt > this.limits.maxMs) this.sessions.delete(id);
    }
  }
}

export interface Credentials {
  adminToken?: string | undefined;
  operatorToken?: string | undefined;
  adminPassword?: string | undefined;
  operatorPassword?: string | undefined;
}

/** Which role a presented secret signs in as, comparing every candidate in constant time. */
export function roleForSecret(presented: string, credentials: Credentials): { role: Role; method: 'token' | 'password' } | undefined {
  const candidates: Array<[string | undefined, Role, 'token' | 'password']> = [
    [credentials.adminToken, 'admin', 'token'],
    [credentials.adminPassword, 'admin', 'password'],
    [credentials.operatorToken, 'operator', 'token'],
    [credentials.operatorPassword, 'operator', 'password'],
  ];
  let found: { role: Role; method: 'token' | 'password' } | undefined;
  for (const [secret, role, method] of candidates) {
    if (!secret) continue;
    // Every candidate is compared, so the time taken does not tell which one matched.
    if (tokenMatches(presented, secret) && !found) found = { role, method };
  }
  return found;
}

/** The cookie value of `name` in a Cookie header (RFC 6265 §5.4 pairs). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
