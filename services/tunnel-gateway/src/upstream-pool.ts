import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PeriodicCheck } from './periodic-check.js';
import { connectWithPooledReads } from './read-buffer-pool.js';

/** Whoever uses an upstream connection gets its bytes and hears when it ends. */
export interface UpstreamUser {
  /** `buffer` comes from the read pool (see connectWithPooledReads). */
  upstreamData(buffer: Buffer, bytes: number): void;
  /** The upstream ended, failed or closed (may be called for each of these). */
  upstreamGone(error: NodeJS.ErrnoException | null): void;
}

/**
 * One TCP connection to the upstream web port. It serves one client
 * connection at a time; between clients it waits in an UpstreamPool.
 */
export class UpstreamConnection {
  readonly socket: Socket;
  /** Responses it delivered completely, to any client: a connection that served none was never reused. */
  responses = 0;
  /** Clients it served before the present one. */
  reuses = 0;
  private user: UpstreamUser | null;
  /** Waiting in the pool for the next client. */
  inPool = false;
  /** False when it speaks for one client only (it began with a PROXY header naming that client). */
  readonly shareable: boolean;
  /**
   * The last byte either way (performance.now() ms): what the upstream's own
   * idle timeout counts from. A client that kept its connection idle before
   * leaving hands on an upstream connection that has been idle as long.
   */
  lastActivity = performance.now();
  private gone = false;

  constructor(
    readonly address: string,
    host: string,
    port: number,
    user: UpstreamUser,
    /** Told when the connection ends while it waits in the pool. */
    private readonly onIdleGone: (connection: UpstreamConnection) => void,
    /** Written first (a PROXY header naming one client): the connection is then never handed to another. */
    preface: Buffer | null = null,
  ) {
    this.user = user;
    this.shareable = preface === null;
    this.socket = connectWithPooledReads({ host, port, noDelay: true }, (buffer, bytes) => {
      this.lastActivity = performance.now();
      if (this.user) this.user.upstreamData(buffer, bytes);
      // Nobody asked: an upstream that talks on an idle connection (some send a 408 before their idle
      // close) is not to be trusted with the next request.
      else this.socket.destroy();
    });
    if (preface) this.socket.write(preface);
    this.socket.on('end', () => this.ended(null));
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.ended(error));
    this.socket.on('close', () => this.ended(null));
  }

  /** Ended, failed or closed: never to be used again. */
  get closed(): boolean {
    return this.gone || this.socket.destroyed;
  }

  /** Nothing in flight either way and both directions open: another client may use it. */
  get reusable(): boolean {
    const socket = this.socket;
    return !this.closed && !socket.connecting && !socket.readableEnded && !socket.writableEnded && socket.writableLength === 0;
  }

  take(user: UpstreamUser): void {
    this.user = user;
    this.inPool = false;
    this.reuses++;
  }

  /** A request goes out on it. */
  sent(): void {
    this.lastActivity = performance.now();
  }

  /** The user lets it go: its 'drain' waits concern nobody, and reads must go on to see the upstream's close. */
  leave(): void {
    this.user = null;
    this.socket.removeAllListeners('drain');
    this.socket.resume();
    this.inPool = true;
  }

  /** Closes it; its user (if any) hears nothing more from it. */
  destroy(): void {
    this.user = null;
    this.socket.destroy();
  }

  private ended(error: NodeJS.ErrnoException | null): void {
    this.gone = true;
    if (this.user) this.user.upstreamGone(error);
    else {
      this.socket.destroy();
      this.onIdleGone(this);
    }
  }
}

export interface UpstreamPoolOptions {
  /** How long an idle connection waits for the next client; 0: connections are not kept. */
  keepMs: () => number;
  /** Idle connections kept per upstream address at most; beyond that they are closed. */
  maxIdlePerAddress?: number;
}

/**
 * Upstream web connections kept between client connections. A client that
 * opens a TLS connection, asks for one file and closes (scripts, `ab`, most
 * one-shot downloads) would otherwise cost the upstream a TCP connection
 * each time, and the gateway its connect, its buffers and its events: a large
 * part of a full TLS handshake's cost here.
 *
 * Idle connections are taken newest first (the least likely to have been
 * closed by the upstream's own idle timeout meanwhile) and closed once keepMs
 * passed since their last byte either way, which should stay below the upstream's keep-alive timeout (Node's
 * and Apache's default is 5 s, nginx's 75 s). A connection the upstream closes
 * while idle leaves the pool at once; one it closes just as it is taken is
 * the caller's to retry on (see HttpsProxy).
 */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly expiry = new PeriodicCheck<UpstreamConnection>((connection, now) => {
    if (now - connection.lastActivity >= this.options.keepMs()) this.drop(connection);
  });
  private readonly maxIdle: number;

  constructor(private readonly options: UpstreamPoolOptions) {
    this.maxIdle = options.maxIdlePerAddress ?? 128;
  }

  /** Idle connections waiting, for all addresses. */
  get idleCount(): number {
    return this.expiry.size;
  }

  /**
   * An idle connection to host:port for `user`, or a new one. `fresh`: a new
   * one in any case (for a request whose body could not be sent again if a
   * kept connection turned out closed).
   */
  acquire(host: string, port: number, user: UpstreamUser, fresh = false, preface: Buffer | null = null): UpstreamConnection {
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const waiting = this.idle.get(address);
    if (!fresh && !preface && waiting) {
      for (let connection = waiting.pop(); connection; connection = waiting.pop()) {
        this.expiry.delete(connection);
        if (waiting.length === 0) this.idle.delete(address);
        if (connection.reusable) {
          connection.take(user);
          return connection;
        }
        connection.destroy();
      }
    }
    return new UpstreamConnection(address, host, port, user, (gone) => this.drop(gone), preface);
  }

  /** The user is done with `connection`: kept for the next one when `clean` and there is room, else closed. */
  release(connection: UpstreamConnection, clean: boolean): void {
    const keepMs = this.options.keepMs();
    let waiting = this.idle.get(connection.address);
    const idleFor = performance.now() - connection.lastActivity;
    if (!clean || !connection.shareable || keepMs <= 0 || idleFor >= keepMs || !connection.reusable || (waiting?.length ?? 0) >= this.maxIdle) {
      connection.destroy();
      return;
    }
    connection.leave();
    if (!waiting) this.idle.set(connection.address, (waiting = []));
    waiting.push(connection);
    this.expiry.add(connection, Math.max(25, Math.min(1000, Math.floor(keepMs / 4))));
  }

  close(): void {
    for (const connection of [...this.expiry.values()]) connection.destroy();
    this.expiry.clear();
    this.idle.clear();
  }

  private drop(connection: UpstreamConnection): void {
    connection.destroy();
    // Only idle connections are in the pool's lists.
    if (!connection.inPool) return;
    this.expiry.delete(connection);
    const waiting = this.idle.get(connection.address);
    if (!waiting) return;
    const index = waiting.indexOf(connection);
    if (index !== -1) waiting.splice(index, 1);
    if (waiting.length === 0) this.idle.delete(connection.address);
  }
}
