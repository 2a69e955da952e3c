import { failure, type Failure } from '../errors.js';
import type { LinkResult } from './control-state.js';

/**
 * What the process carrying a data connection and the process holding its
 * control session tell each other when they are not the same (another
 * replica, another worker). Pure: the wire format and the watchdog's rule;
 * link-exchange.ts moves them through Redis.
 *
 * The data side reports `claimed` (before it opens the upstream data
 * connection, so the report is out before any byte of the transfer),
 * `upstream-complete` and `done`; the control side asks for `abort`.
 */
export type LinkReport =
  | { type: 'claimed'; sessionId: string; linkId: string; publicPort: number; dataReplica: string; dataIncarnation: string }
  | { type: 'upstream-complete'; sessionId: string; linkId: string }
  | { type: 'done'; sessionId: string; linkId: string; result: LinkResult }
  | { type: 'abort'; linkId: string; cause: Failure<AbortCode> };

/** Why a control session cuts a data connection: the only causes that cross between processes. */
export type AbortCode = 'DATA_ABORTED_BY_CLIENT' | 'DATA_REPLACED' | 'DATA_NOT_EXPECTED' | 'DATA_SESSION_ENDED';

/** Where a data connection's carrier is: enough to ask Redis whether it still runs. */
export interface RemoteLink {
  linkId: string;
  publicPort: number;
  dataReplica: string;
  dataIncarnation: string;
}

export function encodeLinkReport(report: LinkReport): string {
  return JSON.stringify(report);
}

const text = (value: unknown, max = 200): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;
const count = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * A report from the channel, or null for anything else (another version's
 * message, garbage): a report never trusted blindly, since a wrong one could
 * complete someone else's transfer.
 */
export function decodeLinkReport(raw: string): LinkReport | null {
  let value: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return null;
    value = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const { type, sessionId, linkId } = value;
  if (!text(linkId)) return null;
  switch (type) {
    case 'claimed': {
      const { publicPort, dataReplica, dataIncarnation } = value;
      if (!text(sessionId) || !count(publicPort) || publicPort > 65535 || !text(dataReplica) || !text(dataIncarnation)) return null;
      return { type, sessionId, linkId, publicPort, dataReplica, dataIncarnation };
    }
    case 'upstream-complete':
      return text(sessionId) ? { type, sessionId, linkId } : null;
    case 'done': {
      const result = decodeResult(value.result);
      return text(sessionId) && result ? { type, sessionId, linkId, result } : null;
    }
    case 'abort': {
      const cause = decodeAbortCause(value.cause);
      return cause ? { type, linkId, cause } : null;
    }
    default:
      return null;
  }
}

export function decodeResult(value: unknown): LinkResult | null {
  if (typeof value !== 'object' || value === null) return null;
  const { ok, reason, error, carrier, bytesToClient, bytesToUpstream, durationMs } = value as Record<string, unknown>;
  if (typeof ok !== 'boolean' || !count(bytesToClient) || !count(bytesToUpstream) || !count(durationMs)) return null;
  if (reason !== undefined && !text(reason, 1000)) return null;
  if (error !== undefined && !text(error, 100)) return null;
  if (carrier !== undefined && !text(carrier)) return null;
  return {
    ok,
    bytesToClient,
    bytesToUpstream,
    durationMs,
    // It ends up in an FTP reply: one line, whatever another process sent.
    ...(reason !== undefined ? { reason: reason.replace(/[\x00-\x1f\x7f]/g, ' ') } : {}),
    ...(carrier !== undefined ? { carrier } : {}),
    ...(error !== undefined ? { error: error as LinkResult['error'] } : {}),
  };
}

function decodeAbortCause(value: unknown): Failure<AbortCode> | null {
  if (typeof value !== 'object' || value === null) return null;
  const { code, details } = value as { code?: unknown; details?: { reason?: unknown } };
  switch (code) {
    case 'DATA_ABORTED_BY_CLIENT':
    case 'DATA_REPLACED':
    case 'DATA_NOT_EXPECTED':
      return failure(code);
    case 'DATA_SESSION_ENDED':
      return text(details?.reason, 1000) ? failure(code, { reason: details.reason }) : null;
    default:
      return null;
  }
}

export function isAbortCause(cause: Failure): cause is Failure<AbortCode> {
  return decodeAbortCause(cause) !== null;
}

/** What one look at Redis found about a data connection carried elsewhere. */
export type LinkProbe =
  /** Its carrier stored how it ended (the report may have been lost). */
  | { kind: 'result'; result: LinkResult }
  /** Its active lease is there and its carrier is alive. */
  | { kind: 'running' }
  /** No result and no active lease: it ended without a word, or its lease expired. */
  | { kind: 'vanished' }
  /** The carrying process no longer refreshes its liveness key (killed, frozen, cut off from Redis). */
  | { kind: 'carrier-gone' }
  | { kind: 'store-error' };

export interface WatchState {
  /** Consecutive probes that found the link or its carrier gone. */
  missing: number;
  /** When Redis first failed to answer, in this run of failures; null when it answers. */
  storeFailingSince: number | null;
}

export const initialWatchState: WatchState = { missing: 0, storeFailingSince: null };

/**
 * Three probes a second apart: carriers refresh their liveness key and active
 * leases every 2 s, so a Redis that restarted empty has them back before a
 * running transfer is taken for a lost one.
 */
export const missingProbesToGiveUp = 3;

/** How long Redis may be unreachable, with the transfer's final reply held, before the session says so. */
export const storeOutageToGiveUpMs = 10_000;

export type WatchDecision = { kind: 'wait'; state: WatchState } | { kind: 'done'; result: LinkResult };

/**
 * The watchdog's rule for a data connection carried by another process: a
 * stored end is taken at once (its report may have been lost); a link or
 * carrier gone, or Redis gone, fails it with the reason, so the client gets a
 * 426 in bounded time instead of a hang. Only once the upstream's final reply
 * waits on it: until then the transfer may still be running, and a carrier
 * that died makes the upstream answer soon enough.
 */
export function judgeRemoteLink(probe: LinkProbe, state: WatchState, link: RemoteLink, replyHeld: boolean, now: number, startedAt: number): WatchDecision {
  // The reason reaches the client in the 426: the carrier's name stays in the records.
  const lost = (reason: string): WatchDecision => ({
    kind: 'done',
    result: { ok: false, reason, carrier: link.dataReplica, bytesToClient: 0, bytesToUpstream: 0, durationMs: Math.max(0, now - startedAt) },
  });
  switch (probe.kind) {
    case 'result':
      return { kind: 'done', result: probe.result };
    case 'running':
      return { kind: 'wait', state: initialWatchState };
    case 'vanished':
    case 'carrier-gone': {
      const missing = state.missing + 1;
      if (replyHeld && missing >= missingProbesToGiveUp) {
        return lost(probe.kind === 'carrier-gone' ? 'the gateway process carrying the data connection stopped' : 'the gateway process carrying the data connection did not report how it ended');
      }
      return { kind: 'wait', state: { missing, storeFailingSince: null } };
    }
    case 'store-error': {
      const since = state.storeFailingSince ?? now;
      if (replyHeld && now - since >= storeOutageToGiveUpMs) return lost('the gateway lost its shared store, so how the data connection ended is unknown');
      return { kind: 'wait', state: { missing: state.missing, storeFailingSince: since } };
    }
  }
}
