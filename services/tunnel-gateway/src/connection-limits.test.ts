import { ConnectionLimits, overLimitAllowance } from './connection-limits.js';

describe('ConnectionLimits', () => {
  const make = (perClient = 2, perListener = 3) => {
    let now = 0;
    const limits = new ConnectionLimits(() => ({ maxConnectionsPerClient: perClient, maxConnectionsPerListener: perListener }), () => now);
    return { limits, advance: (ms: number) => (now += ms) };
  };

  it.each([
    { desc: 'within both limits', opens: [['a', 'http']], refused: [] as string[] },
    { desc: 'the third from one address', opens: [['a', 'http'], ['a', 'ftp-control'], ['a', 'ftp-data']], refused: ['a ftp-data: per-client 2'] },
    { desc: 'addresses are counted apart', opens: [['a', 'http'], ['a', 'http'], ['b', 'http']], refused: [] },
    { desc: 'the fourth on one kind of listener', opens: [['a', 'http'], ['b', 'http'], ['c', 'http'], ['d', 'http']], refused: ['d http: per-listener 3'] },
    { desc: 'kinds are counted apart', opens: [['a', 'http'], ['b', 'http'], ['c', 'http'], ['d', 'ftp-control']], refused: [] },
  ] as const)('$desc', ({ opens, refused }) => {
    const { limits } = make();
    const result: string[] = [];
    for (const [address, kind] of opens) {
      const slot = limits.open(address, kind);
      if (!slot.ok) result.push(`${address} ${kind}: ${slot.refusal.reason} ${slot.refusal.limit}`);
    }
    expect(result).toEqual(refused);
  });

  it('a released slot is free again, once however often it is released', () => {
    const { limits } = make(1);
    const first = limits.open('a', 'http');
    expect(first.ok).toBe(true);
    expect(limits.open('a', 'http').ok).toBe(false);
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(limits.fromClient('a')).toBe(0);
    expect(limits.open('a', 'http').ok).toBe(true);
    expect(limits.open('a', 'http').ok).toBe(false);
  });

  it('logs at most one refusal per reason and second, with the count since the last record', () => {
    const { limits, advance } = make(0 + 1);
    limits.open('a', 'http');
    const seen = [];
    for (let n = 0; n < 5; n++) {
      const slot = limits.open('a', 'http');
      if (!slot.ok) seen.push([slot.refusal.log, slot.refusal.refusedSinceLastRecord]);
      advance(300);
    }
    expect(seen).toEqual([
      [true, 1],
      [false, 1],
      [false, 2],
      [false, 3],
      [true, 4],
    ]);
  });

  it('follows the limits of the current port map', () => {
    let perClient = 1;
    const limits = new ConnectionLimits(() => ({ maxConnectionsPerClient: perClient, maxConnectionsPerListener: 100 }));
    limits.open('a', 'http');
    expect(limits.open('a', 'http').ok).toBe(false);
    perClient = 5;
    expect(limits.open('a', 'http').ok).toBe(true);
  });

  it('over a kind\'s total, a listener that can say "busy" gets a few marked slots (HTTPS answers 503), then closes like the others', () => {
    const { limits } = make(100, 3);
    for (const address of ['a', 'b', 'c']) expect(limits.open(address, 'http', true)).toMatchObject({ ok: true });
    expect(overLimitAllowance(3)).toBe(1);
    const busy = limits.open('d', 'http', true);
    expect(busy).toMatchObject({ ok: true, overLimit: { reason: 'per-listener', limit: 3 } });
    expect(limits.open('e', 'http', true)).toMatchObject({ ok: false, refusal: { reason: 'per-listener' } });
    // Without the ability to answer, or past the allowance: closed.
    expect(limits.open('f', 'ftp-control', false).ok).toBe(true);
    if (busy.ok) busy.release();
    expect(limits.open('e', 'http', true)).toMatchObject({ ok: true, overLimit: { reason: 'per-listener' } });
    // The per-client limit is never answered "busy": it is the flood case.
    const { limits: strict } = make(1, 100);
    strict.open('a', 'http', true);
    expect(strict.open('a', 'http', true)).toMatchObject({ ok: false, refusal: { reason: 'per-client' } });
  });

  it.each([
    [1, 1],
    [100, 1],
    [250, 3],
    [10_000, 64],
    [1_000_000, 64],
  ])('limit %i lets %i connections over it be answered "busy"', (limit, allowance) => {
    expect(overLimitAllowance(limit)).toBe(allowance);
  });
});
