import { STATUS_CODES } from 'node:http';
import { startsWithText } from './head-bytes.js';
import type { RequestHead } from './request-head.js';

/**
 * The HTTPS relay's decisions, as pure functions of what it knows: when a
 * request may be sent again, what an upgrade's answer means, and what the
 * client gets when the upstream connection goes away. https-connection.ts
 * applies them to sockets.
 */

/**
 * A kept upstream connection that closes within this time of requests going
 * out on it, before any answer, was closing anyway (its idle timeout crossed
 * them): they are sent again. Later, the upstream may have worked on them
 * (and died doing so): the client gets a 502 instead of a second attempt.
 */
export const resendWindowMs = 100;

/**
 * Methods a request of which may be sent again when the connection it went out on closed before any
 * answer: idempotent ones (RFC 9110 §9.2.2). POST, PATCH, LOCK, MKCOL… are not, even without a body.
 */
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'DELETE', 'PROPFIND']);

/** The request can go out again as it is: idempotent, and no body (which streams through and is gone). */
export function resendable(head: Pick<RequestHead, 'method' | 'body'>): boolean {
  return head.body.kind === 'none' && idempotentMethods.has(head.method);
}

/**
 * The requests held for resending are still all of it: every request waiting
 * for an answer is held, none is still being sent, and they went out moments
 * ago (RFC 9112 §9.3.1: a client may retry idempotent requests on a
 * connection closed before any response).
 */
export function withinResendWindow(held: number, waiting: number, requestOpen: boolean, elapsedMs: number): boolean {
  return held > 0 && held === waiting && !requestOpen && elapsedMs <= resendWindowMs;
}

/**
 * A 408 status line: what some servers send as their idle timeout closes a
 * kept connection. As the first answer to requests that crossed that close,
 * it is not theirs, and they are sent again.
 */
export function isTimeoutAnswer(chunk: Buffer): boolean {
  // Read from the bytes, not a string: this is asked of the first answer on every kept connection.
  if (chunk.length < 12 || !startsWithText(chunk, 0, 'HTTP/1.')) return false;
  const minor = chunk[7];
  return (minor === 0x30 || minor === 0x31) && startsWithText(chunk, 8, ' 408');
}

/**
 * What a final status means for the request it answers (RFC 9110 §15.2.2):
 * a 101 to an upgrade turns the connection into a tunnel; anything else to an
 * upgrade refuses it, and what the client sent after it is read as requests.
 */
export function upgradeOutcome(upgrade: boolean, status: number): 'switch' | 'refused' | 'none' {
  if (!upgrade) return 'none';
  return status === 101 ? 'switch' : 'refused';
}

/** Where the exchange stood when the upstream connection ended, failed or closed. */
export interface UpstreamGoneFacts {
  /** The requests waiting were sent moments ago on a kept connection and may go again (withinResendWindow). */
  resend: boolean;
  tunnel: boolean;
  /** The upstream failed (rather than closing or ending cleanly). */
  error: boolean;
  /** The response under way has no length: the close is its end. */
  endsAtClose: boolean;
  /** Part of a response was seen and it has not ended. */
  midResponse: boolean;
  /** …but only the start of a head held for rewriting, nothing forwarded. */
  headHeld: boolean;
  /** A response said the upstream closes after it. */
  closeAnnounced: boolean;
  /** Requests sent whose response has not ended. */
  waiting: number;
  /** Our answer to a refused request waits for the responses before it. */
  refusalPending: boolean;
  clientEnded: boolean;
  /** A request's body is still being sent. */
  requestOpen: boolean;
}

/**
 * - resend: the requests go again on a new connection;
 * - end: the tunnel, or a response delimited by the close, is complete: our side ends;
 * - cut: a response was broken off: the client connection is reset, never ended
 *   cleanly, so that a truncated response cannot pass for a complete one;
 * - answer-502: requests went unanswered and nothing of their answer reached the client;
 * - finish: the exchange is over (close announced, a refusal pending, the client
 *   gone, a body with nowhere to go): our side ends after the pending refusal, if any;
 * - let-go: an idle upstream closed (its keep-alive timeout): the client
 *   connection stays, its next request opens a new upstream connection.
 */
export type UpstreamGoneAction = 'resend' | 'end' | 'cut' | 'answer-502' | 'finish' | 'let-go';

export function upstreamGoneAction(facts: UpstreamGoneFacts): UpstreamGoneAction {
  if (facts.resend) return 'resend';
  if (facts.tunnel || (facts.endsAtClose && !facts.error)) return 'end';
  // A response head held for rewriting was not forwarded at all: that client can still get a 502.
  if ((facts.midResponse && !facts.headHeld) || (facts.error && facts.endsAtClose)) return 'cut';
  // The close was announced: requests pipelined after it were never answered, and the client knows to retry them.
  if (facts.closeAnnounced) return 'finish';
  if (facts.waiting > 0) return 'answer-502';
  // It answered before taking a whole body (a 401 to an upload), then closed: the rest has nowhere to go.
  if (facts.refusalPending || facts.clientEnded || facts.requestOpen) return 'finish';
  return 'let-go';
}

/** Our own answer (a refusal, 408, 502), ending the connection. */
export function errorResponse(status: number, reason: string): string {
  const phrase = STATUS_CODES[status] ?? 'Error';
  // The reason may quote what the client sent; only printable ASCII goes back.
  const body = `${phrase}: ${reason.replace(/[^\x20-\x7e]/g, '?')}.\n`;
  return `HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}
