import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Listener } from '@st/contracts';
import type { Logger } from '@st/logging';
import { failure, logReasonOf, messageOf } from './errors.js';
import { rewriteRequestHead, type ForwardedFor, type RequestHead } from './http1/request-head.js';
import { RequestReader } from './http1/request-reader.js';
import { errorResponse, isTimeoutAnswer, resendable, upgradeOutcome, upstreamGoneAction, withinResendWindow } from './http1/relay-rules.js';
import { ResponseObserver, type ExpectedResponse } from './http1/response-observer.js';
import { HttpSyntaxError } from './http1/syntax.js';
import { upstreamReadBuffers } from './read-buffer-pool.js';
import type { UpstreamConnection, UpstreamPool, UpstreamUser } from './upstream-pool.js';

export interface HttpsConnectionOptions {
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

interface SentRequest extends ExpectedResponse {
  target: string;
}

/**
 * Where a connection stands:
 * - requests: requests are read and relayed, responses observed;
 * - upgrade-refused: the upstream answered an upgrade request with something
 *   else; what the reader holds behind it is to be read as requests;
 * - switching: a 101 was seen in the chunk being handled; the tunnel starts
 *   once that chunk is written;
 * - tunnel: after a 101, bytes flow unread both ways;
 * - ended: the one end path was taken; nothing more is read or written.
 */
type Phase = 'requests' | 'upgrade-refused' | 'switching' | 'tunnel' | 'ended';

/** How `end` ends the client connection: reset (errors, deadlines), or after what was written (and `response`). */
const reset = Symbol('reset');

/** One client connection and the upstream connection it uses. */
export class HttpsConnection implements UpstreamUser {
  private phase: Phase = 'requests';
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
  /** A request's head was sent upstream and its body has not ended. */
  private requestOpen = false;
  /** The client sent a request that ends the connection (Connection: close, HTTP/1.0). */
  private lastRequestSent = false;
  /** The client sent its FIN: nothing more will come from it. */
  private clientEnded = false;
  /** Our answer to a refused request, sent once the responses to the requests before it are delivered. */
  private refusal: string | null = null;
  /** The upstream socket corked while a client chunk is read (the link may be dropped meanwhile, by a refusal). */
  private corked: Socket | null = null;
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

  constructor(
    /** A TLS socket, or a plain one from the plain HTTP port passing requests through. */
    private readonly client: Socket,
    private readonly forwarded: ForwardedFor,
    private readonly conn: string | null,
    private readonly options: HttpsConnectionOptions,
    private readonly pool: UpstreamPool,
    onClosed: () => void,
    /** Sent first on every upstream connection (a PROXY header): those connections are this client's alone. */
    private readonly upstreamPreface: Buffer | null = null,
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
        const outcome = upgradeOutcome(request.upgrade, status);
        if (outcome === 'switch') this.phase = 'switching';
        else if (outcome === 'refused') this.phase = 'upgrade-refused';
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
      if (this.phase === 'tunnel' || this.requestOpen) this.link?.socket.end();
      this.endIfAnswered();
    });
    client.on('error', () => this.end(reset));
    client.on('close', () => {
      this.stopHeadDeadline();
      // Gone by itself: the upstream connection goes back to the pool if nothing is left on it.
      this.end(null);
      onClosed();
    });
  }

  /** Read through a getter: a call may have ended the connection since the phase was last looked at. */
  private get ended(): boolean {
    return this.phase === 'ended';
  }

  /** Closes both connections (the proxy is closing). */
  destroy(): void {
    this.end(reset);
  }

  /**
   * The one way a connection ends. `reset`: both sockets are destroyed
   * (errors, deadlines, a broken upstream), nothing is kept. Otherwise our
   * side ends after what was written and `response` (if any), and the
   * upstream connection goes back to the pool if no part of an exchange is
   * left on it.
   */
  private end(response: string | null | typeof reset): void {
    const client = this.client;
    if (response === reset) {
      // Also after a graceful end: a client that never closes its side is not waited for.
      this.phase = 'ended';
      client.destroy();
      this.dropUpstream();
      return;
    }
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    if (!client.destroyed) {
      if (response === null) client.end();
      else client.end(response, 'latin1');
    }
    const link = this.link;
    if (!link) return;
    this.link = null;
    const observer = this.observer;
    // An upgraded connection is bound, so a tunnel is never kept.
    const clean = !this.bound && !this.requestOpen && observer.waiting === 0 && !observer.midResponse && !observer.upstreamClosing;
    this.pool.release(link, clean);
  }

  private dropUpstream(): void {
    this.link?.destroy();
    this.link = null;
  }

  private fromClient(chunk: Buffer): void {
    const phase = this.phase;
    if (phase === 'ended') return;
    this.lastActivity = performance.now();
    if (phase === 'tunnel') {
      if (!this.link!.socket.write(chunk)) this.waitForUpstreamDrain();
      return;
    }
    this.readClient(() => this.reader.push(chunk));
  }

  /** Runs the request reader over client bytes, then sends what it wrote upstream and applies backpressure. */
  private readClient(read: () => void): void {
    try {
      read();
      if (this.phase === 'upgrade-refused' && this.reader.holding) {
        this.phase = 'requests';
        this.reader.resume();
      }
    } catch (error) {
      this.refuse(error as Error);
    }
    if (this.corked) {
      this.corked.uncork();
      this.corked = null;
    }
    if (this.ended) return;
    // A last request whose body ended after its answer came (an early 401 or 413) is answered now.
    this.endIfAnswered();
    if (this.ended) return;
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
    if ((this.clientEnded || this.lastRequestSent) && this.phase !== 'ended' && this.phase !== 'tunnel' && !this.requestOpen && this.observer.waiting === 0) this.end(null);
  }

  /** A record's fields about this connection: which one, whose, and `fields`. */
  private about(fields: Record<string, unknown>): Record<string, unknown> {
    return { ...(this.conn ? { conn: this.conn } : {}), client: this.forwarded.clientAddress, ...fields };
  }

  /** Called by the proxy's PeriodicCheck. */
  checkDeadlines(now: number): void {
    if (now - this.lastActivity >= this.idleMs) {
      this.options.logger.debug(this.about({ idleMs: this.idleMs }), 'HTTPS connection idle; closed');
      this.end(reset);
      return;
    }
    if (this.headDeadline !== 0 && now >= this.headDeadline) {
      this.headDeadline = 0;
      const timeout = failure('HTTP_HEAD_TIMEOUT', { limitMs: this.headLimitMs });
      this.options.logger.info(this.about({ limitMs: this.headLimitMs }), logReasonOf(timeout));
      if (this.observer.waiting === 0 && !this.requestOpen) this.end(errorResponse(408, messageOf(timeout)));
      else this.end(reset);
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
    // A request without a body needs no cork: one write is cheaper than a cork, a writev and an uncork.
    if (!this.corked && head.body.kind !== 'none') {
      upstream.cork();
      this.corked = upstream;
    }
    upstream.write(rewritten, 'latin1');
    link.sent();
  }

  /** The upstream target is read now, so a changed port map applies to new connections. */
  private connectUpstream(fresh: boolean): UpstreamConnection {
    const { host, ports } = this.options.listener().upstream;
    const link = this.pool.acquire(host, ports.from, this, fresh, this.upstreamPreface);
    this.link = link;
    this.upstreamAddress = link.address;
    if (link.socket.connecting) this.connectDeadline = performance.now() + upstreamConnectTimeoutMs;
    return link;
  }

  /** `buffer` comes from the read pool: it goes back once the client write of its bytes completed. */
  upstreamData(buffer: Buffer, bytes: number): void {
    if (this.phase === 'ended') return;
    const chunk = buffer.subarray(0, bytes);
    if (this.replay !== null) {
      const replay = this.replay;
      this.replay = null;
      // Some servers answer 408 as their idle timeout closes a connection: if that crossed the requests, it is not theirs.
      if (isTimeoutAnswer(chunk) && this.canResend(replay)) {
        upstreamReadBuffers.release(buffer);
        this.sendAgain(replay, '408');
        return;
      }
    }
    let pieces: Buffer[] | null = null;
    if (this.phase !== 'tunnel') {
      try {
        pieces = this.observer.push(chunk);
      } catch (error) {
        this.options.logger.warn(this.about({ reason: (error as Error).message, upstream: this.upstreamAddress }), 'upstream web port sent an invalid response; connection closed');
        this.end(reset);
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
    else {
      // A rewritten head and slices of the chunk around it: the buffer goes back after the last. Corked, they go
      // to the TLS layer as one write, as the chunk would have (a short connection's one response).
      const client = this.client;
      client.cork();
      for (let i = 0; i < pieces.length; i++) written = client.write(pieces[i]!, i === pieces.length - 1 ? done : undefined);
      client.uncork();
    }
    if (!written) {
      this.link!.socket.pause();
      this.client.once('drain', () => this.link?.socket.resume());
    }
    if (this.phase === 'switching') this.startTunnel();
    // A refused upgrade: what the reader holds behind it is read as requests (readClient does that, also
    // when the refusal came before the upgrade request's body ended and the hold begins only then).
    if (this.phase === 'upgrade-refused' && this.reader.holding) {
      this.client.resume();
      this.readClient(() => undefined);
    }
    if (this.refusal !== null && this.observer.waiting === 0) this.end(this.refusal);
    this.endIfAnswered();
  }

  /** After the chunk with the 101 was written: what the client sent behind the upgrade request goes up unread. */
  private startTunnel(): void {
    this.phase = 'tunnel';
    const upstream = this.link!.socket;
    const held = this.reader.takeHeld();
    if (held && !upstream.write(held)) this.waitForUpstreamDrain();
    else this.client.resume();
    if (this.clientEnded) upstream.end();
  }

  /**
   * The upstream ended, failed or closed. What the client gets depends on how
   * far the response had come (upstreamGoneAction): the end of a response
   * delimited by the close, a cut (not a clean end) for a truncated one, a
   * 502 when nothing of it came.
   *
   * An upstream that closes while idle (its keep-alive timeout; Node's is 5 s)
   * is let go and the client connection stays: its next request opens a new
   * upstream connection. Clients keep their connections for our idle timeout,
   * as they did when upstream connections came from a pool.
   */
  upstreamGone(error: NodeJS.ErrnoException | null): void {
    if (this.phase === 'ended') return;
    const observer = this.observer;
    const action = upstreamGoneAction({
      resend: this.replay !== null && this.canResend(this.replay),
      tunnel: this.phase === 'tunnel',
      error: error !== null,
      endsAtClose: observer.endsAtClose,
      midResponse: observer.midResponse,
      headHeld: observer.headHeld,
      closeAnnounced: observer.upstreamClosing,
      waiting: observer.waiting,
      refusalPending: this.refusal !== null,
      clientEnded: this.clientEnded,
      requestOpen: this.requestOpen,
    });
    switch (action) {
      case 'resend':
        return this.sendAgain(this.replay!, error?.code ?? error?.message ?? 'closed');
      case 'end':
        return this.end(null);
      case 'cut':
        this.options.logger.warn(
          this.about({ reason: error?.message ?? 'closed', upstream: this.upstreamAddress, ...this.pendingRequest() }),
          'upstream web port broke off a response; client connection cut',
        );
        return this.end(reset);
      case 'answer-502': {
        const noAnswer = failure('HTTP_UPSTREAM_NO_ANSWER', { reason: error?.code ?? error?.message ?? 'connection closed without a response' });
        this.options.logger.warn(this.about({ reason: noAnswer.details.reason, upstream: this.upstreamAddress, ...this.pendingRequest() }), logReasonOf(noAnswer));
        return this.end(errorResponse(502, messageOf(noAnswer)));
      }
      case 'finish':
        return this.end(this.refusal);
      case 'let-go':
        this.dropUpstream();
        // A 'drain' the client waited for will not come from a socket let go.
        this.client.resume();
        return;
    }
  }

  private canResend(replay: string[]): boolean {
    return withinResendWindow(replay.length, this.observer.waiting, this.requestOpen, performance.now() - this.replaySince);
  }

  /** The connection the requests in `heads` went out on was closed before any answer: they go on a new one. */
  private sendAgain(heads: string[], reason: string): void {
    this.replay = null;
    const reused = this.link!.reuses;
    this.dropUpstream();
    this.options.logger.debug(this.about({ reason, requests: heads.length, reused }), 'kept upstream connection closed as requests went out; sent again on a new one');
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
      this.end(reset);
      return;
    }
    this.options.logger.info(this.about({ status: error.status, reason: error.message }), 'bad HTTP request refused');
    const response = errorResponse(error.status, error.message);
    if (this.requestOpen) {
      // The upstream has part of this request: it must never see the rest or take what it has for complete.
      this.dropUpstream();
      this.requestOpen = false;
      if (this.observer.waiting > 1 || this.observer.midResponse) this.end(reset);
      else this.end(response);
      return;
    }
    if (this.observer.waiting === 0) this.end(response);
    else this.refusal = response;
  }
}
