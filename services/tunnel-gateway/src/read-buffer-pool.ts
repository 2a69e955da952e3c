import type { OnReadOpts } from 'node:net';

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
 * `onread` options for net.connect: reads land in pooled buffers and go to
 * `onChunk`, which hands each buffer back (release) once nothing refers to it.
 * Backpressure is left to socket.pause()/resume().
 */
export function pooledReads(onChunk: (buffer: Buffer, bytes: number) => void): OnReadOpts {
  return {
    buffer: () => upstreamReadBuffers.take(),
    callback: (bytes, buffer) => {
      onChunk(buffer as Buffer, bytes);
      return true;
    },
  };
}
