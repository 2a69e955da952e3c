import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from '@st/logging';
import type { TlsContextHolder } from './tls-context.js';
import { describeHandshakeError } from './handshake-errors.js';

/** The first byte of every TLS connection: a handshake record. */
const tlsHandshakeRecordType = 0x16;

export interface AcceptedConnection {
  raw: net.Socket;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export interface TlsListenerHandlers {
  /** Runs before any TLS work; returning a string refuses the connection with that reason. */
  admit?: (connection: AcceptedConnection) => Promise<string | null> | string | null;
  onSecure: (socket: TLSSocket, connection: AcceptedConnection) => void;
  /** When present and it returns true for a connection that does not start with TLS, the raw socket is handed over. */
  acceptPlain?: (connection: AcceptedConnection) => boolean;
  onPlain?: (socket: net.Socket, connection: AcceptedConnection) => void;
}

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
    const admitted = this.options.handlers.admit ? this.options.handlers.admit(connection) : null;
    if (admitted instanceof Promise) {
      admitted.then(
        (refusal) => this.afterAdmission(connection, refusal),
        (error: Error) => this.afterAdmission(connection, `admission check failed: ${error.message}`),
      );
    } else {
      this.afterAdmission(connection, admitted);
    }
  }

  private afterAdmission(connection: AcceptedConnection, refusal: string | null): void {
    const { raw } = connection;
    if (refusal !== null) {
      this.options.logger.warn(
        { client: connection.remoteAddress, clientPort: connection.remotePort, port: connection.localPort, reason: refusal },
        'connection refused',
      );
      raw.destroy();
      return;
    }
    if (raw.destroyed) return;
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

    const startTls = () => {
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
    };

    const { acceptPlain, onPlain } = this.options.handlers;
    if (acceptPlain && onPlain && acceptPlain(connection)) {
      // Only listeners that may carry clear data sniff the first byte.
      raw.once('data', (chunk: Buffer) => {
        raw.pause();
        raw.unshift(chunk);
        if (chunk[0] === tlsHandshakeRecordType) {
          startTls();
        } else {
          clearTimeout(timer);
          onPlain(raw, connection);
        }
      });
      raw.resume();
      return;
    }
    startTls();
    raw.resume();
  }
}
