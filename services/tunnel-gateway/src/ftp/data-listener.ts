import { randomBytes } from 'node:crypto';
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
  private readonly listeners: Array<TlsListener<AdmittedData>> = [];
  private readonly logger: Logger;

  constructor(private readonly context: PassiveDataContext) {
    this.logger = context.logger.child({ listener: 'ftp-data' });
  }

  async open(listener: Listener): Promise<void> {
    try {
      for (let port = listener.ports.from; port <= listener.ports.to; port++) {
        const tlsListener = new TlsListener<AdmittedData>({
          host: listener.bindHost,
          port,
          contexts: this.context.contexts,
          handshakeTimeoutMs: () => this.context.portMap().timeouts.handshakeMs,
          logger: this.logger,
          handlers: {
            admit: (connection) => this.admit(connection),
            onSecure: (socket, connection, admitted) => this.onSecure(socket, connection, admitted),
            onPlain: (socket, _connection, admitted) => admitted.link.attachClient(socket, socket),
            onHandshakeFailed: (_connection, admitted, reason) => admitted.link.abort(`TLS handshake failed: ${reason}`),
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
   * The lease decides before any TLS work: who may connect (anyone else is
   * closed and the lease keeps waiting), and whether the connection is TLS
   * (PROT P) or clear (PROT C when policy allows it; there is nothing to sniff,
   * since a client that downloads sends no byte first). A claimed lease opens
   * the upstream data connection at once, in parallel with the client's
   * handshake.
   */
  private async admit(connection: AcceptedConnection): Promise<Admission<AdmittedData>> {
    const portMap = this.context.portMap();
    const linkId = `dat_${randomBytes(8).toString('hex')}`;
    const activeTtl = Math.max(portMap.timeouts.dataIdleMs * 2, 30_000);
    const claim = await this.context.leases.claim(connection.localPort, connection.remoteAddress, linkId, activeTtl);
    if (claim.status === 'no-lease') return { refuse: `no passive lease for port ${connection.localPort}` };
    if (claim.status === 'wrong-client') {
      return { refuse: `port ${connection.localPort} is leased to ${claim.expectedIp}, not to ${connection.remoteAddress}` };
    }
    const { lease, activeKey } = claim;
    const log = this.logger.child({ conn: linkId, session: lease.sessionId });
    const link = new DataLink({
      id: linkId,
      upstreamHost: this.context.listener().upstream.host,
      upstreamPort: lease.upstreamPort,
      idleTimeoutMs: portMap.timeouts.dataIdleMs,
      connectTimeoutMs: portMap.timeouts.handshakeMs,
      lingerMs,
    });
    const refresh = setInterval(() => {
      this.context.leases.refreshActive(activeKey, activeTtl).catch(() => undefined);
    }, Math.floor(activeTtl / 3));
    refresh.unref();
    link.once('closed', () => {
      clearInterval(refresh);
      this.context.leases.releaseActive(activeKey).catch((error) => log.warn({ err: error }, 'could not release lease'));
    });
    const session = this.context.registry.get(lease.sessionId);
    if (session) session.attachDataLink(link, lease);
    else log.debug('control session is on another replica');
    const clear = !lease.encryptData && portMap.tls.allowClearData;
    log.info(
      { client: connection.remoteAddress, port: connection.localPort, upstreamPort: lease.upstreamPort, encrypted: !clear },
      'data connection admitted',
    );
    return clear ? { plain: true, state: { link, log } } : { tls: true, state: { link, log } };
  }

  private onSecure(socket: TLSSocket, connection: AcceptedConnection, { link, log }: AdmittedData): void {
    const resumed = socket.isSessionReused();
    socket.on('error', () => undefined);
    if (this.context.portMap().tls.requireSessionReuse && !resumed) {
      log.warn({ client: connection.remoteAddress }, 'data connection refused: TLS session not resumed (required by policy)');
      link.abort("the data connection did not resume the control connection's TLS session (required by policy)");
      return;
    }
    log.info({ tls: socket.getProtocol(), cipher: socket.getCipher()?.name, resumed }, 'data connection secured');
    link.attachClient(socket, connection.raw);
  }
}

interface AdmittedData {
  link: DataLink;
  log: Logger;
}

export type { PassiveLease };
