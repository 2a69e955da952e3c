import { connect, type Socket, type TcpNetConnectOpts } from 'node:net';

/**
 * Read buffers for plain upstream sockets on bulk relay paths, reused once
 * the TLS write they fed has completed.
 *
 * Why: a socket read normally allocates a fresh 64 KiB Buffer. At several
 * hundred MB/s those allocations make V8 run a full mark-compact every few
 * dozen milliseconds (external memory pressure), and the gateway's heap
 * (express, ioredis, zod, pino) makes each one cost far more than in a bare
 * relay: profiles showed the collector threads alone at ~0.2 CPU-s per GiB.
 * Reading into recycled buffers (net.connect's `onread`) removes that.
 *
 * A buffer may go back to the pool only when nothing refers to it any more:
 * after the write callback of the chunk cut from it (the TLS layer has
 * encrypted it by then; a write queued in the stream keeps the chunk until
 * then). Code that keeps part of a chunk beyond the read callback must copy it.
 */
export class ReadBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferSize = 64 * 1024,
    /** Free buffers kept for later; beyond that they are left to the collector. */
    private readonly maxFree = 64,
  ) {}

  /** Buffers waiting for reuse. */
  get available(): number {
    return this.free.length;
  }

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferSize);
  }

  release(buffer: Buffer): void {
    if (this.free.length < this.maxFree) this.free.push(buffer);
  }
}

/** One pool per process: buffers are used by one connection at a time and move between connections freely. */
export const upstreamReadBuffers = new ReadBufferPool();

/**
 * net.connect with reads into pooled buffers: each read goes to `onChunk`,
 * which hands the buffer back (upstreamReadBuffers.release) once nothing
 * refers to it. Node installs the buffer for the next read right after each
 * read; that one is never handed out, so it returns to the pool when the
 * socket closes — otherwise every connection would cost a fresh buffer, and
 * at a thousand handshakes a second that is the same collector churn again.
 * Backpressure is left to socket.pause()/resume().
 */
export function connectWithPooledReads(options: TcpNetConnectOpts, onChunk: (buffer: Buffer, bytes: number) => void): Socket {
  let installed: Buffer | null = null;
  const socket = connect({
    ...options,
    onread: {
      buffer: () => (installed = upstreamReadBuffers.take()),
      callback: (bytes, buffer) => {
        installed = null;
        onChunk(buffer as Buffer, bytes);
        return true;
      },
    },
  });
  socket.once('close', () => {
    if (installed) upstreamReadBuffers.release(installed);
    installed = null;
  });
  return socket;
}
