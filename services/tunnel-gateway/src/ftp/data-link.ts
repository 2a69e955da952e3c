import { EventEmitter } from 'node:events';
import net from 'node:net';

export interface DataLinkResult {
  ok: boolean;
  /** Why the link failed, for the log and the 426 reply. */
  reason?: string;
  bytesToClient: number;
  bytesToUpstream: number;
  durationMs: number;
}

export interface DataLinkOptions {
  id: string;
  /** The client side: a TLS socket, or the raw socket when clear data is allowed. */
  client: net.Socket;
  /** The accepted TCP socket under the client side, reset to signal a failed transfer. */
  clientRaw: net.Socket;
  upstreamHost: string;
  upstreamPort: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** How long the client may take to close after it received our close_notify. */
  lingerMs: number;
  /**
   * Set when policy refuses this data connection after its lease was claimed.
   * The upstream is still connected and then reset, so that it fails the
   * transfer at once instead of waiting for a data connection that never comes.
   */
  refusal?: string;
}

/**
 * Relays one FTP data connection between a client and the upstream data port.
 *
 * The relay does not know the transfer direction, so it keeps both halves
 * independent: a clean end from one side (the client's close_notify + FIN, or
 * the upstream's FIN) is passed on as a clean end to the other only after every
 * byte before it was written. A side that goes away without a clean end makes
 * the other side be reset, never ended cleanly, so that neither the upstream
 * (on an upload) nor the client (on a download) can take a truncated stream
 * for a complete one. The link is done when both sockets are closed; `done`
 * says whether the data arrived whole.
 */
export class DataLink extends EventEmitter {
  readonly id: string;
  readonly done: Promise<DataLinkResult>;
  private readonly startedAt = Date.now();
  private upstream: net.Socket | null = null;
  private bytesToClient = 0;
  private bytesToUpstream = 0;
  private clientEnded = false;
  private upstreamEnded = false;
  private clientFlushed = false;
  private upstreamFlushed = false;
  private clientClosed = false;
  private upstreamClosed = false;
  private failure: string | null = null;
  private finished = false;
  private resolveDone!: (result: DataLinkResult) => void;
  private idleTimer: NodeJS.Timeout | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: DataLinkOptions) {
    super();
    this.id = options.id;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.watchClient();
    this.connectUpstream();
    this.startIdleWatch();
  }

  get finishedAlready(): boolean {
    return this.finished;
  }

  /** Tears the link down at once (ABOR, session end): both sides are reset. */
  abort(reason: string): void {
    if (this.finished) return;
    this.fail(reason);
  }

  private watchClient(): void {
    const { client } = this.options;
    client.on('data', (chunk: Buffer) => {
      this.bytesToUpstream += chunk.length;
      const upstream = this.upstream;
      // Until the upstream is connected the client is paused (see connectUpstream).
      if (upstream && !upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    client.on('end', () => {
      this.clientEnded = true;
      this.upstream?.end(() => (this.upstreamFlushed = true));
      this.maybeLinger();
    });
    client.on('error', (error: Error) => {
      // A reset after the client's clean end, or after it was sent every byte and our close_notify, loses nothing.
      if (!this.clientEnded && !this.clientFlushed) this.fail(`client data connection: ${error.message}`);
    });
    client.on('close', () => {
      this.clientClosed = true;
      if (!this.clientEnded && !this.clientFlushed) this.fail('client closed the data connection before the transfer ended');
      this.maybeFinish();
    });
    client.pause();
  }

  private connectUpstream(): void {
    const { client } = this.options;
    const upstream = net.connect({ host: this.options.upstreamHost, port: this.options.upstreamPort, noDelay: true });
    this.upstream = upstream;
    const connectTimer = setTimeout(
      () => this.fail(`upstream data port ${this.options.upstreamPort} did not accept in time`),
      this.options.connectTimeoutMs,
    );
    upstream.once('connect', () => {
      clearTimeout(connectTimer);
      if (this.finished) return;
      if (this.options.refusal) return this.fail(this.options.refusal);
      if (this.clientEnded) upstream.end(() => (this.upstreamFlushed = true));
      client.resume();
    });
    upstream.on('data', (chunk: Buffer) => {
      this.bytesToClient += chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    upstream.on('end', () => {
      this.upstreamEnded = true;
      // end() sends close_notify and FIN once everything before it is written.
      if (!client.destroyed) client.end(() => (this.clientFlushed = true));
      this.maybeLinger();
    });
    upstream.on('error', (error: Error) => {
      clearTimeout(connectTimer);
      if (!this.upstreamEnded && !this.upstreamFlushed) this.fail(`upstream data connection: ${error.message}`);
    });
    upstream.on('close', () => {
      clearTimeout(connectTimer);
      this.upstreamClosed = true;
      if (!this.upstreamEnded && !this.upstreamFlushed) this.fail('upstream closed the data connection before the transfer ended');
      this.maybeFinish();
    });
  }

  /** After the upstream's end, a client that never closes must not hold the transfer's completion reply. */
  private maybeLinger(): void {
    if (!this.upstreamEnded || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.options.client.destroy();
      this.upstream?.destroy();
    }, this.options.lingerMs);
  }

  private startIdleWatch(): void {
    let lastTotal = -1;
    const period = Math.max(250, Math.floor(this.options.idleTimeoutMs / 4));
    let idleFor = 0;
    this.idleTimer = setInterval(() => {
      const total = this.bytesToClient + this.bytesToUpstream;
      idleFor = total === lastTotal ? idleFor + period : 0;
      lastTotal = total;
      if (idleFor >= this.options.idleTimeoutMs) this.fail(`data connection stalled for ${this.options.idleTimeoutMs} ms`);
    }, period);
    this.idleTimer.unref();
  }

  private fail(reason: string): void {
    if (this.finished) return;
    this.failure ??= reason;
    // Reset, not end: the peer must see an error, not a clean end of a truncated stream.
    if (!this.clientClosed) resetSocket(this.options.clientRaw);
    if (this.upstream && !this.upstreamClosed) resetSocket(this.upstream);
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished || !this.clientClosed || !this.upstreamClosed) return;
    this.finished = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    const result: DataLinkResult = {
      ok: this.failure === null,
      bytesToClient: this.bytesToClient,
      bytesToUpstream: this.bytesToUpstream,
      durationMs: Date.now() - this.startedAt,
      ...(this.failure !== null ? { reason: this.failure } : {}),
    };
    this.resolveDone(result);
    this.emit('done', result);
  }
}

/** RST instead of FIN; a socket still connecting cannot be reset and is just closed. */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
