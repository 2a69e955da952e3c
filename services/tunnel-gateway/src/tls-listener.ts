import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ListenerProtocol } from '@st/contracts';
import type { Logger } from '@st/logging';
import type { ConnectionLimits } from './connection-limits.js';
import type { TlsContextHolder } from './tls-context.js';
import type { TlsSessionCache } from './tls-session-cache.js';
import { failure, messageOf, type Failure } from './errors.js';
import { answerAcmeValidation, isAcmeValidation } from './acme-validation.js';
import { tls13Version, type ClientHelloSummary } from './client-hello.js';
import { classifyHandshakeError } from './handshake-errors.js';
import { readHelloFirst } from './hello-first.js';
import { PeriodicCheck } from './periodic-check.js';
import { ProxyHeaderReader } from './proxy-header.js';

export interface AcceptedConnection {
  raw: net.Socket;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The session-ticket period of the keys its handshake used (set when the handshake starts). */
  ticketGeneration?: number;
  /** The FTP control session's own ticket keys its handshake used, when session reuse is required (set when the handshake starts). */
  ticketBinding?: string;
  /** The trusted load balancer the connection came through (its PROXY header named the client); absent: direct. */
  via?: string;
  /** Let in over its kind's total limit only to be told so in its protocol (HTTPS: 503). */
  overLimit?: boolean;
}

/**
 * What to do with an accepted connection, decided before any TLS work. The
 * state travels with the connection to the handler that takes it over.
 */
export type Admission<State> =
  | { refuse: string }
  /**
   * `ticketGeneration`: handshake with that period's ticket keys (a data connection resuming its control connection's session);
   * `ticketBinding`: with one control session's own keys (its control connection, and its data connections when reuse is required).
   */
  | { tls: true; state: State; ticketGeneration?: number; ticketBinding?: string }
  | { plain: true; state: State };

export interface TlsListenerHandlers<State> {
  admit: (connection: AcceptedConnection) => Promise<Admission<State>> | Admission<State>;
  onSecure: (socket: TLSSocket, connection: AcceptedConnection, state: State) => void;
  /** Receives connections admitted as plain (clear FTP data when policy allows it). */
  onPlain?: (socket: net.Socket, connection: AcceptedConnection, state: State) => void;
  /** An admitted connection that never became secure. */
  onHandshakeFailed?: (connection: AcceptedConnection, state: State, reason: string) => void;
}

/** One accepted connection on its way to becoming secure (or plain, or refused). */
interface Accepted<State> {
  connection: AcceptedConnection;
  /** Set once admitted. */
  state: State | undefined;
  phase: 'admitting' | 'handshaking' | 'done';
  /** When the handshake must be done (performance.now() ms: wall-clock steps must not move deadlines), while handshaking. */
  deadline: number;
}

/**
 * How often pending handshakes are checked for a limit: a quarter of it, at
 * least 25 and at most 250 ms (a deadline fires that much late at most).
 */
export function handshakeCheckPeriodMs(limitMs: number): number {
  return Math.min(250, Math.max(25, Math.floor(limitMs / 4)));
}

/** The failures this listener detects itself: made once, they cost nothing per connection. */
const handshakeTimeout = failure('HANDSHAKE_TIMEOUT');
const clientGone = failure('HANDSHAKE_CLIENT_GONE');
const admissionInterrupted = failure('HANDSHAKE_ADMISSION_INTERRUPTED');

/** Errors of a raw socket are seen through the TLS socket or its close; one function for every connection. */
function ignoreSocketError(): void {}

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
  /**
   * Connections per client address and per kind of listener, counted before
   * any TLS work. `answerOverLimit`: a few connections over the kind's total
   * are let in marked overLimit, for the handler to answer "busy" (HTTPS 503).
   */
  limits?: { counter: ConnectionLimits; kind: ListenerProtocol; answerOverLimit?: boolean };
  /** Load balancers whose connections start with a PROXY protocol header naming the client (none: every connection is direct). */
  trustedProxies?: () => { has(address: string): boolean };
  /** TLS sessions by id shared by the gateway processes: control connections store theirs, data connections resume them. */
  sessionCache?: { cache: TlsSessionCache; role: 'store' | 'resume' };
  /**
   * Answers ACME TLS-ALPN-01 validations while `wanted`: `context` gives the
   * challenge certificate's context for a name, null when none is pending.
   * Reading the ClientHello first costs every connection a few percent, so
   * it happens only while certificates come by TLS-ALPN-01.
   */
  acmeTlsAlpn?: { wanted: () => boolean; context: (serverName: string) => Promise<SecureContext | null> };
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
  /** Admitted connections in their TLS handshake, checked for their deadline. */
  private readonly handshakes = new PeriodicCheck<Accepted<State>>((pending, now) => {
    if (now >= pending.deadline) this.handshakeFailed(pending, handshakeTimeout);
  });
  private closing = false;

  constructor(private readonly options: TlsListenerOptions<State>) {
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: options.allowHalfOpen ?? false }, (raw) => this.accept(raw));
    this.server.on('error', (error) => options.logger.error({ err: error, port: options.port }, 'listener error'));
  }

  get port(): number {
    return this.options.port;
  }

  /** The port bound: the one asked for, or the one the system chose for port 0. */
  get boundPort(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
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
    this.handshakes.clear();
  }

  private accept(raw: net.Socket): void {
    if (this.closing) {
      raw.destroy();
      return;
    }
    const peer = normalizeAddress(raw.remoteAddress);
    if (this.options.trustedProxies?.().has(peer)) return this.readProxyHeader(raw, peer);
    this.acceptFrom(raw, peer, raw.remotePort ?? 0);
  }

  /**
   * A trusted balancer's connection: its PROXY header says who the client is,
   * before anything else (limits, admission, TLS) looks at the connection. A
   * missing or garbled header, or none within the handshake time, closes it.
   */
  private readProxyHeader(raw: net.Socket, balancer: string): void {
    const reader = new ProxyHeaderReader();
    const refuse = (reason: string) => {
      raw.off('data', onData);
      clearTimeout(timer);
      this.options.logger.warn({ balancer, port: this.options.port, reason }, 'connection refused: no valid PROXY protocol header from a trusted balancer');
      raw.on('error', ignoreSocketError);
      raw.destroy();
    };
    const onData = (chunk: Buffer) => {
      const result = reader.push(chunk);
      if (result.kind === 'need-more') return;
      if (result.kind === 'invalid') return refuse(result.reason);
      raw.off('data', onData);
      raw.off('close', onEarlyClose);
      clearTimeout(timer);
      raw.pause();
      // What came after the header (the TLS handshake, an FTP command) is read again by whoever takes the socket.
      if (result.rest.length > 0) raw.unshift(result.rest);
      const source = result.source;
      // Not from inside this 'data' event: the stream would go on emitting the bytes just put back to no one.
      process.nextTick(() => this.acceptFrom(raw, source ? normalizeAddress(source.address) : balancer, source ? source.port : (raw.remotePort ?? 0), balancer));
    };
    const onEarlyClose = () => clearTimeout(timer);
    const timer = setTimeout(() => refuse('no complete PROXY header within the handshake time'), this.options.handshakeTimeoutMs());
    raw.on('data', onData);
    raw.once('close', onEarlyClose);
    raw.on('error', ignoreSocketError);
    raw.resume();
  }

  private acceptFrom(raw: net.Socket, remoteAddress: string, remotePort: number, via?: string): void {
    if (this.closing || raw.destroyed) {
      raw.destroy();
      return;
    }
    const slot = this.options.limits ? this.takeSlot(raw, remoteAddress, this.options.limits) : 'ok';
    if (slot === 'refused') return;
    this.sockets.add(raw);
    raw.on('error', ignoreSocketError);
    const accepted: Accepted<State> = {
      connection: {
        raw,
        remoteAddress,
        remotePort,
        // Asked of the socket only when needed (PASV without a public address): it costs a system call
        // per connection, and at a thousand handshakes a second every such call shows.
        get localAddress() {
          return normalizeAddress(raw.localAddress);
        },
        localPort: this.options.port || (raw.localPort ?? 0),
        ...(via !== undefined ? { via } : {}),
        ...(slot === 'over-limit' ? { overLimit: true } : {}),
      },
      state: undefined,
      phase: 'admitting',
      deadline: 0,
    };
    raw.once('close', () => {
      this.sockets.delete(raw);
      if (accepted.phase === 'handshaking') this.handshakeFailed(accepted, clientGone);
    });
    let admission: Promise<Admission<State>> | Admission<State>;
    try {
      admission = this.options.handlers.admit(accepted.connection);
    } catch (error) {
      admission = { refuse: `admission check failed: ${(error as Error).message}` };
    }
    if (admission instanceof Promise) {
      admission.then(
        (decided) => this.afterAdmission(accepted, decided),
        (error: Error) => this.afterAdmission(accepted, { refuse: `admission check failed: ${error.message}` }),
      );
    } else {
      this.afterAdmission(accepted, admission);
    }
  }

  /** A slot within the connection limits, given back when the socket closes; without one the socket is closed at once. */
  private takeSlot(raw: net.Socket, address: string, limits: NonNullable<TlsListenerOptions<State>['limits']>): 'ok' | 'over-limit' | 'refused' {
    const slot = limits.counter.open(address, limits.kind, limits.answerOverLimit ?? false);
    const refusal = slot.ok ? slot.overLimit : slot.refusal;
    if (refusal?.log) {
      this.options.logger.warn(
        { client: address, port: this.options.port, reason: refusal.reason, limit: refusal.limit, setting: refusal.setting, refused: refusal.refusedSinceLastRecord, answered: slot.ok ? 'busy' : 'closed' },
        refusal.reason === 'per-client' ? 'connection refused: too many connections from this client' : 'connection refused: too many connections on this kind of port',
      );
    }
    if (slot.ok) {
      raw.once('close', slot.release);
      return slot.overLimit ? 'over-limit' : 'ok';
    }
    raw.on('error', ignoreSocketError);
    raw.destroy();
    return 'refused';
  }

  private afterAdmission(accepted: Accepted<State>, admission: Admission<State>): void {
    const { connection } = accepted;
    const { raw } = connection;
    if ('refuse' in admission) {
      accepted.phase = 'done';
      this.options.logger.warn(
        { client: connection.remoteAddress, clientPort: connection.remotePort, port: connection.localPort, reason: admission.refuse },
        'connection refused',
      );
      raw.destroy();
      return;
    }
    accepted.state = admission.state;
    const { handlers } = this.options;
    if (raw.destroyed) return this.handshakeFailed(accepted, admissionInterrupted);
    if ('plain' in admission && handlers.onPlain) {
      accepted.phase = 'done';
      handlers.onPlain(raw, connection, admission.state);
      return;
    }
    accepted.phase = 'handshaking';
    this.watchHandshake(accepted);
    const tlsAdmission = admission as Extract<Admission<State>, { tls: true }>;
    // Data ports resume TLS 1.2 sessions by id from Redis: the ClientHello says whether a lookup can help.
    if (this.options.acmeTlsAlpn?.wanted() || this.options.sessionCache?.role === 'resume') return this.readHelloFirst(accepted, tlsAdmission);
    this.startTls(accepted, tlsAdmission, null);
  }

  /**
   * Looks at the ClientHello before any TLS work: an ACME CA's TLS-ALPN-01
   * validation gets the challenge certificate (acme-validation.ts), every
   * other connection the usual handshake, told what the ClientHello offered.
   */
  private readHelloFirst(accepted: Accepted<State>, admission: Extract<Admission<State>, { tls: true }>): void {
    const { connection } = accepted;
    readHelloFirst(connection.raw, (hello) => {
      if (accepted.phase !== 'handshaking') return;
      const acme = this.options.acmeTlsAlpn;
      if (!acme?.wanted() || !isAcmeValidation(hello)) return this.startTls(accepted, admission, hello);
      const answer = (context: SecureContext | null) => {
        if (accepted.phase !== 'handshaking') return;
        answerAcmeValidation({
          raw: connection.raw,
          context,
          serverName: hello.serverName,
          client: connection.remoteAddress,
          logger: this.options.logger,
          finished: () => {
            accepted.phase = 'done';
            this.handshakes.delete(accepted);
          },
          failed: (error) => this.handshakeFailed(accepted, classifyHandshakeError(error), error.code),
        });
      };
      acme.context(hello.serverName).then(answer, (error: Error) => {
        this.options.logger.warn({ client: connection.remoteAddress, sni: hello.serverName, reason: error.message }, 'ACME TLS-ALPN-01 validation not answered: cert-service cannot be reached');
        answer(null);
      });
    });
  }

  /**
   * `hello`: what the ClientHello said, when it was read first. A TLS 1.3
   * client resumes with a ticket, never by session id: asking Redis for the
   * random legacy id it sends would only hold its handshake for a round trip
   * (long enough, under load, for a client that ends an empty upload at once
   * to close before the handshake is done).
   */
  private startTls(accepted: Accepted<State>, admission: Extract<Admission<State>, { tls: true }>, hello: ClientHelloSummary | null): void {
    const { connection } = accepted;
    const { raw } = connection;
    const { handlers } = this.options;
    const binding = admission.ticketBinding;
    const picked = this.options.contexts.pick(admission.ticketGeneration, binding);
    connection.ticketGeneration = picked.ticketGeneration;
    if (binding !== undefined) connection.ticketBinding = binding;
    const sessions = this.options.sessionCache?.role === 'resume' && hello?.versions.includes(tls13Version) ? undefined : this.options.sessionCache;
    const socket: TLSSocket = new TLSSocket(raw, {
      isServer: true,
      secureContext: picked.context,
      requestCert: false,
      rejectUnauthorized: false,
      ...(sessions ? { server: sessions.cache.eventsFor(sessions.role, () => connection.ticketBinding, () => socket.getProtocol()) as unknown as net.Server } : {}),
    });
    const onError = (error: Error & { code?: string }) => this.handshakeFailed(accepted, classifyHandshakeError(error), error.code);
    socket.on('error', onError);
    // The client closed its side before the handshake finished (with a half-open listener nothing else
    // notices): no handshake can complete, so the connection goes now, not at the handshake deadline.
    socket.once('end', () => {
      if (accepted.phase === 'handshaking') this.handshakeFailed(accepted, clientGone);
    });
    socket.once('secure', () => {
      if (accepted.phase !== 'handshaking') return;
      accepted.phase = 'done';
      this.handshakes.delete(accepted);
      socket.off('error', onError);
      handlers.onSecure(socket, connection, admission.state);
    });
    raw.resume();
  }

  /** Handshake deadlines: see PeriodicCheck; a deadline fires up to a quarter of the limit (at most 250 ms) late. */
  private watchHandshake(accepted: Accepted<State>): void {
    const limitMs = this.options.handshakeTimeoutMs();
    accepted.deadline = performance.now() + limitMs;
    this.handshakes.add(accepted, handshakeCheckPeriodMs(limitMs));
  }

  /** The connection never became secure: said once, to the handler and the log, and the socket goes. */
  private handshakeFailed(accepted: Accepted<State>, cause: Failure, tlsCode?: string): void {
    if (accepted.phase === 'done') return;
    accepted.phase = 'done';
    this.handshakes.delete(accepted);
    const { connection } = accepted;
    // First, so that a handler that throws cannot leave the socket open (and close() waiting for it).
    connection.raw.destroy();
    const reason = messageOf(cause);
    this.options.logger.warn(
      { client: connection.remoteAddress, clientPort: connection.remotePort, port: connection.localPort, reason, error: cause.code, code: tlsCode },
      'TLS handshake failed',
    );
    try {
      this.options.handlers.onHandshakeFailed?.(connection, accepted.state as State, reason);
    } catch (handlerError) {
      // A bug there must cost this connection only, not the process serving all the others.
      this.options.logger.error({ err: handlerError, client: connection.remoteAddress, port: connection.localPort }, 'handshake failure handler failed');
    }
  }
}
