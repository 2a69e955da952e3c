import fs from 'node:fs';

/** The two file system calls the writer uses; tests replace them to play slow, full or broken outputs. */
export interface LineOutput {
  write(fd: number, buffer: Buffer, offset: number, length: number, callback: (error: NodeJS.ErrnoException | null, written: number) => void): void;
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
}

export interface BatchedLineWriterOptions {
  fd: number;
  /** Pending characters that start a write before the timer does (default 64 KiB). */
  flushChars?: number;
  /** Longest a line waits for its write (default 100 ms). */
  flushIntervalMs?: number;
  /** Pending characters beyond which new lines are dropped and counted (default 8 MiB): a stuck output must not eat the memory. */
  maxPendingChars?: number;
  /** Waits before a write that found the output full (EAGAIN) is tried again (default 20 ms). */
  retryMs?: number;
  output?: LineOutput;
  /** Called once lines fit again after some were dropped; the caller logs the count. */
  onDropped?: (count: number) => void;
  /** The output failed for good (EPIPE, EBADF…); every later line is dropped. Default: one line to stderr. */
  onBroken?: (error: NodeJS.ErrnoException) => void;
}

/**
 * Writes of at most this many bytes reach a pipe whole (POSIX PIPE_BUF on
 * Linux): a batch goes out in such pieces, cut after a line, so that the
 * synchronous flush at exit, racing a piece still being written by the thread
 * pool, can never split a line of it. Longer lines go out alone.
 */
export const atomicWriteBytes = 4096;

/** Where the piece of `batch` starting at `from` ends: after the last whole line within atomicWriteBytes. */
export function atomicChunkEnd(batch: Buffer, from: number): number {
  if (batch.length - from <= atomicWriteBytes) return batch.length;
  const lastNewline = batch.lastIndexOf(0x0a, from + atomicWriteBytes - 1);
  if (lastNewline >= from) return lastNewline + 1;
  const next = batch.indexOf(0x0a, from + atomicWriteBytes);
  return next === -1 ? batch.length : next + 1;
}

const defaultOutput: LineOutput = {
  write: (fd, buffer, offset, length, callback) => fs.write(fd, buffer, offset, length, null, callback),
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
};

/**
 * A pino destination that collects lines in an array and writes them in one
 * asynchronous write per batch (at most every `flushIntervalMs`, sooner when
 * `flushChars` are pending), with a synchronous flush for process exit.
 *
 * Why not pino.destination (sonic-boom): it measures the byte length of the
 * whole pending string on every line, which flattens a string of up to 16 KiB
 * per log call; with one line per HTTPS connection that cost about 60 µs per
 * connection, the difference between the gateway and a bare relay in full
 * handshakes per second. Here a line costs an array push.
 */
export class BatchedLineWriter {
  private lines: string[] = [];
  private pendingChars = 0;
  /** The batch being written, from `offset` on. */
  private inFlight: Buffer | null = null;
  private offset = 0;
  /** The batch whose write is with the thread pool (not waiting to be tried again), up to dispatchedEnd. */
  private dispatched: Buffer | null = null;
  private dispatchedEnd = 0;
  /** Set at exit: no new asynchronous writes; what remains goes out in flushSync. */
  private held = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly timer: NodeJS.Timeout;
  private dropped = 0;
  private broken = false;
  private waiters: Array<(error?: Error) => void> = [];
  private readonly options: Required<Omit<BatchedLineWriterOptions, 'onDropped'>> & Pick<BatchedLineWriterOptions, 'onDropped'>;

  constructor(options: BatchedLineWriterOptions) {
    this.options = {
      flushChars: 64 * 1024,
      flushIntervalMs: 100,
      maxPendingChars: 8 * 1024 * 1024,
      retryMs: 20,
      output: defaultOutput,
      onBroken: (error) => process.stderr.write(`log output failed (${error.code ?? error.message}); later log lines are dropped\n`),
      ...options,
    };
    this.timer = setInterval(() => this.startWrite(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Lines waiting for a write, the one being written included. */
  get pending(): number {
    return this.pendingChars + (this.inFlight ? this.inFlight.length - this.offset : 0);
  }

  /** Lines dropped since the last onDropped call (output full or broken). */
  get droppedLines(): number {
    return this.dropped;
  }

  write(line: string): boolean {
    if (this.broken || this.pending + line.length > this.options.maxPendingChars) {
      this.dropped++;
      return false;
    }
    this.lines.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= this.options.flushChars) this.startWrite();
    return true;
  }

  /** Writes what is pending now; the callback runs once it is out (or the output broke). */
  flush(callback?: (error?: Error) => void): void {
    if (callback) {
      if (this.pending === 0 || this.broken) {
        process.nextTick(callback);
        return;
      }
      this.waiters.push(callback);
    }
    this.startWrite();
  }

  /**
   * Writes everything pending before returning (process exit, crash). A full
   * non-blocking output is tried again for up to a second, then given up.
   *
   * A batch handed to the thread pool is not written again: by the time an
   * exit handler runs, its write has almost always happened (its callback only
   * never got to run), and writing it again would duplicate every line of it.
   * Node lets the thread pool finish it at exit, so it is not lost; but it
   * can land after the lines written here (a pipe whose reader is slow, a
   * busy pool): at exit, up to atomicWriteBytes of lines may come out of
   * order, never split. The rest of the batch, and a batch waiting to be tried
   * again after EAGAIN, are written here, in the same whole-line pieces.
   */
  flushSync(): void {
    if (this.broken) return;
    const buffers: Buffer[] = [];
    if (this.inFlight) buffers.push(this.inFlight.subarray(this.dispatched === this.inFlight ? this.dispatchedEnd : this.offset));
    if (this.lines.length > 0) buffers.push(Buffer.from(this.lines.join('')));
    this.inFlight = null;
    this.lines = [];
    this.pendingChars = 0;
    const all = Buffer.concat(buffers);
    const deadline = Date.now() + 1000;
    let offset = 0;
    while (offset < all.length) {
      // Whole-line pieces within atomicWriteBytes here too: one long write to a pipe is not atomic, and the piece
      // the thread pool lands meanwhile would split a line of it.
      const end = atomicChunkEnd(all, offset);
      try {
        offset += this.options.output.writeSync(this.options.fd, all, offset, end - offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' && Date.now() < deadline) continue;
        this.fail(error as NodeJS.ErrnoException);
        return;
      }
    }
  }

  /** Stops the timer; pending lines are written synchronously first. */
  close(): void {
    clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.flushSync();
  }

  /**
   * For the exit handler, before it writes its last records: later lines wait
   * for flushSync instead of starting an asynchronous write that might land
   * after them.
   */
  holdAsyncWrites(): void {
    this.held = true;
  }

  private startWrite(): void {
    if (this.held || this.inFlight || this.broken || this.lines.length === 0) return;
    this.inFlight = Buffer.from(this.lines.join(''));
    this.offset = 0;
    this.lines = [];
    this.pendingChars = 0;
    this.writeInFlight();
  }

  private writeInFlight(): void {
    const batch = this.inFlight;
    if (!batch) return;
    const end = atomicChunkEnd(batch, this.offset);
    this.dispatched = batch;
    this.dispatchedEnd = end;
    this.options.output.write(this.options.fd, batch, this.offset, end - this.offset, (error, written) => {
      if (this.dispatched === batch) this.dispatched = null;
      // flushSync took over meanwhile.
      if (this.inFlight !== batch) return;
      if (error) {
        if (error.code === 'EAGAIN') {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.writeInFlight();
          }, this.options.retryMs);
          this.retryTimer.unref();
          return;
        }
        this.fail(error);
        return;
      }
      this.offset += written;
      if (this.offset < batch.length) {
        this.writeInFlight();
        return;
      }
      this.inFlight = null;
      this.afterWrite();
    });
  }

  private afterWrite(): void {
    if (this.dropped > 0 && this.options.onDropped) {
      const count = this.dropped;
      this.dropped = 0;
      this.options.onDropped(count);
    }
    if (this.lines.length > 0 && (this.pendingChars >= this.options.flushChars || this.waiters.length > 0)) {
      this.startWrite();
      return;
    }
    this.releaseWaiters();
  }

  private fail(error: NodeJS.ErrnoException): void {
    this.broken = true;
    this.dropped += this.lines.length + (this.inFlight ? 1 : 0);
    this.lines = [];
    this.pendingChars = 0;
    this.inFlight = null;
    this.options.onBroken(error);
    this.releaseWaiters(error);
  }

  private releaseWaiters(error?: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(error);
  }
}
