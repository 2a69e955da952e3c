import type { Socket } from 'node:net';
import type { ForwardedFor } from './http1/request-head.js';
import { HttpsConnection, type HttpsConnectionOptions } from './https-connection.js';
import { PeriodicCheck } from './periodic-check.js';
import { normalizeAddress } from './tls-listener.js';
import { UpstreamPool } from './upstream-pool.js';

export type HttpsProxyOptions = HttpsConnectionOptions;

/** How often the head, connect and idle deadlines are checked (see PeriodicCheck): they fire up to this much late. */
const deadlineCheckMs = 250;

/**
 * Reverse proxy from decrypted HTTPS connections to the upstream web port.
 *
 * Each client connection has one upstream TCP connection at a time, taken at
 * its first request from the connections earlier clients left (UpstreamPool)
 * or opened then. Earlier versions parsed every request and
 * response in a node http.Server and forwarded them through http-proxy and a
 * keep-alive agent; profiles showed most of the CPU going to parsing responses
 * in JavaScript and to the stream layers bodies crossed. Here:
 *
 * - client → upstream: requests are read by a strict HTTP/1.1 reader (the
 *   only place untrusted bytes are interpreted; smuggling attempts end in 400),
 *   each head is rewritten with our forwarding headers, bodies pass through as
 *   slices of the received buffers;
 * - upstream → client: bytes are written unchanged; a ResponseObserver only
 *   counts them to pair responses with requests (pipelining, HEAD, 1xx),
 *   to see whether an upgrade was accepted, and to tell a finished response
 *   from one cut short when the upstream closes.
 *
 * One connection's life is HttpsConnection (https-connection.ts); its
 * decisions are the pure rules of http1/relay-rules.ts. The TLS sockets are
 * handed in by a TlsListener; this class never listens.
 */
export class HttpsProxy {
  /** The open connections, whose deadlines are checked while there are any. */
  private readonly connections = new PeriodicCheck<HttpsConnection>((connection, now) => connection.checkDeadlines(now));
  private readonly pool: UpstreamPool;

  constructor(private readonly options: HttpsProxyOptions) {
    this.pool = new UpstreamPool({ keepMs: options.upstreamKeepAliveMs });
  }

  /** Upstream connections waiting for the next client. */
  get idleUpstreamConnections(): number {
    return this.pool.idleCount;
  }

  /**
   * `forwarded` is what the listener already learnt about the peer (without it
   * the socket is asked); `conn` names the connection in every record about
   * it, as in the "HTTPS connection opened" record; `upstreamPreface` (a PROXY
   * header naming the client) goes first on each of its upstream connections,
   * which are then its own, never kept for another client.
   */
  handle(socket: Socket, forwarded?: ForwardedFor, conn?: string, upstreamPreface: Buffer | null = null): void {
    const connection = new HttpsConnection(
      socket,
      forwarded ?? { clientAddress: normalizeAddress(socket.remoteAddress), port: socket.localPort ?? 0 },
      conn ?? null,
      this.options,
      this.pool,
      () => this.connections.delete(connection),
      upstreamPreface,
    );
    this.connections.add(connection, deadlineCheckMs);
  }

  close(): void {
    for (const connection of this.connections.values()) connection.destroy();
    this.connections.clear();
    this.pool.close();
  }
}
