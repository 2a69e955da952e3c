import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Listener } from '@st/contracts';
import type { Logger } from '@st/logging';
import { rewriteRequestHead, type ForwardedFor, type RequestHead } from './http1/request-head.js';
import { RequestReader } from './http1/request-reader.js';
import { ResponseObserver, type ExpectedResponse } from './http1/response-observer.js';
import { HttpSyntaxError } from './http1/syntax.js';
import { upstreamReadBuffers } from './read-buffer-pool.js';
import { PeriodicCheck } from './periodic-check.js';
import { normalizeAddress } from './tls-listener.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamUser } from './upstream-pool.js';

export interface HttpsProxyOptions {
  /** The current http listener: its upstream may change while connections stay open. */
  listener: () => Listener;
  logger: Logger;
  idleTimeoutMs: () => number;
  /**
   * A request head must be complete within this time of its first byte (the
   * first head within this time of the connection): the idle timeout alone,
   * reset by every byte, would let a client hold a connection for ever by
   * sending a header byte now and then (slowloris). Node's http.Server, which
   * this relay replaced, had such a bound (headersTimeout).
   */
  headTimeoutMs: () => number;
  /** How long an idle upstream connection is kept for the next client connection (0: never; see UpstreamPool). */
  upstreamKeepAliveMs: () => number;
}

/** An upstream that does not accept within this time is answered for with 502. */
const upstreamConnectTimeoutMs = 10_000;

/**
 * A kept upstream connection that closes within this time of requests going
 * out on it, before any answer, was closing anyway (its idle timeout crossed
 * them): they are sent again. Later, the upstream may have worked on them
 * (and died doing so): the client gets a 502 instead of a second attempt.
 */
const resendWindowMs = 100;

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
 * The TLS sockets are handed in by a TlsListener; this class never listens.
 */
export class HttpsProxy {
  /** The open connections, whose deadlines are checked while there are any. */
  private readonly connections = new PeriodicCheck<ProxiedConnection>((connection, now) => connection.checkDeadlines(now));
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
   * it, as in the "HTTPS connection opened" record.
   */
  handle(socket: TLSSocket, forwarded?: ForwardedFor, conn?: string): void {
    const connection = new ProxiedConnection(
      socket,
      forwarded ?? { clientAddress: normalizeAddress(socket.remoteAddress), port: socket.localPort ?? 0 },
      conn ?? null,
      this.options,
      this.pool,
      () => this.connections.delete(connection),
    );
    this.connections.add(connection, deadlineCheckMs);
  }

  close(): void {
    for (const connection of this.connections.values()) connection.destroy();
    this.connections.clear();
    this.pool.close();
  }
}

interface SentRequest extends ExpectedResponse {
  target: string;
}

/** One client connection and the upstream connection it uses. */
class ProxiedConnection implements UpstreamUser {
  private link: UpstreamConnection | null = null;
  private upstreamAddress = '';
  /**
   * The rewritten heads of the requests sent on a connection that had served
   * earlier responses, while each of them could go out again (see resendable)
   * and no byte of an answer came: if that connection turns out closed by the upstream (its idle
   * timeout struck as we sent), they are sent again on a new one. Else null.
   */
  private replay: string[] | null = null;
  /** When the first of them went out (performance.now() ms). */
  private replaySince = 0;
  /** The upstream connection may not serve another client (connection-bound authentication, upgrade). */
  private bound = false;
  private readonly reader: RequestReader;
  private readonly observer: ResponseObserver<SentRequest>;
  /** After a 101: bytes flow unread both ways. */
  private tunnel = false;
  /** A 101 was seen in the chunk being handled; the tunnel starts once that chunk is written. */
  private switching = false;
  /** The upstream answered an upgrade request with something else; the held bytes are read as requests. */
  private upgradeRefused = false;
  /** A request's head was sent upstream and its body has not ended. */
  private requestOpen = false;
  /** The client sent a request that ends the connection (Connection: close, HTTP/1.0). */
  private lastRequestSent = false;
  /** Our answer to a refused request, sent once the responses to the requests before it are delivered. */
  private refusal: string | null = null;
  /** The upstream socket corked while a client chunk is read (the link may be dropped meanwhile, by a refusal). */
  private corked: Socket | null = null;
  private finished = false;
  /** When the request head in progress must be complete (performance.now() ms, a clock that never steps; 0: none running). */
  private headDeadline = 0;
  private headLimitMs = 0;
  /** When the upstream must have accepted (performance.now() ms; 0: not connecting). */
  private connectDeadline = 0;
  /**
   * The last byte from the client or to it (performance.now() ms): a read, or a write to
   * it completing. Checked with the other deadlines rather than by a socket
   * timeout, which Node re-arms on every chunk.
   */
  private lastActivity = performance.now();
  private readonly idleMs: number;
  /** The client sent its FIN: nothing more will come from it. */
  private clientEnded = false;

  constructor(
    private readonly client: TLSSocket,
    private readonly forwarded: ForwardedFor,
    private readonly conn: string | null,
    private readonly options: HttpsProxyOptions,
    private readonly pool: UpstreamPool,
    private readonly onClosed: () => void,
  ) {
    this.reader = new RequestReader({
      head: (head) => this.sendHead(head),
      body: (data) => this.link!.socket.write(data),
      end: (head) => {
        this.requestOpen = false;
        if (head.last) this.lastRequestSent = true;
      },
    });
    this.observer = new ResponseObserver<SentRequest>({
      final: (request, status) => {
        if (!request.upgrade) return;
        if (status === 101) this.switching = true;
        else this.upgradeRefused = true;
      },
      complete: () => {
        if (this.link) this.link.responses++;
      },
    });
    this.idleMs = options.idleTimeoutMs();
    this.startHeadDeadline();
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    // The client may end its side right after its request (scripts, `ncat --ssl`, health checks): the
    // listener keeps our side open (allowHalfOpen) and the connection ends once the responses to what was
    // sent are delivered. The upstream gets the FIN only through a tunnel or in the middle of a request
    // body (cut short: the upstream is to see that): a complete HTTP request needs no close, and the
    // upstream connection may serve the next client.
    client.on('end', () => {
      this.clientEnded = true;
      if (this.tunnel || this.requestOpen) this.link?.socket.end();
      this.endIfAnswered();
    });
    client.on('error', () => this.destroy());
    client.on('close', () => {
      this.stopHeadDeadline();
      this.releaseUpstream();
      this.finished = true;
      onClosed();
    });
  }

  /** Closes both connections: for errors, deadlines and broken upstreams, after which nothing is kept. */
  destroy(): void {
    this.finished = true;
    this.client.destroy();
    this.dropUpstream();
  }

  private dropUpstream(): void {
    this.link?.destroy();
    this.link = null;
  }

  /** The client connection is done: its upstream connection goes to the pool if nothing of an exchange is left on it. */
  private releaseUpstream(): void {
    const link = this.link;
    if (!link) return;
    this.link = null;
    const observer = this.observer;
    const clean = !this.bound && !this.tunnel && !this.requestOpen && observer.waiting === 0 && !observer.midResponse && !observer.upstreamClosing;
    this.pool.release(link, clean);
  }

  private fromClient(chunk: Buffer): void {
    if (this.finished) return;
    this.lastActivity = performance.now();
    if (this.tunnel) {
      if (!this.link!.socket.write(chunk)) this.waitForUpstreamDrain();
      return;
    }
    this.readClient(() => this.reader.push(chunk));
  }

  /** Runs the request reader over client bytes, then sends what it wrote upstream and applies backpressure. */
  private readClient(read: () => void): void {
    try {
      read();
      if (this.upgradeRefused && this.reader.holding) {
        this.upgradeRefused = false;
        this.reader.resume();
      }
    } catch (error) {
      this.refuse(error as Error);
    }
    if (this.corked) {
      this.corked.uncork();
      this.corked = null;
    }
    if (this.finished) return;
    // A last request whose body ended after its answer came (an early 401 or 413) is answered now.
    this.endIfAnswered();
    if (this.finished) return;
    if (this.reader.headInProgress) this.startHeadDeadline();
    else this.stopHeadDeadline();
    if (this.reader.holding) this.client.pause();
    else if (this.link?.socket.writableNeedDrain) this.waitForUpstreamDrain();
  }

  /**
   * After the client's FIN or its last request (Connection: close, HTTP/1.0): ends our side once every
   * response it asked for is out (called after each write).
   */
  private endIfAnswered(): void {
    if ((this.clientEnded || this.lastRequestSent) && !this.finished && !this.tunnel && !this.requestOpen && this.observer.waiting === 0) this.finish(null);
  }

  /** A record's fields about this connection: which one, whose, and `fields`. */
  private about(fields: Record<string, unknown>): Record<string, unknown> {
    return { ...(this.conn ? { conn: this.conn } : {}), client: this.forwarded.clientAddress, ...fields };
  }

  /** Called by the proxy's PeriodicCheck. */
  checkDeadlines(now: number): void {
    if (now - this.lastActivity >= this.idleMs) {
      this.options.logger.debug(this.about({ idleMs: this.idleMs }), 'HTTPS connection idle; closed');
      this.destroy();
      return;
    }
    if (this.headDeadline !== 0 && now >= this.headDeadline) {
      this.headDeadline = 0;
      const limitMs = this.headLimitMs;
      this.options.logger.info(this.about({ limitMs }), 'request head not complete in time; connection closed');
      if (this.observer.waiting === 0 && !this.requestOpen) this.finish(errorResponse(408, `request head not complete within ${limitMs} ms`));
      else this.destroy();
    }
    if (this.connectDeadline !== 0) {
      const upstream = this.link?.socket;
      if (!upstream?.connecting) this.connectDeadline = 0;
      else if (now >= this.connectDeadline) {
        this.connectDeadline = 0;
        upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      }
    }
  }

  /** Runs from the first byte of a head (or from the connection's start) until the head is complete. */
  private startHeadDeadline(): void {
    if (this.headDeadline !== 0) return;
    this.headLimitMs = this.options.headTimeoutMs();
    this.headDeadline = performance.now() + this.headLimitMs;
  }

  private stopHeadDeadline(): void {
    this.headDeadline = 0;
  }

  private waitForUpstreamDrain(): void {
    this.client.pause();
    this.link!.socket.once('drain', () => {
      if (!this.reader.holding) this.client.resume();
    });
  }

  private sendHead(head: RequestHead): void {
    if (head.upgrade || head.connectionBoundAuth) this.bound = true;
    const canResend = resendable(head);
    // A request that could not be sent again (its body streams through; its method is not idempotent), or
    // one that binds the connection (and is never sent again), goes on a new connection.
    const link = this.link ?? this.connectUpstream(!canResend || this.bound);
    const upstream = link.socket;
    // A connection that sat idle after serving responses may be closing as this request goes out.
    if (this.observer.waiting === 0 && !this.requestOpen) {
      this.replay = link.responses > 0 && !this.bound ? [] : null;
      this.replaySince = performance.now();
    }
    const keepUpstream = !head.upgrade && this.options.upstreamKeepAliveMs() > 0;
    this.requestOpen = true;
    this.observer.expect({ method: head.method, upgrade: head.upgrade, target: head.target, closeDownstream: keepUpstream && head.last });
    const rewritten = rewriteRequestHead(head, this.forwarded, keepUpstream);
    if (this.replay) {
      if (canResend) this.replay.push(rewritten);
      else this.replay = null;
    }
    // Corked until the chunk is read: the head leaves in one segment with the body bytes that came with it.
    if (!this.corked) {
      upstream.cork();
      this.corked = upstream;
    }
    upstream.write(rewritten, 'latin1');
    link.sent();
  }

  /** The upstream target is read now, so a changed port map applies to new connections. */
  private connectUpstream(fresh: boolean): UpstreamConnection {
    const { host, ports } = this.options.listener().upstream;
    const link = this.pool.acquire(host, ports.from, this, fresh);
    this.link = link;
    this.upstreamAddress = link.address;
    if (link.socket.connecting) this.connectDeadline = performance.now() + upstreamConnectTimeoutMs;
    return link;
  }

  /** `buffer` comes from the read pool: it goes back once the client write of its bytes completed. */
  upstreamData(buffer: Buffer, bytes: number): void {
    if (this.finished) return;
    const chunk = buffer.subarray(0, bytes);
    if (this.replay !== null) {
      const replay = this.replay;
      this.replay = null;
      // Some servers answer 408 as their idle timeout closes a connection: if that crossed the requests, it is not theirs.
      if (this.withinResendWindow(replay) && isTimeoutAnswer(chunk)) {
        upstreamReadBuffers.release(buffer);
        this.sendAgain(replay, { code: '408' } as NodeJS.ErrnoException);
        return;
      }
    }
    let pieces: Buffer[] | null = null;
    if (!this.tunnel) {
      try {
        pieces = this.observer.push(chunk);
      } catch (error) {
        this.options.logger.warn(this.about({ reason: (error as Error).message, upstream: this.upstreamAddress }), 'upstream web port sent an invalid response; connection closed');
        this.destroy();
        return;
      }
    }
    const done = () => {
      this.lastActivity = performance.now();
      upstreamReadBuffers.release(buffer);
    };
    let written = true;
    if (pieces === null) written = this.client.write(chunk, done);
    else if (pieces.length === 0) upstreamReadBuffers.release(buffer);
    // A rewritten head and slices of the chunk around it: the buffer goes back after the last.
    else for (let i = 0; i < pieces.length; i++) written = this.client.write(pieces[i]!, i === pieces.length - 1 ? done : undefined);
    if (!written) {
      this.link!.socket.pause();
      this.client.once('drain', () => this.link?.socket.resume());
    }
    if (this.switching) {
      this.switching = false;
      this.tunnel = true;
      const held = this.reader.takeHeld();
      if (held && !this.link!.socket.write(held)) this.waitForUpstreamDrain();
      else this.client.resume();
      if (this.clientEnded) this.link!.socket.end();
    }
    // A refused upgrade: what the reader holds behind it is read as requests (readClient does that, also
    // when the refusal came before the upgrade request's body ended and the hold begins only then).
    if (this.upgradeRefused && this.reader.holding) {
      this.client.resume();
      this.readClient(() => undefined);
    }
    if (this.refusal !== null && this.observer.waiting === 0) this.finish(this.refusal);
    this.endIfAnswered();
  }

  /**
   * The upstream ended, failed or closed. What the client gets depends on how
   * far the response had come: the end of a response delimited by the close,
   * a cut (not a clean end) for a truncated one, a 502 when nothing of it came.
   *
   * An upstream that closes while idle (its keep-alive timeout; Node's is 5 s)
   * is let go and the client connection stays: its next request opens a new
   * upstream connection. Clients keep their connections for our idle timeout,
   * as they did when upstream connections came from a pool.
   */
  upstreamGone(error: NodeJS.ErrnoException | null): void {
    if (this.finished) return;
    const observer = this.observer;
    if (this.replay !== null && this.withinResendWindow(this.replay)) {
      this.sendAgain(this.replay, error);
      return;
    }
    if (this.tunnel || (observer.endsAtClose && !error)) {
      this.finished = true;
      this.client.end();
      this.dropUpstream();
      return;
    }
    const request = this.pendingRequest();
    // A response head held for rewriting was not forwarded at all: that client can still get a 502.
    if ((observer.midResponse && !observer.headHeld) || (error && observer.endsAtClose)) {
      this.options.logger.warn(this.about({ reason: error?.message ?? 'closed', upstream: this.upstreamAddress, ...request }), 'upstream web port broke off a response; client connection cut');
      this.destroy();
      return;
    }
    if (observer.upstreamClosing) {
      // The close was announced: requests pipelined after it were never answered, and the client knows to retry them.
      this.finish(this.refusal);
      return;
    }
    if (observer.waiting > 0) {
      const reason = error?.code ?? error?.message ?? 'connection closed without a response';
      this.options.logger.warn(this.about({ reason, upstream: this.upstreamAddress, ...request }), 'upstream web request failed');
      this.finish(errorResponse(502, `the file server's web port did not answer (${reason})`));
      return;
    }
    if (this.refusal !== null) {
      this.finish(this.refusal);
      return;
    }
    if (this.clientEnded) {
      this.finish(null);
      return;
    }
    if (this.requestOpen) {
      // It answered before taking the whole body (e.g. a 401 to an upload), then closed: the rest of
      // that body has nowhere to go, and the connection ends after what was delivered.
      this.finish(null);
      return;
    }
    this.dropUpstream();
    // A 'drain' the client waited for will not come from a socket let go.
    this.client.resume();
  }

  /** Every request waiting for an answer is in `replay`, they went out moments ago, and none is still being sent. */
  private withinResendWindow(replay: string[]): boolean {
    return replay.length > 0 && replay.length === this.observer.waiting && !this.requestOpen && performance.now() - this.replaySince <= resendWindowMs;
  }

  /** The connection the requests in `heads` went out on was closed before any answer: they go on a new one. */
  private sendAgain(heads: string[], error: NodeJS.ErrnoException | null): void {
    this.replay = null;
    const reused = this.link!.reuses;
    this.dropUpstream();
    this.options.logger.debug(this.about({ reason: error?.code ?? error?.message ?? 'closed', requests: heads.length, reused }), 'kept upstream connection closed as requests went out; sent again on a new one');
    const upstream = this.connectUpstream(true).socket;
    upstream.cork();
    for (const head of heads) upstream.write(head, 'latin1');
    upstream.uncork();
    // A 'drain' the client waited for will not come from the socket let go.
    if (!this.reader.holding) this.client.resume();
  }

  private pendingRequest(): { method?: string; url?: string } {
    const request = this.observer.oldest;
    return request ? { method: request.method, url: request.target } : {};
  }

  /** A request that breaks the rules: answered with its status once earlier responses are out, and the connection closes. */
  private refuse(error: Error): void {
    if (!(error instanceof HttpSyntaxError)) {
      // A bug here must cost one connection, not the process that serves them all.
      this.options.logger.error(this.about({ err: error }), 'HTTPS relay failed; connection closed');
      this.destroy();
      return;
    }
    this.options.logger.info(this.about({ status: error.status, reason: error.message }), 'bad HTTP request refused');
    const response = errorResponse(error.status, error.message);
    if (this.requestOpen) {
      // The upstream has part of this request: it must never see the rest or take what it has for complete.
      this.dropUpstream();
      this.requestOpen = false;
      if (this.observer.waiting > 1 || this.observer.midResponse) this.destroy();
      else this.finish(response);
      return;
    }
    if (this.observer.waiting === 0) this.finish(response);
    else this.refusal = response;
  }

  /** Ends the client connection after `response` (or after what was written), and the upstream with it. */
  private finish(response: string | null): void {
    if (this.finished) return;
    this.finished = true;
    if (response === null) this.client.end();
    else this.client.end(response, 'latin1');
    this.releaseUpstream();
  }
}

/**
 * Methods a request of which may be sent again when the connection it went out on closed before any
 * answer: idempotent ones (RFC 9110 §9.2.2). POST, PATCH, LOCK, MKCOL… are not, even without a body.
 */
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE', 'PROPFIND']);

/** The request can go out again as it is: idempotent, and no body (which streams through and is gone). */
function resendable(head: RequestHead): boolean {
  return head.body.kind === 'none' && idempotentMethods.has(head.method);
}

/** A 408 status line: what some servers send as their idle timeout closes a kept connection. */
function isTimeoutAnswer(chunk: Buffer): boolean {
  return chunk.length >= 12 && chunk.toString('latin1', 0, 12).replace('HTTP/1.0', 'HTTP/1.1') === 'HTTP/1.1 408';
}

function errorResponse(status: number, reason: string): string {
  const phrase = STATUS_CODES[status] ?? 'Error';
  // The reason may quote what the client sent; only printable ASCII goes back.
  const body = `${phrase}: ${reason.replace(/[^\x20-\x7e]/g, '?')}.\n`;
  return `HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}
