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

/** What to do with an accepted connection, decided before any TLS work. */
export type Admission = { refuse: string } | { tls: true } | { plain: true };

export interface TlsListenerHandlers {
  admit?: (connection: AcceptedConnection) => Promise<Admission> | Admission;
  onSecure: (socket: TLSSocket, connection: AcceptedConnection) => void;
  /** Receives connections admitted as plain (clear FTP data when policy allows it). */
  onPlain?: (socket: net.Socket, connection: AcceptedConnection) => void;
}

const admitTls: Admission = { tls: true };

export interface TlsListenerOptions {
  host: string;
  port: number;
  contexts: TlsContextHolder;
  handshakeTimeoutMs: () => number;
  logger: Logger;
  handlers: TlsListenerHandlers;
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
export class TlsListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private closing = false;

  constructor(private readonly options: TlsListenerOptions) {
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, (raw) => this.accept(raw));
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
      localAddress: normalizeAddress(raw.localAddress),
      localPort: raw.localPort ?? this.options.port,
    };
    const admission = this.options.handlers.admit ? this.options.handlers.admit(connection) : admitTls;
    if (admission instanceof Promise) {
      admission.then(
        (decided) => this.afterAdmission(connection, decided),
        (error: Error) => this.afterAdmission(connection, { refuse: `admission check failed: ${error.message}` }),
      );
    } else {
      this.afterAdmission(connection, admission);
    }
  }

  private afterAdmission(connection: AcceptedConnection, admission: Admission): void {
    const { raw } = connection;
    if ('refuse' in admission) {
      this.options.logger.warn(
        { client: connection.remoteAddress, clientPort: connection.remotePort, port: connection.localPort, reason: admission.refuse },
        'connection refused',
      );
      raw.destroy();
      return;
    }
    if (raw.destroyed) return;
    if ('plain' in admission && this.options.handlers.onPlain) {
      this.options.handlers.onPlain(raw, connection);
      return;
    }
    const timeoutMs = this.options.handshakeTimeoutMs();
    const timer = setTimeout(() => fail(new Error('TLS handshake timeout')), timeoutMs);
    const fail = (error: Error & { code?: string }) => {
      clearTimeout(timer);
      this.options.logger.warn(
        {
          client: connection.remoteAddress,
          clientPort: connection.remotePort,
          port: connection.localPort,
          reason: describeHandshakeError(error),
          code: error.code,
        },
        'TLS handshake failed',
      );
      raw.destroy();
    };
    raw.once('close', () => clearTimeout(timer));

    const socket = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.options.contexts.current,
      requestCert: false,
      rejectUnauthorized: false,
    });
    socket.once('error', fail);
    socket.once('secure', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      this.options.handlers.onSecure(socket, connection);
    });
    raw.resume();
  }
}
