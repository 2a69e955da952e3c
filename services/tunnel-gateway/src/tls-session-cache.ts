import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/** As long as a session ticket lives (tls-context.ts sessionTimeout). */
const sessionLifetimeSeconds = 600;
/** A resumption that Redis does not answer within this becomes a full handshake. */
const lookupTimeoutMs = 500;

/**
 * TLS sessions by session id, shared by every gateway process through Redis:
 * for clients that resume by session id instead of a session ticket (curl
 * turns TLS 1.2 tickets off), so that an FTP data connection resumes its
 * control connection's session on whichever replica or worker it lands.
 *
 * A session holds its master secret: it is stored encrypted (AES-256-GCM,
 * the key derived from the ticket secret every replica shares) under a hash
 * of its id, and only for its lifetime. With `binding` (an FTP control
 * session's own, when session reuse is required) a session resumes only
 * where that binding is expected: another session from the same address
 * cannot hand in its own session id on someone else's data port.
 */
export class TlsSessionCache {
  private readonly key: Buffer;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    secret: Buffer,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'secure-transfers session cache', 'aes-256-gcm', 32));
  }

  private keyOf(sessionId: Buffer): string {
    return `${this.prefix}tls-session:${createHash('sha256').update(sessionId).digest('hex')}`;
  }

  async store(sessionId: Buffer, session: Buffer, binding: string | undefined): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    // The binding is authenticated with the session: it cannot be swapped in Redis.
    cipher.setAAD(Buffer.from(binding ?? ''));
    const sealed = Buffer.concat([iv, cipher.update(session), cipher.final(), cipher.getAuthTag()]);
    await this.redis.set(this.keyOf(sessionId), `${binding ?? ''}.${sealed.toString('base64')}`, 'EX', sessionLifetimeSeconds);
  }

  /** The session to resume, or null: unknown, expired, bound to another session, tampered with, or Redis away. */
  async load(sessionId: Buffer, binding: string | undefined): Promise<Buffer | null> {
    const stored = await this.redis.get(this.keyOf(sessionId));
    if (stored === null) return null;
    const dot = stored.indexOf('.');
    if (dot < 0 || stored.slice(0, dot) !== (binding ?? '')) return null;
    const sealed = Buffer.from(stored.slice(dot + 1), 'base64');
    if (sealed.length < 12 + 16 + 1) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
      decipher.setAAD(Buffer.from(binding ?? ''));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
    } catch {
      return null;
    }
  }

  /**
   * What a server-side TLSSocket takes as its `server` option so that OpenSSL
   * hands its sessions here and asks here for them by id: Node's TLS layer
   * emits newSession and resumeSession on it. An FTP control connection
   * stores (`role: 'store'`: its data connections resume it), a data
   * connection looks up (`'resume'`); each only what it needs, so a
   * connection costs Redis one command at most. TLS 1.3 sessions are not
   * stored: they resume with their tickets. `binding()` is read when the
   * event comes (a connection learns it as it is admitted).
   */
  eventsFor(role: 'store' | 'resume', binding: () => string | undefined, protocol: () => string | null): EventEmitter {
    const events = new EventEmitter();
    if (role === 'store') {
      events.on('newSession', (sessionId: Buffer, session: Buffer, done: () => void) => {
        if (protocol() === 'TLSv1.3') return done();
        this.store(sessionId, session, binding()).then(done, done);
      });
      return events;
    }
    events.on('resumeSession', (sessionId: Buffer, done: (error: Error | null, session: Buffer | null) => void) => {
      let answered = false;
      const answer = (session: Buffer | null) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        done(null, session);
      };
      const timer = setTimeout(() => answer(null), lookupTimeoutMs);
      this.load(sessionId, binding()).then(answer, () => answer(null));
    });
    return events;
  }
}
