import { formatReply } from '@st/ftp-protocol';

/**
 * Explicit FTPS (RFC 4217): what a control connection may do before AUTH TLS.
 *
 * Only the security exchange and commands that reveal nothing are taken
 * (RFC 4217 §4, §7): logins and everything else wait for TLS, so no password
 * crosses in clear text and nothing but these reaches the file server from an
 * unprotected client.
 */
export type BeforeTls =
  | { kind: 'start-tls' }
  | { kind: 'relay'; verb: 'FEAT' | 'NOOP' | 'QUIT' }
  | { kind: 'refuse-mechanism'; mechanism: string }
  | { kind: 'refuse-login'; verb: string }
  | { kind: 'refuse'; verb: string };

/** AUTH arguments that ask for TLS: RFC 4217's TLS, and the names older clients send (SSL, TLS-C and TLS-P of its drafts). */
const tlsMechanisms = new Set(['TLS', 'TLS-C', 'SSL', 'TLS-P']);
const relayedBeforeTls = new Set(['FEAT', 'NOOP', 'QUIT']);
const loginVerbs = new Set(['USER', 'PASS', 'ACCT']);

export function commandBeforeTls(verb: string, argument: string): BeforeTls {
  const upper = verb.toUpperCase();
  if (upper === 'AUTH') {
    const mechanism = argument.trim().toUpperCase();
    return tlsMechanisms.has(mechanism) ? { kind: 'start-tls' } : { kind: 'refuse-mechanism', mechanism: mechanism || '(none)' };
  }
  if (relayedBeforeTls.has(upper)) return { kind: 'relay', verb: upper as 'FEAT' | 'NOOP' | 'QUIT' };
  if (loginVerbs.has(upper)) return { kind: 'refuse-login', verb: upper };
  return { kind: 'refuse', verb: upper };
}

/** The reply to an accepted AUTH TLS; the client starts its handshake when it reads it. */
export const authTlsAccepted = formatReply(234, 'AUTH TLS accepted: start the TLS handshake.');
