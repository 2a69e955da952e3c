import { emptySamples, addSample, evaluateTarget, ratiosByRound, renderTable, type RowSpec } from '../src/bench/report.js';

describe('bench report: ratios taken round by round', () => {
  it.each([
    { name: 'pairs the same rounds', of: [[1, 10], [2, 20], [3, 30]], against: [[1, 5], [2, 10], [3, 10]], expected: [2, 2, 3] },
    { name: 'skips a round one side lacks (a failed measurement)', of: [[1, 10], [3, 30]], against: [[1, 5], [2, 10], [3, 10]], expected: [2, 3] },
    { name: 'never pairs a sample taken outside the rounds', of: [[0, 10], [1, 10]], against: [[0, 5], [1, 10]], expected: [1] },
    { name: 'skips a zero it would divide by', of: [[1, 10]], against: [[1, 0]], expected: [] },
  ])('$name', ({ of, against, expected }) => {
    const samples = (pairs: number[][]) => pairs.map(([round, value]) => ({ round: round!, value: value! }));
    expect(ratiosByRound(samples(of), samples(against))).toEqual(expected);
  });

  it('judges a target on the ratio of medians and shows the by-round spread beside it', () => {
    const samples = emptySamples();
    [
      [1, 50, 40],
      [2, 60, 65],
      [3, 55, 50],
    ].forEach(([round, gateway, relay]) => {
      addSample(samples, 'keepAliveCpuUs', 'gateway', gateway!, round);
      addSample(samples, 'keepAliveCpuUs', 'relay', relay!, round);
    });
    const target = { text: '≤ 1.0× bare node relay', of: { metric: 'keepAliveCpuUs', terminator: 'gateway' }, against: { metric: 'keepAliveCpuUs', terminator: 'relay' }, threshold: 1, direction: 'atMost' } as const;
    const result = evaluateTarget(samples, target);
    expect(result.ratio).toBeCloseTo(55 / 50);
    expect(result.holds).toBe(false);
    expect(result.byRound).toMatchObject({ n: 3, min: 60 / 65, max: 1.25, median: 1.1 });
    const row: RowSpec = { label: 'CPU µs per keep-alive request', decimals: 1, cells: {}, targets: [target] };
    expect(renderTable(samples, [row])).toContain('1.10× (by round 1.10, 0.92–1.25)');
  });
});
