import { atomicChunkEnd, atomicWriteBytes, BatchedLineWriter, type LineOutput } from './batched-line-writer.js';

/**
 * An output that plays a file descriptor: each asynchronous write is held
 * until the test answers it (accept all, part, or fail with a code).
 */
class ScriptedOutput implements LineOutput {
  readonly received: Buffer[] = [];
  readonly pending: Array<{ buffer: Buffer; offset: number; length: number; callback: (error: NodeJS.ErrnoException | null, written: number) => void }> = [];
  syncScript: Array<number | string> = [];
  syncCalls = 0;

  write(_fd: number, buffer: Buffer, offset: number, length: number, callback: (error: NodeJS.ErrnoException | null, written: number) => void): void {
    this.pending.push({ buffer, offset, length, callback });
  }

  writeSync(_fd: number, buffer: Buffer, offset: number, length: number): number {
    this.syncCalls++;
    const step = this.syncScript.shift();
    if (typeof step === 'string') throw Object.assign(new Error(step), { code: step });
    const written = Math.min(length, step ?? length);
    this.received.push(Buffer.from(buffer.subarray(offset, offset + written)));
    return written;
  }

  /** Answers the oldest pending write: all of it, `bytes` of it, or an error code. */
  answer(how: 'all' | number | string = 'all'): void {
    const write = this.pending.shift();
    if (!write) throw new Error('no write pending');
    if (typeof how === 'string' && how !== 'all') {
      write.callback(Object.assign(new Error(how), { code: how }), 0);
      return;
    }
    const written = how === 'all' ? write.length : Math.min(how, write.length);
    this.received.push(Buffer.from(write.buffer.subarray(write.offset, write.offset + written)));
    write.callback(null, written);
  }

  get text(): string {
    return Buffer.concat(this.received).toString('utf8');
  }
}

function writer(output: ScriptedOutput, options: Partial<ConstructorParameters<typeof BatchedLineWriter>[0]> = {}) {
  const broken: string[] = [];
  const dropped: number[] = [];
  const lineWriter = new BatchedLineWriter({
    fd: 99,
    flushChars: 100,
    flushIntervalMs: 60_000,
    maxPendingChars: 1000,
    retryMs: 1,
    output,
    onBroken: (error) => broken.push(error.code ?? error.message),
    onDropped: (count) => dropped.push(count),
    ...options,
  });
  return { lineWriter, broken, dropped };
}

const line = (n: number) => `{"n":${n},"msg":"${'x'.repeat(20)}"}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join('');
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchedLineWriter', () => {
  const made: BatchedLineWriter[] = [];
  afterEach(() => {
    for (const w of made.splice(0)) w.close();
  });
  function track<T extends { lineWriter: BatchedLineWriter }>(value: T): T {
    made.push(value.lineWriter);
    return value;
  }

  it('collects lines until flushChars, then writes them in one write', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output));
    lineWriter.write(line(1));
    lineWriter.write(line(2));
    expect(output.pending).toHaveLength(0);
    lineWriter.write(line(3)); // 3 × 37 characters ≥ 100
    expect(output.pending).toHaveLength(1);
    output.answer();
    expect(output.text).toBe(lines(1, 4));
  });

  it('writes what is pending when the interval passes', async () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output, { flushIntervalMs: 5 }));
    lineWriter.write(line(1));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(output.pending).toHaveLength(1);
    output.answer();
    expect(output.text).toBe(line(1));
  });

  // Each row: how the output answers successive asynchronous writes. Every line must arrive once, in order.
  const answerRows: Array<{ name: string; answers: Array<'all' | number | string> }> = [
    { name: 'whole writes', answers: ['all', 'all', 'all'] },
    { name: 'partial writes', answers: [7, 1, 50, 'all', 3, 'all', 'all', 'all'] },
    { name: 'a full non-blocking output (EAGAIN) tried again', answers: ['EAGAIN', 'EAGAIN', 'all', 'EAGAIN', 'all', 'all'] },
  ];
  it.each(answerRows)('delivers every line once and in order: $name', async ({ answers }) => {
    const output = new ScriptedOutput();
    const { lineWriter, broken } = track(writer(output));
    for (let n = 0; n < 12; n++) lineWriter.write(line(n));
    let flushed = false;
    lineWriter.flush(() => (flushed = true));
    for (const how of answers) {
      for (let i = 0; i < 50 && output.pending.length === 0 && !flushed; i++) await tick();
      if (output.pending.length === 0) break;
      output.answer(how);
      if (output.pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    while (output.pending.length > 0) output.answer();
    await tick();
    expect(output.text).toBe(lines(0, 12));
    expect(flushed).toBe(true);
    expect(broken).toEqual([]);
  });

  it('keeps lines written during a write for the next one', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output));
    for (let n = 0; n < 4; n++) lineWriter.write(line(n));
    expect(output.pending).toHaveLength(1);
    for (let n = 4; n < 9; n++) lineWriter.write(line(n));
    expect(output.pending).toHaveLength(1);
    output.answer();
    expect(output.pending).toHaveLength(1);
    output.answer();
    expect(output.text).toBe(lines(0, 9));
  });

  it('drops and counts lines beyond maxPendingChars while the output is stuck, and reports them once it moves', () => {
    const output = new ScriptedOutput();
    const { lineWriter, dropped } = track(writer(output, { maxPendingChars: 200 }));
    const accepted = Array.from({ length: 20 }, (_, n) => lineWriter.write(line(n)));
    const kept = accepted.filter(Boolean).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(20);
    expect(lineWriter.droppedLines).toBe(20 - kept);
    while (output.pending.length > 0) output.answer();
    lineWriter.flush();
    while (output.pending.length > 0) output.answer();
    expect(dropped).toEqual([20 - kept]);
    expect(output.text).toBe(lines(0, kept));
    expect(lineWriter.write(line(99))).toBe(true);
  });

  it.each(['EPIPE', 'EBADF', 'EIO'])('gives up for good on %s: says so once, drops later lines, flush callbacks get the error', (code) => {
    const output = new ScriptedOutput();
    const { lineWriter, broken } = track(writer(output));
    for (let n = 0; n < 4; n++) lineWriter.write(line(n));
    let flushError: Error | undefined;
    lineWriter.flush((error) => (flushError = error));
    output.answer(code);
    expect(broken).toEqual([code]);
    expect(flushError?.message).toBe(code);
    expect(lineWriter.write(line(5))).toBe(false);
    lineWriter.flushSync();
    expect(output.pending).toHaveLength(0);
    expect(output.syncCalls).toBe(0);
    expect(broken).toEqual([code]);
  });

  it('flushSync writes the lines after the batch with the thread pool, not that batch again', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output));
    for (let n = 0; n < 3; n++) lineWriter.write(line(n));
    output.answer(10);
    lineWriter.write(line(3));
    lineWriter.write(line(4));
    output.syncScript = [5, 'EAGAIN', 'EAGAIN', 40];
    const before = output.received.length;
    lineWriter.flushSync();
    expect(Buffer.concat(output.received.slice(before)).toString()).toBe(lines(3, 5));
    // The rest of the batch is being written by the thread pool; its callback comes late and starts nothing more.
    output.received.splice(before);
    output.answer();
    expect(output.pending).toHaveLength(0);
    expect(output.text).toBe(lines(0, 3));
  });

  it('a late callback of a batch flushSync skipped does not make a second flushSync write the next batch again', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output));
    for (let n = 0; n < 3; n++) lineWriter.write(line(n)); // batch A, with the thread pool
    lineWriter.flushSync();
    for (let n = 3; n < 6; n++) lineWriter.write(line(n)); // batch B, with the thread pool
    expect(output.pending).toHaveLength(2);
    const a = output.pending.shift()!;
    a.callback(null, a.length);
    lineWriter.flushSync();
    expect(output.syncCalls).toBe(0);
    output.answer();
    expect(output.text).toBe(lines(3, 6));
  });

  it('after holdAsyncWrites, lines wait for flushSync instead of starting asynchronous writes', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output));
    lineWriter.holdAsyncWrites();
    for (let n = 0; n < 6; n++) lineWriter.write(line(n));
    lineWriter.flush();
    expect(output.pending).toHaveLength(0);
    lineWriter.flushSync();
    expect(output.text).toBe(lines(0, 6));
  });

  it('flushSync writes a batch that waits to be tried again after EAGAIN', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output, { retryMs: 60_000 }));
    for (let n = 0; n < 3; n++) lineWriter.write(line(n));
    output.answer(10);
    output.answer('EAGAIN');
    lineWriter.write(line(3));
    lineWriter.flushSync();
    expect(output.text).toBe(lines(0, 4));
  });

  it('writes a large batch in pieces of whole lines within atomicWriteBytes', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output, { flushChars: 20_000, maxPendingChars: 100_000 }));
    const long = `{"long":"${'y'.repeat(5000)}"}\n`;
    const all = lines(0, 300) + long + lines(300, 400);
    for (let n = 0; n < 300; n++) lineWriter.write(line(n));
    lineWriter.write(long);
    for (let n = 300; n < 400; n++) lineWriter.write(line(n));
    lineWriter.flush(() => undefined);
    const pieces: string[] = [];
    while (output.pending.length > 0) {
      const piece = output.pending[0]!;
      pieces.push(piece.buffer.subarray(piece.offset, piece.offset + piece.length).toString());
      output.answer();
    }
    expect(pieces.join('')).toBe(all);
    for (const piece of pieces) {
      expect(piece.endsWith('\n')).toBe(true);
      expect(piece.length <= atomicWriteBytes || piece === long).toBe(true);
    }
    expect(pieces).toContain(long);
  });

  it('flushSync also writes in pieces of whole lines within atomicWriteBytes (a piece the thread pool lands meanwhile splits no line)', () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output, { flushChars: 1_000_000, maxPendingChars: 1_000_000 }));
    for (let n = 0; n < 500; n++) lineWriter.write(line(n));
    lineWriter.flushSync();
    expect(output.text).toBe(lines(0, 500));
    expect(output.received.length).toBeGreaterThan(1);
    for (const piece of output.received) {
      expect(piece.length).toBeLessThanOrEqual(atomicWriteBytes);
      expect(piece.toString().endsWith('\n')).toBe(true);
    }
  });

  it.each([
    { name: 'a batch within the limit goes whole', text: 'a\n'.repeat(100), from: 0, end: 200 },
    { name: 'a longer one is cut after its last whole line within the limit', text: `${'x'.repeat(4000)}\n${'z'.repeat(200)}\n`, from: 0, end: 4001 },
    { name: 'a line longer than the limit goes alone', text: `${'x'.repeat(5000)}\nrest\n`, from: 0, end: 5001 },
    { name: 'cutting starts where the last piece ended', text: `ab\n${'x'.repeat(4000)}\n${'z'.repeat(200)}\n`, from: 3, end: 4004 },
  ])('atomicChunkEnd: $name', ({ text, from, end }) => {
    expect(atomicChunkEnd(Buffer.from(text), from)).toBe(end);
  });

  it('flush calls back at once when nothing is pending', async () => {
    const output = new ScriptedOutput();
    const { lineWriter } = track(writer(output));
    await new Promise<void>((resolve) => lineWriter.flush(() => resolve()));
    expect(output.pending).toHaveLength(0);
  });
});
