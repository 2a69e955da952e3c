import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from '@st/logging';
import type { TlsContextHolder } from './tls-context.js';
import { describeHandshakeError } from './handshake-errors.js';

export interface AcceptedConnection {
  raw: net.Socket;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

/**
 * What to do with an accepted connection, decided before any TLS work. The
 * state travels with the connection to the handler that takes it over.
 */
export type Admission<State> = { refuse: string } | { tls: true; state: State } | { plain: true; state: State };

export interface TlsListenerHandlers<State> {
  admit: (connection: AcceptedConnection) => Promise<Admission<State>> | Admission<State>;
  onSecure: (socket: TLSSocket, connection: AcceptedConnection, state: State) => void;
  /** Receives connections admitted as plain (clear FTP data when policy allows it). */
  onPlain?: (socket: net.Socket, connection: AcceptedConnection, state: State) => void;
  /** An admitted connection that never became secure. */
  onHandshakeFailed?: (connection: AcceptedConnection, state: State, reason: string) => void;
}

/** For listeners that take every connection. */
export function admitAll(): Admission<undefined> {
  return { tls: true, state: undefined };
}

export interface TlsListenerOptions<State> {
  host: string;
  port: number;
  contexts: TlsContextHolder;
  handshakeTimeoutMs: () => number;
  logger: Logger;
  handlers: TlsListenerHandlers<State>;
  /** Keep our side writable after the client's FIN (HTTP: a request followed by FIN still gets its response). */
  allowHalfOpen?: boolean;
}

export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * One TCP port that terminates TLS. A plain net.Server accepts so that the
 * gateway sees the peer before any TLS work (a refused data connection costs
 * no handshake) and keeps the raw socket to reset it when a relay must signal
 * failure; the TLS layer is added on the accepted socket.
 */
export class TlsListener<State = undefined> {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private closing = false;

  constructor(private readonly options: TlsListenerOptions<State>) {
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: options.allowHalfOpen ?? false }, (raw) => this.accept(raw));
    this.server.on('error', (error) => options.logger.error({ err: error, port: options.port }, 'listener error'));
  }

  get port(): number {
    return this.options.port;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen({ host: this.options.host, port: this.options.port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /**
   * Stops accepting at once; open connections may finish for drainMs, then are
   * destroyed. Resolves when the last one is gone.
   */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.sockets.size > 0) {
      const drained = new Promise<void>((resolve) => {
        const check = () => {
          if (this.sockets.size === 0) resolve();
        };
        for (const socket of this.sockets) socket.once('close', check);
        check();
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const socket of this.sockets) socket.destroy();
          resolve();
        }, drainMs);
      });
      await Promise.race([drained, deadline]);
      clearTimeout(timer);
    }
    await closed;
  }

  private accept(raw: net.Socket): void {
    if (this.closing) {
      raw.destroy();
      return;
    }
    this.sockets.add(raw);
    raw.once('close', () => this.sockets.delete(raw));
    raw.on('error', () => undefined);
    const connection: AcceptedConnection = {
      raw,
      remoteAddress: normalizeAddress(raw.remoteAddress),
      remotePort: raw.remotePort ?? 0,
      // Asked of the socket only when needed (PASV without a public address): it costs a system call
      // per connection, and at a thousand handshakes a second every such call shows.
      get localAddress() {
        return normalizeAddress(raw.localAddress);
      },
      localPort: this.options.port || (raw.localPort ?? 0),
    };
    let admission: Promise<Admission<State>> | Admission<State>;
    try {
      admission = this.options.handlers.admit(connection);
    } catch (error) {
      admission = { refuse: `admission check failed: ${(error as Error).message}` };
    }
    if (admission instanceof Promise) {
      admission.then(
        (decided) => this.afterAdmission(connection, decided),
        (error: Error) => this.afterAdmission(connection, { refuse: `admission check failed: ${error.message}` }),
      );
    } else {
      this.afterAdmission(connection, admission);
    }
  }

  private afterAdmission(connection: AcceptedConnection, admission: Admission<State>): void {
    const { raw } = connection;
    if ('refuse' in admission) {
      this.options.logger.warn(
        { client: connection.remoteAddress, clientPort: connection.remotePort, port: connection.localPort, reason: admission.refuse },
        'connection refused',
      );
      raw.destroy();
      return;
    }
    const { state } = admission;
    const { handlers } = this.options;
    let secure = false;
    let failed = false;
    const fail = (error: Error & { code?: string }) => {
      clearTimeout(timer);
      if (failed || secure) return;
      failed = true;
      const reason = describeHandshakeError(error);
      handlers.onHandshakeFailed?.(connection, state, reason);
      this.options.logger.warn(
        {
          client: connection.remoteAddress,
          clientPort: connection.remotePort,
          port: connection.localPort,
          reason,
          code: error.code,
        },
        'TLS handshake failed',
      );
      raw.destroy();
    };
    if (raw.destroyed) return fail(new Error('socket hang up before the TLS handshake'));
    if ('plain' in admission && handlers.onPlain) {
      handlers.onPlain(raw, connection, state);
      return;
    }
    const timer = setTimeout(() => fail(new Error('TLS handshake timeout')), this.options.handshakeTimeoutMs());
    // Every connection closes some day; only one that never became secure needs the Error (and its stack trace).
    raw.once('close', () => {
      if (!secure) fail(new Error('socket hang up before the TLS handshake'));
    });

    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.options.contexts.current,
      requestCert: false,
      rejectUnauthorized: false,
    });
    socket.once('error', fail);
    socket.once('secure', () => {
      clearTimeout(timer);
      if (failed) return;
      secure = true;
      socket.off('error', fail);
      handlers.onSecure(socket, connection, state);
    });
    raw.resume();
  }
}
