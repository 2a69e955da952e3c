import { failure } from '../errors.js';
import { decodeLinkReport, encodeLinkReport, initialWatchState, judgeRemoteLink, missingProbesToGiveUp, storeOutageToGiveUpMs, type LinkProbe, type LinkReport, type RemoteLink, type WatchState } from './link-reports.js';

const ok = { ok: true, bytesToClient: 100, bytesToUpstream: 0, durationMs: 12 };

describe('link reports on the wire', () => {
  it.each<LinkReport>([
    { type: 'claimed', sessionId: 'ses_1', linkId: 'dat_1', publicPort: 4004, dataReplica: 'gw-b', dataIncarnation: 'a1b2' },
    { type: 'upstream-complete', sessionId: 'ses_1', linkId: 'dat_1' },
    { type: 'done', sessionId: 'ses_1', linkId: 'dat_1', result: ok },
    { type: 'done', sessionId: 'ses_1', linkId: 'dat_1', result: { ok: false, reason: 'client reset the connection', error: 'DATA_CLIENT_RESET' as never, bytesToClient: 5, bytesToUpstream: 0, durationMs: 3 } },
    { type: 'abort', linkId: 'dat_1', cause: failure('DATA_ABORTED_BY_CLIENT') },
    { type: 'abort', linkId: 'dat_1', cause: failure('DATA_SESSION_ENDED', { reason: 'client closed the control connection' }) },
  ])('$type survives the trip', (report) => {
    expect(decodeLinkReport(encodeLinkReport(report))).toEqual(report);
  });

  it('a reason with line breaks arrives as one line (it goes into an FTP reply)', () => {
    const raw = JSON.stringify({ type: 'done', sessionId: 's', linkId: 'd', result: { ...ok, ok: false, reason: 'reset\r\n226 Transfer complete' } });
    expect(decodeLinkReport(raw)).toMatchObject({ result: { reason: 'reset  226 Transfer complete' } });
  });

  it.each([
    { desc: 'not JSON', raw: 'hello' },
    { desc: 'JSON but not an object', raw: '42' },
    { desc: 'an unknown type', raw: JSON.stringify({ type: 'finished', linkId: 'dat_1', sessionId: 'ses_1' }) },
    { desc: 'no link id', raw: JSON.stringify({ type: 'upstream-complete', sessionId: 'ses_1' }) },
    { desc: 'a claim without a port', raw: JSON.stringify({ type: 'claimed', sessionId: 's', linkId: 'd', dataReplica: 'r', dataIncarnation: 'i' }) },
    { desc: 'a claim with a port past 65535', raw: JSON.stringify({ type: 'claimed', sessionId: 's', linkId: 'd', publicPort: 70000, dataReplica: 'r', dataIncarnation: 'i' }) },
    { desc: 'an end with a negative byte count', raw: JSON.stringify({ type: 'done', sessionId: 's', linkId: 'd', result: { ...ok, bytesToClient: -1 } }) },
    { desc: 'an end without ok', raw: JSON.stringify({ type: 'done', sessionId: 's', linkId: 'd', result: { bytesToClient: 1, bytesToUpstream: 0, durationMs: 1 } }) },
    { desc: 'an abort for a cause that never crosses processes', raw: JSON.stringify({ type: 'abort', linkId: 'd', cause: { code: 'LOGIN_BANNED' } }) },
    { desc: 'an abort "session ended" without its reason', raw: JSON.stringify({ type: 'abort', linkId: 'd', cause: { code: 'DATA_SESSION_ENDED', details: {} } }) },
  ])('$desc is dropped', ({ raw }) => {
    expect(decodeLinkReport(raw)).toBeNull();
  });
});

describe('the watchdog of a data connection carried by another process', () => {
  const link: RemoteLink = { linkId: 'dat_1', publicPort: 4004, dataReplica: 'gw-b', dataIncarnation: 'a1b2' };
  const missing = (count: number): WatchState => ({ missing: count, storeFailingSince: null });
  const failingSince = (since: number): WatchState => ({ missing: 0, storeFailingSince: since });
  const now = 100_000;

  it.each<{ desc: string; probe: LinkProbe; state: WatchState; held: boolean; expected: unknown }>([
    { desc: 'a stored end is taken at once, held reply or not', probe: { kind: 'result', result: ok }, state: missing(2), held: false, expected: { kind: 'done', result: ok } },
    { desc: 'running: keep waiting, counts start again', probe: { kind: 'running' }, state: missing(2), held: true, expected: { kind: 'wait', state: initialWatchState } },
    { desc: 'vanished once: wait', probe: { kind: 'vanished' }, state: initialWatchState, held: true, expected: { kind: 'wait', state: missing(1) } },
    {
      desc: `vanished ${missingProbesToGiveUp} times with the reply held: fails, saying so`,
      probe: { kind: 'vanished' },
      state: missing(missingProbesToGiveUp - 1),
      held: true,
      expected: { kind: 'done', result: { ok: false, reason: 'the gateway process carrying the data connection did not report how it ended', carrier: 'gw-b', bytesToClient: 0, bytesToUpstream: 0, durationMs: 1000 } },
    },
    { desc: 'vanished as often but no reply held (the transfer may still run): wait', probe: { kind: 'vanished' }, state: missing(5), held: false, expected: { kind: 'wait', state: missing(6) } },
    {
      desc: 'carrier gone with the reply held: fails, the carrier named for the records only',
      probe: { kind: 'carrier-gone' },
      state: missing(missingProbesToGiveUp - 1),
      held: true,
      expected: { kind: 'done', result: { ok: false, reason: 'the gateway process carrying the data connection stopped', carrier: 'gw-b', bytesToClient: 0, bytesToUpstream: 0, durationMs: 1000 } },
    },
    { desc: 'Redis fails: the outage starts counting', probe: { kind: 'store-error' }, state: initialWatchState, held: true, expected: { kind: 'wait', state: failingSince(now) } },
    { desc: 'Redis still failing, not yet long enough', probe: { kind: 'store-error' }, state: failingSince(now - storeOutageToGiveUpMs + 1), held: true, expected: { kind: 'wait', state: failingSince(now - storeOutageToGiveUpMs + 1) } },
    {
      desc: 'Redis failing long enough with the reply held: fails, saying why',
      probe: { kind: 'store-error' },
      state: failingSince(now - storeOutageToGiveUpMs),
      held: true,
      expected: { kind: 'done', result: { ok: false, reason: 'the gateway lost its shared store, so how the data connection ended is unknown', carrier: 'gw-b', bytesToClient: 0, bytesToUpstream: 0, durationMs: 1000 } },
    },
    { desc: 'Redis failing long but no reply held: the transfer continues', probe: { kind: 'store-error' }, state: failingSince(0), held: false, expected: { kind: 'wait', state: failingSince(0) } },
  ])('$desc', ({ probe, state, held, expected }) => {
    expect(judgeRemoteLink(probe, state, link, held, now, now - 1000)).toEqual(expected);
  });
});
