import type { Logger } from '@st/logging';
import { stopOnSignals } from './shutdown.js';

/** Only the two levels stopOnSignals writes at, recorded as [level, fields, message]. */
function recordingLogger() {
  const records: Array<[string, unknown, string]> = [];
  const logger = {
    info: (fields: unknown, message: string) => records.push(['info', fields, message]),
    error: (fields: unknown, message: string) => records.push(['error', fields, message]),
  } as unknown as Logger;
  return { logger, records };
}

describe('stopOnSignals', () => {
  const signals = ['SIGTERM', 'SIGINT'] as const;
  let before: Map<string, Function[]>;
  let exit: jest.SpyInstance;

  beforeEach(() => {
    before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  });
  afterEach(() => {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)?.includes(listener)) process.off(signal, listener as NodeJS.SignalsListener);
      }
    }
    exit.mockRestore();
  });

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it.each([
    { desc: 'SIGTERM then SIGINT', first: 'SIGTERM', second: 'SIGINT' },
    { desc: 'SIGINT twice', first: 'SIGINT', second: 'SIGINT' },
  ] as const)('stops once and exits 0 ($desc)', async ({ first, second }) => {
    const stop = jest.fn(() => Promise.resolve());
    const { logger, records } = recordingLogger();
    stopOnSignals({ stop }, logger);
    process.emit(first, first);
    process.emit(second, second);
    await settle();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
    expect(records).toEqual([['info', { signal: first }, 'shutting down']]);
  });

  it('exits 1 and logs the error when stopping fails', async () => {
    const { logger, records } = recordingLogger();
    const failure = new Error('socket stuck');
    stopOnSignals({ stop: () => Promise.reject(failure) }, logger);
    process.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(exit).toHaveBeenCalledWith(1);
    expect(records).toEqual([
      ['info', { signal: 'SIGTERM' }, 'shutting down'],
      ['error', { err: failure }, 'shutdown failed'],
    ]);
  });
});
