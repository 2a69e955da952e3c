import type { GatewayStatusEvent } from '@st/contracts';
import { GatewayReports, outcomeWarnings, versionOutcome, versionState, type ReplicaView } from './gateway-reports.js';

function report(replica: string, applied: number | null, extra: Partial<GatewayStatusEvent> = {}): GatewayStatusEvent {
  return {
    replica,
    pid: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    sentAt: '2026-01-01T00:00:10.000Z',
    heartbeatMs: 1000,
    status: 'ready',
    reasons: [],
    portMap: { applied, tunnelEnabled: true, failed: null },
    certificate: { id: 'c1', fingerprintSha256: 'AA' },
    ...extra,
  };
}

describe('versionState', () => {
  it.each([
    { desc: 'on that version', view: { portMapVersion: 5, failed: null }, version: 5, expected: 'applied' },
    { desc: 'already on a newer one', view: { portMapVersion: 6, failed: null }, version: 5, expected: 'applied' },
    { desc: 'refused it', view: { portMapVersion: 4, failed: { version: 5, reason: 'taken', at: 't' } }, version: 5, expected: 'failed' },
    { desc: 'refused a newer one', view: { portMapVersion: 4, failed: { version: 6, reason: 'taken', at: 't' } }, version: 5, expected: 'failed' },
    { desc: 'refused an older one, not heard of this one', view: { portMapVersion: 3, failed: { version: 4, reason: 'x', at: 't' } }, version: 5, expected: 'pending' },
    { desc: 'nothing applied yet', view: { portMapVersion: null, failed: null }, version: 1, expected: 'pending' },
  ] as Array<{ desc: string; view: Pick<ReplicaView, 'portMapVersion' | 'failed'>; version: number; expected: string }>)('$desc', ({ view, version, expected }) => {
    expect(versionState(view, version)).toBe(expected);
  });
});

describe('GatewayReports', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = Date.parse('2026-01-01T00:00:10.000Z');
  });

  it('keeps the latest report per replica, marks silent ones stale, forgets very old ones', () => {
    const reports = new GatewayReports(clock);
    reports.record(report('a', 4));
    reports.record(report('b', 4));
    now += 2000;
    reports.record(report('a', 5, { sentAt: '2026-01-01T00:00:12.000Z' }));
    now += 2000;
    const views = reports.list();
    expect(views.map((view) => [view.replica, view.portMapVersion, view.stale])).toEqual([
      ['a', 5, false],
      ['b', 4, true],
    ]);
    now += 25 * 60 * 60 * 1000;
    expect(reports.list()).toEqual([]);
  });

  it('ignores a report overtaken by a newer one of the same process', () => {
    const reports = new GatewayReports(clock);
    reports.record(report('a', 5, { sentAt: '2026-01-01T00:00:12.000Z' }));
    reports.record(report('a', 4, { sentAt: '2026-01-01T00:00:11.000Z' }));
    expect(reports.list()[0]!.portMapVersion).toBe(5);
  });

  it('says which replicas applied a version, which refused it and why, and which have not said', () => {
    const reports = new GatewayReports(clock);
    reports.record(report('a', 5));
    reports.record(report('b', 4, { status: 'degraded', portMap: { applied: 4, tunnelEnabled: true, failed: { version: 5, reason: 'port 9991 is already in use', at: 't' } } }));
    reports.record(report('c', 4));
    reports.record(report('gone', 3, { status: 'offline' }));
    const outcome = reports.outcome(5);
    expect(outcome.applied.map((entry) => entry.replica)).toEqual(['a']);
    expect(outcome.failed).toEqual([expect.objectContaining({ replica: 'b', reason: 'port 9991 is already in use', portMapVersion: 4 })]);
    expect(outcome.pending).toEqual([expect.objectContaining({ replica: 'c', stale: false })]);
    expect(outcomeWarnings(outcome)).toEqual([
      'gateway b could not apply version 5: port 9991 is already in use; it keeps serving version 4',
      'gateway c has not reported version 5 yet (it serves version 4)',
    ]);
  });

  it('waitFor resolves as soon as every live replica answered, and does not wait for stale ones', async () => {
    const reports = new GatewayReports(clock);
    reports.record(report('a', 4));
    now += 5000;
    reports.record(report('b', 4, { sentAt: '2026-01-01T00:00:15.000Z' }));
    const waiting = reports.waitFor(5, 60_000);
    reports.record(report('b', 5, { sentAt: '2026-01-01T00:00:16.000Z' }));
    const outcome = await waiting;
    expect(outcome.applied.map((entry) => entry.replica)).toEqual(['b']);
    expect(outcome.pending).toEqual([expect.objectContaining({ replica: 'a', stale: true })]);
  });

  it('waitFor gives up after its bound with what it knows', async () => {
    const reports = new GatewayReports();
    reports.record({ ...report('a', 4), sentAt: new Date().toISOString(), heartbeatMs: 60_000 });
    const started = Date.now();
    const outcome = await reports.waitFor(5, 100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(outcome.pending.map((entry) => entry.replica)).toEqual(['a']);
  });

  it('with no replica known there is nothing to wait for', async () => {
    expect(await new GatewayReports(clock).waitFor(1, 60_000)).toEqual({ version: 1, applied: [], failed: [], pending: [] });
  });

  it('versionOutcome leaves offline replicas out', () => {
    const views: ReplicaView[] = [];
    expect(versionOutcome(views, 1)).toEqual({ version: 1, applied: [], failed: [], pending: [] });
  });
});
