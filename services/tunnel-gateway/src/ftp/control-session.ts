import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Listener, PortMap } from '@st/contracts';
import type { Logger } from '@st/logging';
import { CommandSplitter, ReplyParser, toIpv4, type FtpReply } from '@st/ftp-protocol';
import { GatewayError, failure, logReasonOf, messageOf, type Failure } from '../errors.js';
import { classifyHandshakeError } from '../handshake-errors.js';
import { upstreamProxyHeader } from '../proxy-header.js';
import type { TlsContextHolder } from '../tls-context.js';
import type { TlsSessionCache } from '../tls-session-cache.js';
import type { AcceptedConnection } from '../tls-listener.js';
import { initialControlStateFor, step, type ClientInput, type ControlEffect, type ControlEnv, type ControlEvent, type ControlState } from './control-machine.js';
import type { DataLink } from './data-link.js';
import type { LinkExchange } from './link-exchange.js';
import type { LinkReport, RemoteLink } from './link-reports.js';
import type { LoginGuard } from './login-guard.js';
import type { PassiveLease, PassivePorts } from './passive-ports.js';
import { RemoteLinks } from './remote-links.js';
import type { DataLinkOwner, SessionRegistry } from './session-registry.js';

export interface ControlSessionContext {
  /** The ftp-control listener this session arrived on (its upstream target at accept time). */
  listener: Listener;
  portMap: () => PortMap;
  passivePorts: PassivePorts;
  registry: SessionRegistry;
  replica: string;
  logger: Logger;
  /** Certificates for the AUTH TLS upgrade of an explicit FTPS port. */
  contexts: TlsContextHolder;
  /** Banned addresses are refused before the upstream hears of them; failed logins are counted. */
  loginGuard: LoginGuard;
  /** Reports from data connections this session's clients made to other gateway processes. */
  linkExchange: LinkExchange;
  /** Where the TLS session of an explicit FTPS control connection is kept for its data connections (clients that resume by id). */
  sessionCache: TlsSessionCache;
}

/** How long a closing connection may take to flush before it is destroyed. */
const closeGraceMs = 2000;

/**
 * One FTP control connection: a TLS client on one side, the plain upstream
 * control connection on the other. Everything the session decides is in
 * control-machine.ts; this wrapper owns the sockets, the parsers, the data
 * links of this process and the lease calls, turns what happens on them into
 * events and applies the effects that come back. Every end, clean or not,
 * goes through closeWithError.
 */
export class FtpControlSession implements DataLinkOwner {
  readonly id = `ses_${randomBytes(8).toString('hex')}`;
  /** This control connection, as `conn` in its records (each data connection has its own). */
  readonly conn = `ctl_${randomBytes(8).toString('hex')}`;
  private readonly logger: Logger;
  /** Connected once the login defender let the client in. */
  private upstream: net.Socket | null = null;
  private commands: CommandSplitter;
  private readonly replies = new ReplyParser();
  private readonly env: ControlEnv;
  private readonly links = new Map<string, DataLink>();
  /** Data connections of this session carried by other gateway processes. */
  private readonly remoteLinks: RemoteLinks;
  private state: ControlState;
  /** Events raised while effects are applied (a link aborted synchronously reports done) wait their turn. */
  private readonly pending: ControlEvent[] = [];
  private dispatching = false;
  private closed = false;

  /** Implicit FTPS: TLS from the start; explicit: plain until AUTH TLS, then the TLS socket over it. */
  private client: net.Socket;
  private readonly onClientData = (chunk: Buffer) => this.clientData(chunk);
  private readonly onClientError = (error: Error) => this.logger.debug({ err: error }, 'client control connection error');
  private readonly onClientClose = () => this.dispatch({ type: 'client-closed' });
  private readonly onClientIdle = () => this.dispatch({ type: 'idle-timeout', idleMs: this.context.portMap().timeouts.controlIdleMs });

  constructor(
    client: net.Socket,
    private readonly connection: AcceptedConnection,
    private readonly context: ControlSessionContext,
  ) {
    this.client = client;
    this.state = initialControlStateFor(context.listener.tlsMode);
    const portMap = context.portMap();
    this.logger = context.logger.child({ session: this.id, conn: this.conn });
    this.commands = new CommandSplitter(portMap.limits.maxCommandLength);
    this.env = {
      client: { address: connection.remoteAddress, port: connection.remotePort },
      get policy() {
        return context.portMap().tls;
      },
      get maxCommandsWithoutTransfer() {
        return context.portMap().limits.maxCommandsWithoutTransfer;
      },
      // The configured public address, or else the address this client reached us at.
      pasvAddress: () => toIpv4(context.portMap().publicAddress ?? connection.localAddress),
    };
    this.remoteLinks = new RemoteLinks(context.linkExchange, (port, linkId) => context.passivePorts.activeKey(port, linkId), {
      done: (linkId, result) => this.dispatch({ type: 'data-link-done', linkId, result }),
      replyHeld: (linkId) => (this.state.wait?.kind === 'link' && this.state.wait.linkId === linkId) || this.state.deferredAbort?.linkId === linkId,
      abandoned: (link) => void context.passivePorts.dropActive(link.publicPort, link.linkId, this.id).catch(() => undefined),
    });
    context.registry.add(this);
    this.logger.info(
      {
        client: connection.remoteAddress,
        clientPort: connection.remotePort,
        ...(connection.via ? { via: connection.via } : {}),
        port: connection.localPort,
        ...(client instanceof TLSSocket ? tlsFields(client) : { tls: null, explicit: true }),
      },
      'FTP control connection opened',
    );

    // Commands the client sends meanwhile wait in the machine for the upstream's greeting.
    this.listenToClient(client);
    context.loginGuard.refusal(connection.remoteAddress).then((refusal) => {
      if (this.closed) return;
      if (refusal) this.dispatch({ type: 'login-refused', failure: refusal });
      else this.connectUpstream();
    });
  }

  private connectUpstream(): void {
    const target = this.context.listener.upstream;
    const upstreamAddress = `${target.host}:${target.ports.from}`;
    const upstream = net.connect({ host: target.host, port: target.ports.from, noDelay: true });
    this.upstream = upstream;
    // A file server that wants to know the client (ProFTPD's mod_proxy_protocol) hears it first.
    const version = this.context.portMap().proxyProtocol.toUpstream.ftp;
    if (version !== 'off') upstream.write(upstreamProxyHeader(version, this.connection));
    upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    upstream.on('error', (error) => this.dispatch({ type: 'upstream-failed', reason: `${upstreamAddress}: ${error.message}` }));
    upstream.on('close', () => this.dispatch({ type: 'upstream-closed' }));
  }

  private listenToClient(client: net.Socket): void {
    client.on('data', this.onClientData);
    client.on('error', this.onClientError);
    client.on('close', this.onClientClose);
    client.setTimeout(this.context.portMap().timeouts.controlIdleMs, this.onClientIdle);
    // A plain connection arrives paused (the listener looks at the peer first); TLS sockets flow already.
    client.resume();
  }

  /**
   * AUTH TLS was answered with 234: once it is out, the plain socket becomes
   * the transport of a server-side TLS socket. Whatever the client sent in
   * clear text after AUTH (a partial line in the splitter) is dropped; bytes
   * of its handshake that already arrived are handed to TLS by Node.
   */
  private startTls(): void {
    const raw = this.client;
    raw.off('data', this.onClientData);
    raw.off('close', this.onClientClose);
    raw.off('error', this.onClientError);
    raw.setTimeout(0);
    raw.pause();
    this.commands = new CommandSplitter(this.context.portMap().limits.maxCommandLength);
    const handshakeMs = this.context.portMap().timeouts.handshakeMs;
    let settled = false;
    const fail = (cause: Failure, code?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      this.logger.warn({ client: this.connection.remoteAddress, port: this.connection.localPort, reason: messageOf(cause), error: cause.code, code, explicit: true }, 'TLS handshake failed');
      raw.destroy();
      this.dispatch({ type: 'tls-failed', reason: logReasonOf(cause) });
    };
    const deadline = setTimeout(() => fail(failure('HANDSHAKE_TIMEOUT')), handshakeMs);
    raw.once('close', () => fail(failure('HANDSHAKE_CLIENT_GONE')));
    raw.on('error', () => undefined);
    // The 234 goes out in clear text first; the TLS layer takes the socket after it.
    raw.write(Buffer.alloc(0), () => {
      if (settled || raw.destroyed) return;
      // Session reuse required: this session's own ticket keys (see admitBound in the control listener).
      const binding = this.context.portMap().tls.requireSessionReuse ? randomBytes(16).toString('hex') : undefined;
      const picked = this.context.contexts.pick(undefined, binding);
      this.connection.ticketGeneration = picked.ticketGeneration;
      if (binding !== undefined) this.connection.ticketBinding = binding;
      const secure: TLSSocket = new TLSSocket(raw, {
        isServer: true,
        secureContext: picked.context,
        requestCert: false,
        rejectUnauthorized: false,
        server: this.context.sessionCache.eventsFor('store', () => this.connection.ticketBinding, () => secure.getProtocol()) as unknown as net.Server,
      });
      secure.on('error', (error: Error & { code?: string }) => fail(classifyHandshakeError(error), error.code));
      secure.once('secure', () => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        secure.removeAllListeners('error');
        this.client = secure;
        this.listenToClient(secure);
        this.logger.info({ client: this.connection.remoteAddress, ...tlsFields(secure) }, 'FTP control connection secured with AUTH TLS');
        this.dispatch({ type: 'tls-established' });
      });
      raw.resume();
    });
  }

  /** Called by the data listener when the client's data connection claimed this session's lease. */
  attachDataLink(link: DataLink, lease: PassiveLease): void {
    this.links.set(link.id, link);
    link.once('upstream-complete', () => this.dispatch({ type: 'data-link-upstream-complete', linkId: link.id }));
    link.once('done', (result) => {
      this.links.delete(link.id);
      this.dispatch({ type: 'data-link-done', linkId: link.id, result });
    });
    this.dispatch({ type: 'data-link-claimed', linkId: link.id, publicPort: lease.publicPort });
  }

  /** The gateway is stopping: the session ends (421) once its command or transfer under way is done. */
  shutdown(): void {
    this.dispatch({ type: 'shutdown' });
  }

  /** A data connection of this session was claimed by another gateway process (its report, or the settle step). */
  attachRemoteLink(link: RemoteLink): boolean {
    const own = link.dataReplica === this.context.linkExchange.replica && link.dataIncarnation === this.context.linkExchange.incarnation;
    // A link of this process is attached by the data listener itself; one known or ended already is not new.
    if (this.closed || own || this.links.has(link.linkId) || !this.remoteLinks.add(link)) return false;
    this.logger.debug({ link: link.linkId, carrier: link.dataReplica }, 'data connection carried by another gateway process');
    this.dispatch({ type: 'data-link-claimed', linkId: link.linkId, publicPort: link.publicPort });
    return true;
  }

  /** What another gateway process reports about a data connection of this session. */
  remoteLinkReport(report: Extract<LinkReport, { type: 'upstream-complete' | 'done' }>): void {
    if (!this.remoteLinks.has(report.linkId)) return;
    if (report.type === 'upstream-complete') this.dispatch({ type: 'data-link-upstream-complete', linkId: report.linkId });
    else this.remoteLinks.reported(report.linkId, report.result);
  }

  private clientData(chunk: Buffer): void {
    const inputs: ClientInput[] = [];
    for (const result of this.commands.push(chunk)) inputs.push(result.kind === 'too-long' ? { tooLong: result.maxLength } : { command: result.command });
    if (inputs.length > 0) this.dispatch({ type: 'client-input', inputs });
  }

  private onUpstreamData(chunk: Buffer): void {
    let replies: FtpReply[];
    try {
      replies = this.replies.push(chunk);
    } catch (error) {
      this.dispatch({ type: 'upstream-reply-invalid', reason: (error as Error).message });
      return;
    }
    for (const reply of replies) this.dispatch({ type: 'upstream-reply', reply });
  }

  /** Runs the machine over one event (and those its effects raise), applying the effects in order. */
  private dispatch(event: ControlEvent): void {
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        const { state, effects } = step(this.state, next, this.env);
        this.state = state;
        for (const effect of effects) this.apply(effect);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private apply(effect: ControlEffect): void {
    switch (effect.type) {
      case 'send-client':
        if (!this.closed && this.client.writable) this.client.write(effect.data);
        return;
      case 'send-upstream':
        // Commands go upstream only after its greeting: it is connected by then.
        this.upstream?.write(effect.data);
        return;
      case 'check-login':
        this.context.loginGuard.refusal(this.connection.remoteAddress).then((refusal) => this.dispatch(refusal ? { type: 'login-refused', failure: refusal } : { type: 'login-allowed' }));
        return;
      case 'login-failed':
        this.context.loginGuard.failed(this.connection.remoteAddress, effect.user).then((refusal) => {
          if (refusal) this.dispatch({ type: 'login-refused', failure: refusal });
        });
        return;
      case 'acquire-lease':
        this.acquireLease(effect.upstreamPort, effect.protectionLevel);
        return;
      case 'release-lease':
        this.context.passivePorts.releasePending(effect.publicPort, this.id).catch(() => undefined);
        return;
      case 'settle-lease':
        this.settleLease(effect.publicPort);
        return;
      case 'start-tls':
        this.startTls();
        return;
      case 'abort-link':
        // A link carried elsewhere is cut by its carrier; one nobody holds (claimed too late) has nothing to abort.
        if (!this.remoteLinks.abort(effect.linkId, effect.cause)) this.links.get(effect.linkId)?.abort(effect.cause);
        return;
      case 'close':
        this.closeWithError(effect.reason);
        return;
      case 'log':
        this.logger[effect.level](effect.fields, effect.message);
        return;
    }
  }

  private acquireLease(upstreamPort: number, protectionLevel: 'C' | 'P'): void {
    const request = {
      upstreamPort,
      clientIp: this.connection.remoteAddress,
      sessionId: this.id,
      replica: this.context.replica,
      protectionLevel,
      ...(this.connection.ticketGeneration !== undefined ? { ticketGeneration: this.connection.ticketGeneration } : {}),
      ...(this.connection.ticketBinding !== undefined ? { ticketBinding: this.connection.ticketBinding } : {}),
    };
    this.context.passivePorts.acquire(request, this.context.portMap()).then(
      (lease) => this.dispatch({ type: 'lease-acquired', publicPort: lease.publicPort }),
      (error: Error) =>
        this.dispatch({
          type: 'lease-refused',
          failure: error instanceof GatewayError ? error.failure : failure('LEASE_STORE_UNAVAILABLE', { reason: error.message }),
        }),
    );
  }

  private settleLease(publicPort: number): void {
    this.context.passivePorts.settle(publicPort, this.id).then(
      (claim) => {
        // A new link carried elsewhere: the machine hears of it and holds the reply for it. Nobody came, or a
        // link it knows already or one that ended (the report came meanwhile, or the claim is an earlier link's):
        // the reply goes on (the machine ignores this unless it still waits on the settle step).
        if (!claim || !this.attachRemoteLink(claim)) this.dispatch({ type: 'lease-unclaimed', publicPort });
      },
      (error: Error) => {
        // Nobody can say whether the client connected elsewhere: the reply goes on, as without replicas.
        this.logger.warn({ err: error, publicPort }, 'could not ask Redis whether the passive port was used; passing the reply on');
        this.dispatch({ type: 'lease-unclaimed', publicPort });
      },
    );
  }

  /**
   * The one way a session ends (the machine decided it: client gone, upstream
   * gone, idle, broken upstream): both connections end after what was written
   * and are destroyed if they take longer than closeGraceMs.
   */
  private closeWithError(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.context.registry.remove(this);
    this.remoteLinks.closeAll();
    const upstream = this.upstream;
    if (upstream) {
      if (!upstream.destroyed) upstream.end();
      setTimeout(() => upstream.destroy(), closeGraceMs).unref();
    }
    if (!this.client.destroyed) {
      this.client.end();
      setTimeout(() => this.client.destroy(), closeGraceMs).unref();
    }
    this.logger.info({ reason, user: this.state.user }, 'FTP control connection closed');
  }
}

/** What a control connection's TLS is, for its records. */
function tlsFields(socket: TLSSocket): Record<string, unknown> {
  return { tls: socket.getProtocol(), cipher: socket.getCipher()?.name, sni: socket.servername || null, resumed: socket.isSessionReused() };
}
