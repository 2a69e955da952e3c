import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Listener, PortMap } from '@st/contracts';
import type { Logger } from '@st/logging';
import { TlsListener, type AcceptedConnection, type Admission } from '../tls-listener.js';
import type { TlsContextHolder } from '../tls-context.js';
import { DataLink } from './data-link.js';
import type { LeaseStore, PassiveLease } from './lease-store.js';
import type { SessionRegistry } from './session-registry.js';

export interface PassiveDataContext {
  portMap: () => PortMap;
  /** The current ftp-data listener (its upstream host may change while the gateway runs). */
  listener: () => Listener;
  contexts: TlsContextHolder;
  leases: LeaseStore;
  registry: SessionRegistry;
  logger: Logger;
}

/** How long a client may take to close after it received the whole file and our close_notify. */
const lingerMs = 10_000;

/**
 * The public passive ports: one TLS listener per port of the range. A
 * connection is admitted only if the port has a pending lease for the
 * connecting address; anyone else is closed before any TLS work and the lease
 * keeps waiting for the right client.
 */
export class PassiveDataListeners {
  private readonly listeners: TlsListener[] = [];
  private readonly logger: Logger;

  constructor(private readonly context: PassiveDataContext) {
    this.logger = context.logger.child({ listener: 'ftp-data' });
  }

  async open(listener: Listener): Promise<void> {
    try {
      for (let port = listener.ports.from; port <= listener.ports.to; port++) {
        const tlsListener = new TlsListener({
          host: listener.bindHost,
          port,
          contexts: this.context.contexts,
          handshakeTimeoutMs: () => this.context.portMap().timeouts.handshakeMs,
          logger: this.logger,
          handlers: {
            admit: (connection) => this.admit(connection),
            onSecure: (socket, connection) => this.onConnection(socket, connection, true),
            onPlain: (socket, connection) => this.onConnection(socket, connection, false),
          },
        });
        await tlsListener.listen();
        this.listeners.push(tlsListener);
      }
    } catch (error) {
      await this.close(0);
      throw error;
    }
  }

  async close(drainMs: number): Promise<void> {
    const listeners = this.listeners.splice(0);
    await Promise.all(listeners.map((listener) => listener.close(drainMs)));
  }

  get openConnections(): number {
    return this.listeners.reduce((sum, listener) => sum + listener.openConnections, 0);
  }

  /**
   * The lease decides before any TLS work: who may connect, and whether the
   * connection is TLS (PROT P) or clear (PROT C, when policy allows it; RFC 4217
   * leaves nothing to sniff, since a client that downloads sends no byte first).
   */
  private async admit(connection: AcceptedConnection): Promise<Admission> {
    const lease = await this.context.leases.peek(connection.localPort);
    if (!lease) return { refuse: `no passive lease for port ${connection.localPort}` };
    if (lease.clientIp !== connection.remoteAddress) {
      return { refuse: `port ${connection.localPort} is leased to ${lease.clientIp}, not to ${connection.remoteAddress}` };
    }
    return lease.encryptData || !this.context.portMap().tls.allowClearData ? { tls: true } : { plain: true };
  }

  private async onConnection(socket: net.Socket, connection: AcceptedConnection, encrypted: boolean): Promise<void> {
    const portMap = this.context.portMap();
    const linkId = `dat_${randomBytes(8).toString('hex')}`;
    const log = this.logger.child({ conn: linkId });
    const refuse = (reason: string) => {
      log.warn({ client: connection.remoteAddress, port: connection.localPort, reason }, 'data connection refused');
      connection.raw.destroy();
    };
    socket.on('error', () => undefined);
    const resumed = encrypted && (socket as TLSSocket).isSessionReused();
    socket.pause();
    const activeTtl = Math.max(portMap.timeouts.dataIdleMs * 2, 30_000);
    let claim;
    try {
      claim = await this.context.leases.claim(connection.localPort, connection.remoteAddress, linkId, activeTtl);
    } catch (error) {
      return refuse(`lease store unavailable: ${(error as Error).message}`);
    }
    if (claim.status === 'no-lease') return refuse(`no passive lease for port ${connection.localPort}`);
    if (claim.status === 'wrong-client') return refuse(`port is leased to ${claim.expectedIp}`);
    const { lease, activeKey } = claim;
    let policyRefusal: string | undefined;
    if (!encrypted && lease.encryptData) policyRefusal = 'clear data connection, but the session requires PROT P';
    else if (encrypted && portMap.tls.requireSessionReuse && !resumed) {
      policyRefusal = "the data connection did not resume the control connection's TLS session (required by policy)";
    }
    const session = this.context.registry.get(lease.sessionId);
    const link = new DataLink({
      id: linkId,
      client: socket,
      clientRaw: connection.raw,
      upstreamHost: this.context.listener().upstream.host,
      upstreamPort: lease.upstreamPort,
      idleTimeoutMs: portMap.timeouts.dataIdleMs,
      connectTimeoutMs: portMap.timeouts.handshakeMs,
      lingerMs,
      ...(policyRefusal ? { refusal: policyRefusal } : {}),
    });
    log.info(
      {
        session: lease.sessionId,
        client: connection.remoteAddress,
        port: connection.localPort,
        upstreamPort: lease.upstreamPort,
        encrypted,
        resumed,
      },
      policyRefusal ? 'data connection refused by policy' : 'data connection opened',
    );
    const refresh = setInterval(() => {
      this.context.leases.refreshActive(activeKey, activeTtl).catch(() => undefined);
    }, Math.floor(activeTtl / 3));
    refresh.unref();
    link.once('done', () => {
      clearInterval(refresh);
      this.context.leases.releaseActive(activeKey).catch((error) => log.warn({ err: error }, 'could not release lease'));
    });
    if (session) session.attachDataLink(link, lease);
    else this.logger.debug({ session: lease.sessionId }, 'control session is on another replica');
  }
}

export type { PassiveLease };
