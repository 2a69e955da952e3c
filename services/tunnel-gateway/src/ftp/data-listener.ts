import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { PortMap, PortRange } from '@st/contracts';
import type { Logger } from '@st/logging';
import type { ConnectionLimits } from '../connection-limits.js';
import { failure, logReasonOf, messageOf, type Failure } from '../errors.js';
import { TlsListener, type AcceptedConnection, type Admission } from '../tls-listener.js';
import type { TlsContextHolder } from '../tls-context.js';
import { DataLink } from './data-link.js';
import type { TlsSessionCache } from '../tls-session-cache.js';
import type { LinkExchange } from './link-exchange.js';
import { dataListenerOf, type PassiveLease, type PassivePorts } from './passive-ports.js';
import type { SessionRegistry } from './session-registry.js';

export interface PassiveDataContext {
  /** The latest port map: its ftp-data listener names the upstream host, its timeouts and policy apply. */
  portMap: () => PortMap;
  contexts: TlsContextHolder;
  passivePorts: PassivePorts;
  registry: SessionRegistry;
  /** Reports to the control session when it lives in another gateway process. */
  linkExchange: LinkExchange;
  /** Control connections' TLS sessions by id: a data connection of a client without tickets resumes from there. */
  sessionCache: TlsSessionCache;
  logger: Logger;
  connectionLimits: ConnectionLimits;
  /** Load balancers whose connections start with a PROXY protocol header. */
  trustedProxies?: () => { has(address: string): boolean };
}

/** How long a client may take to close after it received the whole file and our close_notify. */
const lingerMs = 10_000;

/** One public passive port's socket and how many port-map listeners use it. */
interface PortEntry {
  listener: TlsListener<AdmittedData>;
  users: number;
}

/**
 * The public passive ports, one TLS listener per port, shared by reference
 * count (Caddy's usage pool is the model): a port-map listener takes its range
 * with `acquire` and gives it back with `release`. A changed range therefore
 * keeps the ports the old and new ranges share (their sockets and open
 * connections are untouched), opens only the new ones and drains only the
 * removed ones, whatever the order in which the reconcile opens and closes.
 *
 * A connection is admitted only if its port has a pending lease for the
 * connecting address; anyone else is closed before any TLS work and the lease
 * keeps waiting for the right client.
 */
export class PassiveDataListeners {
  private readonly ports = new Map<string, PortEntry>();
  /** Data links of this process that have not closed, by id (their leases are released on close). */
  private readonly links = new Map<string, DataLink>();
  private readonly logger: Logger;

  constructor(private readonly context: PassiveDataContext) {
    this.logger = context.logger.child({ listener: 'ftp-data' });
  }

  /** Ports with an open socket (for status and tests). */
  get openPorts(): number[] {
    return [...this.ports.keys()].map((key) => Number(key.slice(key.lastIndexOf('|') + 1))).sort((a, b) => a - b);
  }

  /** Data links of this process not yet closed. */
  get openLinks(): number {
    return this.links.size;
  }

  /** A control session in another process asked to cut one of our links (ABOR, a new PASV, its end). */
  abortLink(linkId: string, cause: Failure): void {
    this.links.get(linkId)?.abort(cause);
  }

  /**
   * Takes every port of `range` on `bindHost`, opening those no other listener
   * holds. All or nothing: if one cannot be opened, what this call took is
   * given back and the error is thrown.
   */
  async acquire(bindHost: string, range: PortRange): Promise<PassivePortSet> {
    const taken: string[] = [];
    try {
      for (let port = range.from; port <= range.to; port++) {
        const key = `${bindHost}|${port}`;
        const entry = this.ports.get(key);
        if (entry) entry.users++;
        else {
          const listener = this.newListener(bindHost, port);
          await listener.listen();
          this.ports.set(key, { listener, users: 1 });
        }
        taken.push(key);
      }
    } catch (error) {
      await this.release(taken, 0);
      throw error;
    }
    return new PassivePortSet(taken, this.ports, (keys, drainMs) => this.release(keys, drainMs));
  }

  private async release(keys: readonly string[], drainMs: number): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const key of keys) {
      const entry = this.ports.get(key);
      if (!entry || --entry.users > 0) continue;
      this.ports.delete(key);
      closing.push(entry.listener.close(drainMs));
    }
    await Promise.all(closing);
  }

  private newListener(bindHost: string, port: number): TlsListener<AdmittedData> {
    return new TlsListener<AdmittedData>({
      host: bindHost,
      port,
      contexts: this.context.contexts,
      handshakeTimeoutMs: () => this.context.portMap().timeouts.handshakeMs,
      logger: this.logger,
      limits: { counter: this.context.connectionLimits, kind: 'ftp-data' },
      ...(this.context.trustedProxies ? { trustedProxies: this.context.trustedProxies } : {}),
      sessionCache: { cache: this.context.sessionCache, role: 'resume' },
      handlers: {
        admit: (connection) => this.admit(connection),
        onSecure: (socket, connection, admitted) => this.onSecure(socket, connection, admitted),
        onPlain: (socket, _connection, admitted) => admitted.link.attachClient(socket, socket),
        onHandshakeFailed: (_connection, admitted, reason) => admitted.link.abort(failure('DATA_HANDSHAKE_FAILED', { reason })),
      },
    });
  }

  /**
   * The lease decides before any TLS work: who may connect (anyone else is
   * closed and the lease keeps waiting), and whether the connection is TLS or
   * clear (PassivePorts decides; there is nothing to sniff, since a client
   * that downloads sends no byte first). A claimed lease opens the upstream
   * data connection at once, in parallel with the client's handshake.
   */
  private async admit(connection: AcceptedConnection): Promise<Admission<AdmittedData>> {
    const portMap = this.context.portMap();
    const upstream = dataListenerOf(portMap)?.upstream;
    if (!upstream) return { refuse: 'passive data is not enabled on this gateway' };
    const linkId = `dat_${randomBytes(8).toString('hex')}`;
    const exchange = this.context.linkExchange;
    const claim = await this.context.passivePorts.claim(connection.localPort, connection.remoteAddress, linkId, portMap, exchange);
    if (claim.status === 'refused') return { refuse: messageOf(claim.failure) };
    const { lease, active, protection } = claim;
    const log = this.logger.child({ conn: linkId, session: lease.sessionId });
    const remote = lease.replica !== exchange.replica;
    // The control session elsewhere hears of the claim before the upstream hears of the data connection,
    // so its completion reply cannot overtake the claim (if the report is lost, it finds the claim in Redis).
    if (remote) await this.reportClaim(lease, linkId, log);
    const link = new DataLink({
      id: linkId,
      upstreamHost: upstream.host,
      upstreamPort: lease.upstreamPort,
      idleTimeoutMs: portMap.timeouts.dataIdleMs,
      connectTimeoutMs: portMap.timeouts.handshakeMs,
      lingerMs,
    });
    this.links.set(linkId, link);
    link.once('closed', () => {
      this.links.delete(linkId);
      active.release().catch((error) => log.warn({ err: error }, 'could not release lease'));
    });
    if (remote) this.reportToRemoteSession(link, lease, log);
    else {
      const session = this.context.registry.get(lease.sessionId);
      if (session) session.attachDataLink(link, lease);
      else log.debug('control session already ended');
    }
    log.info(
      { client: connection.remoteAddress, ...(connection.via ? { via: connection.via } : {}), port: connection.localPort, upstreamPort: lease.upstreamPort, encrypted: protection === 'tls' },
      'data connection admitted',
    );
    if (protection === 'clear') return { plain: true, state: { link, log } };
    return {
      tls: true,
      state: { link, log },
      ...(lease.ticketGeneration !== undefined ? { ticketGeneration: lease.ticketGeneration } : {}),
      // Reuse required: the control session's own keys, so only its TLS session resumes here.
      ...(lease.ticketBinding !== undefined && portMap.tls.requireSessionReuse ? { ticketBinding: lease.ticketBinding } : {}),
    };
  }

  private async reportClaim(lease: PassiveLease, linkId: string, log: Logger): Promise<void> {
    const exchange = this.context.linkExchange;
    const heard = await exchange.send(lease.replica, {
      type: 'claimed',
      sessionId: lease.sessionId,
      linkId,
      publicPort: lease.publicPort,
      dataReplica: exchange.replica,
      dataIncarnation: exchange.incarnation,
    });
    if (heard) log.debug({ controlReplica: lease.replica }, 'control session is in another gateway process; told it of the data connection');
    else log.warn({ controlReplica: lease.replica }, 'the control session\'s gateway process did not hear of this data connection; it will find the claim in Redis');
  }

  private reportToRemoteSession(link: DataLink, lease: PassiveLease, log: Logger): void {
    const exchange = this.context.linkExchange;
    const base = { sessionId: lease.sessionId, linkId: link.id };
    link.once('upstream-complete', () => void exchange.send(lease.replica, { type: 'upstream-complete', ...base }));
    link.once('done', (result) => {
      // The control session's process logs the transfer; this process says what it carried.
      log.info({ ...result, controlReplica: lease.replica }, result.ok ? 'data connection ended' : 'data connection failed');
      void exchange.reportDone(lease.replica, { type: 'done', ...base, result });
    });
  }

  private onSecure(socket: TLSSocket, connection: AcceptedConnection, { link, log }: AdmittedData): void {
    const resumed = socket.isSessionReused();
    socket.on('error', () => undefined);
    if (this.context.portMap().tls.requireSessionReuse && !resumed) {
      log.warn({ client: connection.remoteAddress }, logReasonOf(notResumed));
      link.abort(notResumed);
      return;
    }
    log.info({ tls: socket.getProtocol(), cipher: socket.getCipher()?.name, resumed }, 'data connection secured');
    link.attachClient(socket, connection.raw);
  }
}

const notResumed = failure('DATA_SESSION_NOT_RESUMED');

/** The ports one port-map listener holds. */
export class PassivePortSet {
  private released = false;

  constructor(
    private readonly keys: readonly string[],
    private readonly ports: ReadonlyMap<string, PortEntry>,
    private readonly onRelease: (keys: readonly string[], drainMs: number) => Promise<void>,
  ) {}

  /** Connections on these ports (a port shared with another listener counts for both). */
  get openConnections(): number {
    let sum = 0;
    for (const key of this.keys) sum += this.ports.get(key)?.listener.openConnections ?? 0;
    return sum;
  }

  /** Gives the ports back; those no other listener holds stop accepting and drain for drainMs. */
  release(drainMs: number): Promise<void> {
    if (this.released) return Promise.resolve();
    this.released = true;
    return this.onRelease(this.keys, drainMs);
  }
}

interface AdmittedData {
  link: DataLink;
  log: Logger;
}
