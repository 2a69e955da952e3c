import { EventEmitter } from 'node:events';
import net from 'node:net';
import { failure, messageOf, type Failure, type GatewayErrorCode } from '../errors.js';
import { connectWithPooledReads, upstreamReadBuffers } from '../read-buffer-pool.js';

export interface DataLinkResult {
  ok: boolean;
  /** Why the link failed, for the log and the 426 reply. */
  reason?: string;
  /** The catalogue code of that failure. */
  error?: GatewayErrorCode;
  bytesToClient: number;
  bytesToUpstream: number;
  durationMs: number;
}

export interface DataLinkOptions {
  id: string;
  upstreamHost: string;
  upstreamPort: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** How long the client may take to close after it received our close_notify. */
  lingerMs: number;
}

/**
 * Relays one FTP data connection between a client and the upstream data port.
 *
 * The upstream is connected as soon as the client's TCP connection is
 * admitted, before the client's TLS handshake: some clients (lftp) start the
 * data connection's handshake only after the 150 reply, and upstream servers
 * send 150 only once their data connection is accepted. Upstream bytes wait
 * (paused) until the client side is attached.
 *
 * The relay does not know the transfer direction, so it keeps both halves
 * independent: a clean end from one side (the client's close_notify + FIN, or
 * the upstream's FIN) is passed on as a clean end to the other only after every
 * byte before it was written. A side that goes away without a clean end makes
 * the other side be reset, never ended cleanly, so that neither the upstream
 * (on an upload) nor the client (on a download) can take a truncated stream
 * for a complete one.
 *
 * `done` resolves as soon as the outcome is known: delivered (the upstream
 * ended and every byte plus our close_notify was flushed to the client), or
 * failed. A client that keeps its socket open until it reads the completion
 * reply (lftp does) must not hold that reply. 'closed' follows when both
 * sockets are gone; the lease is released then. 'upstream-complete' says the
 * upstream sent its whole stream (an ABOR has nothing left to stop).
 */
export class DataLink extends EventEmitter {
  readonly id: string;
  readonly done: Promise<DataLinkResult>;
  private readonly startedAt = Date.now();
  private readonly upstream: net.Socket;
  private client: net.Socket | null = null;
  private clientRaw: net.Socket | null = null;
  private upstreamConnected = false;
  private bytesToClient = 0;
  private bytesToUpstream = 0;
  private clientEnded = false;
  private upstreamEnded = false;
  private clientFlushed = false;
  private upstreamFlushed = false;
  private clientClosed = false;
  private upstreamClosed = false;
  private failure: Failure | null = null;
  private finished = false;
  private released = false;
  private resolveDone!: (result: DataLinkResult) => void;
  private idleTimer: NodeJS.Timeout | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: DataLinkOptions) {
    super();
    this.id = options.id;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.upstream = this.connectUpstream();
    this.startIdleWatch();
  }

  get finishedAlready(): boolean {
    return this.finished;
  }

  /** For debugging logs: where each side stands. */
  describe(): Record<string, unknown> {
    return {
      link: this.id,
      clientAttached: this.client !== null,
      clientEnded: this.clientEnded,
      clientFlushed: this.clientFlushed,
      clientClosed: this.clientClosed,
      upstreamConnected: this.upstreamConnected,
      upstreamEnded: this.upstreamEnded,
      upstreamClosed: this.upstreamClosed,
      failure: this.failure?.code ?? null,
    };
  }

  /**
   * Connects the client side: a TLS socket after its handshake, or the raw
   * socket for clear data. `clientRaw` is the TCP socket under it, reset to
   * signal a failed transfer.
   */
  attachClient(client: net.Socket, clientRaw: net.Socket): void {
    if (this.finished || this.client) {
      resetSocket(clientRaw);
      return;
    }
    this.client = client;
    this.clientRaw = clientRaw;
    client.on('data', (chunk: Buffer) => {
      this.bytesToUpstream += chunk.length;
      if (!this.upstream.write(chunk)) {
        client.pause();
        this.upstream.once('drain', () => client.resume());
      }
    });
    client.on('end', () => {
      this.clientEnded = true;
      this.upstream.end(() => (this.upstreamFlushed = true));
    });
    client.on('error', (error: Error) => {
      // A reset after the client's clean end, or after it was sent every byte and our close_notify, loses nothing.
      if (!this.clientEnded && !this.clientFlushed) this.fail(failure('DATA_CLIENT_ERROR', { reason: error.message }));
    });
    client.on('close', () => {
      this.clientClosed = true;
      if (!this.clientEnded && !this.clientFlushed) this.fail(failure('DATA_CLIENT_CLOSED_EARLY'));
      this.maybeClosed();
    });
    if (this.upstreamEnded) this.endClient();
    this.startFlowing();
  }

  /** The upstream sent its whole stream and ended: an ABOR now has nothing left to stop. */
  get upstreamComplete(): boolean {
    return this.upstreamEnded;
  }

  /** Tears the link down at once (ABOR, session end, refused by policy): both sides are reset. */
  abort(cause: Failure): void {
    if (this.finished) return;
    this.fail(cause);
  }

  private connectUpstream(): net.Socket {
    // Recycled read buffers: see ReadBufferPool for why (GC cost on bulk downloads).
    const upstream = connectWithPooledReads({ host: this.options.upstreamHost, port: this.options.upstreamPort, noDelay: true }, (buffer, bytes) =>
      this.fromUpstream(buffer, bytes),
    );
    upstream.pause();
    const connectTimer = setTimeout(
      () => this.fail(failure('DATA_UPSTREAM_CONNECT_TIMEOUT', { port: this.options.upstreamPort })),
      this.options.connectTimeoutMs,
    );
    upstream.once('connect', () => {
      clearTimeout(connectTimer);
      this.upstreamConnected = true;
      this.startFlowing();
    });
    upstream.on('end', () => {
      this.upstreamEnded = true;
      this.emit('upstream-complete');
      if (this.client) this.endClient();
    });
    upstream.on('error', (error: Error) => {
      clearTimeout(connectTimer);
      if (!this.upstreamEnded && !this.upstreamFlushed) this.fail(failure('DATA_UPSTREAM_ERROR', { reason: error.message }));
    });
    upstream.on('close', () => {
      clearTimeout(connectTimer);
      this.upstreamClosed = true;
      if (!this.upstreamEnded && !this.upstreamFlushed) this.fail(failure('DATA_UPSTREAM_CLOSED_EARLY'));
      this.maybeClosed();
    });
    return upstream;
  }

  /** Data flows only once the client is attached (startFlowing); `buffer` goes back to the pool once written. */
  private fromUpstream(buffer: Buffer, bytes: number): void {
    this.bytesToClient += bytes;
    const client = this.client!;
    if (!client.write(buffer.subarray(0, bytes), () => upstreamReadBuffers.release(buffer))) {
      this.upstream.pause();
      client.once('drain', () => this.upstream.resume());
    }
  }

  private startFlowing(): void {
    if (!this.client || !this.upstreamConnected || this.finished) return;
    if (this.clientEnded) this.upstream.end(() => (this.upstreamFlushed = true));
    this.client.resume();
    this.upstream.resume();
  }

  /** end() sends close_notify and FIN once everything before it is written. */
  private endClient(): void {
    const client = this.client!;
    if (!client.destroyed) {
      client.end(() => {
        this.clientFlushed = true;
        this.finish();
      });
    }
  }

  private startIdleWatch(): void {
    let lastTotal = -1;
    const period = Math.max(250, Math.floor(this.options.idleTimeoutMs / 4));
    let idleFor = 0;
    this.idleTimer = setInterval(() => {
      const total = this.bytesToClient + this.bytesToUpstream;
      idleFor = total === lastTotal ? idleFor + period : 0;
      lastTotal = total;
      if (idleFor >= this.options.idleTimeoutMs) this.fail(failure('DATA_STALLED', { idleMs: this.options.idleTimeoutMs }));
    }, period);
    this.idleTimer.unref();
  }

  private fail(cause: Failure): void {
    // The first cause stands: tearing the sockets down below makes them report their own end.
    if (this.finished || this.failure) return;
    this.failure = cause;
    // Reset, not end: the peer must see an error, not a clean end of a truncated stream.
    if (this.clientRaw) resetSocket(this.clientRaw);
    this.client?.destroy();
    if (!this.client) this.clientClosed = true;
    resetSocket(this.upstream);
    this.finish();
  }

  /** The outcome is known: delivered (called once the client side flushed after the upstream's end) or failed. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const result: DataLinkResult = {
      ok: this.failure === null,
      bytesToClient: this.bytesToClient,
      bytesToUpstream: this.bytesToUpstream,
      durationMs: Date.now() - this.startedAt,
      ...(this.failure !== null ? { reason: messageOf(this.failure), error: this.failure.code } : {}),
    };
    this.resolveDone(result);
    this.emit('done', result);
    // Whatever a peer does not close by itself is closed for it.
    this.lingerTimer = setTimeout(() => {
      this.client?.destroy();
      this.upstream.destroy();
      this.clientClosed = true;
      this.upstreamClosed = true;
      this.maybeClosed();
    }, this.failure === null ? this.options.lingerMs : 1000);
    this.lingerTimer.unref();
    this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.released || !this.clientClosed || !this.upstreamClosed) return;
    this.released = true;
    if (!this.finished) this.finish();
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.emit('closed');
  }
}

/** RST instead of FIN; a socket still connecting cannot be reset and is just closed. */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
