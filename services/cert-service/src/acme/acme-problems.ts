import type { AcmeChallengeType } from './acme-env.js';

/** An RFC 8555 §6.7 problem document, as a CA sends it (any field may be missing). */
export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
  subproblems?: Array<AcmeProblem & { identifier?: { type?: string; value?: string } }>;
}

/** What was being done when the problem came: the name and challenge it concerns. */
export interface ProblemContext {
  name?: string;
  challenge?: AcmeChallengeType;
}

const errorPrefix = 'urn:ietf:params:acme:error:';

/** The port a challenge makes the CA connect to (RFC 8555 §8.3; RFC 8737 §3). */
export function challengePort(challenge: AcmeChallengeType): number {
  return challenge === 'http-01' ? 80 : 443;
}

/** Network failures named in a CA's detail text, in the words an operator reads in a shell. */
const networkCauses: Array<[RegExp, string]> = [
  [/connection refused/i, 'connection refused (nothing listens there, or a firewall rejects it)'],
  [/timeout|timed out|deadline exceeded/i, 'no answer in time (a firewall may drop the connection)'],
  [/no such host|NXDOMAIN|no valid (?:A|AAAA) records/i, 'the name does not resolve in public DNS'],
  [/connection reset/i, 'the connection was reset'],
  [/no route to host|network is unreachable/i, 'no route to the address'],
];

function networkCause(detail: string): string | null {
  for (const [pattern, words] of networkCauses) if (pattern.test(detail)) return words;
  return null;
}

/** The CA's own words, shortened, as the last part of a message. */
function quoted(detail: string | undefined): string {
  if (!detail) return '';
  const text = detail.replace(/\s+/g, ' ').trim();
  return ` (the CA said: ${text.length > 300 ? `${text.slice(0, 297)}...` : text})`;
}

/**
 * One sentence about an ACME problem in words an operator acts on, e.g.
 * "the CA could not reach port 443 of files.example.com: connection refused".
 */
export function describeAcmeProblem(problem: AcmeProblem, context: ProblemContext = {}): string {
  const type = problem.type?.startsWith(errorPrefix) ? problem.type.slice(errorPrefix.length) : (problem.type ?? '');
  const detail = problem.detail ?? '';
  const name = context.name ?? 'the name';
  const port = context.challenge ? challengePort(context.challenge) : null;
  const where = port ? `port ${port} of ${name}` : name;
  switch (type) {
    case 'connection': {
      const cause = networkCause(detail);
      return `the CA could not reach ${where}: ${cause ?? 'the connection failed'}${cause ? '' : quoted(detail)}`;
    }
    case 'dns':
      return `the CA could not look up ${name} in DNS: ${networkCause(detail) ?? 'the lookup failed'}${quoted(detail)}`;
    case 'tls':
      return `the CA reached ${where} but the TLS handshake failed${quoted(detail)}`;
    case 'unauthorized':
    case 'incorrectResponse':
      return `the CA reached ${where} but did not get the expected challenge answer: is another server answering for ${name}?${quoted(detail)}`;
    case 'caa':
      return `a CAA record of ${name} forbids this CA from issuing for it`;
    case 'rateLimited':
      return `the CA's rate limit was reached; the order is retried later${quoted(detail)}`;
    case 'rejectedIdentifier':
    case 'unsupportedIdentifier':
      return `the CA does not issue certificates for ${name}${quoted(detail)}`;
    case 'badNonce':
      return 'the CA refused a request as replayed (bad nonce); it is sent again';
    case 'accountDoesNotExist':
      return 'the CA does not know the account any more; a new one is registered';
    case 'externalAccountRequired':
      return 'the CA requires an external account binding (a key from its website), which is not configured';
    case 'invalidContact':
    case 'unsupportedContact':
      return `the CA refused the contact email address${quoted(detail)}`;
    case 'userActionRequired':
      return `the CA asks for action on its website (often new terms of service)${quoted(detail)}`;
    case 'badCSR':
      return `the CA refused the certificate request${quoted(detail)}`;
    case 'serverInternal':
      return `the CA had an internal error; the order is retried later${quoted(detail)}`;
    case 'compound': {
      const parts = (problem.subproblems ?? []).map((sub) => describeAcmeProblem(sub, { ...context, ...(sub.identifier?.value ? { name: sub.identifier.value } : {}) }));
      return parts.length > 0 ? parts.join('; ') : `the CA refused the order${quoted(detail)}`;
    }
    default:
      return `the CA refused the request${type ? ` (${type})` : ''}${quoted(detail)}`;
  }
}

/** A problem whose order may succeed later without anyone changing anything. */
export function isTransient(problem: AcmeProblem): boolean {
  const type = problem.type?.slice(errorPrefix.length);
  return type === 'rateLimited' || type === 'serverInternal' || type === 'badNonce' || (problem.status ?? 0) >= 500;
}

/**
 * A request that got no problem document from the CA (network, trust, a
 * refusal in acme-client's words), in an operator's words; `transient`: it may
 * pass by itself. `name`: the challenge's name when one was being answered;
 * `orderStarted`: the CA had accepted the order.
 */
export function describeRequestFailure(error: Error, directory: string, context: { name?: string | undefined; orderStarted: boolean }): { reason: string; transient: boolean } {
  const message = error.message ?? String(error);
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const { name } = context;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) return { reason: `the ACME directory ${directory} cannot be reached: connection refused`, transient: true };
  if (code === 'ENOTFOUND' || /ENOTFOUND|EAI_AGAIN/.test(message)) return { reason: `the ACME directory ${directory} cannot be reached: its name does not resolve`, transient: true };
  if (/ETIMEDOUT|ECONNABORTED|timeout/i.test(code + message)) return { reason: `the ACME directory ${directory} did not answer in time`, transient: true };
  if (/self[- ]signed|unable to (?:get|verify)|UNABLE_TO_VERIFY|CERT_/i.test(code + message) && !name) {
    return { reason: `the ACME directory's HTTPS certificate is not trusted (${code || message}); for a private CA set ACME_CA_FILE to its root certificate`, transient: false };
  }
  if (code.startsWith('E') && code.length > 1) return { reason: `cert-service could not ${context.orderStarted ? 'finish' : 'start'} the order: ${code} (${message.slice(0, 200)})`, transient: true };
  // axios' own words for an answer without a problem document.
  const status = /status code (\d{3})/.exec(message)?.[1];
  if (status) return { reason: `the CA answered HTTP ${status}${name ? ` for ${name}` : ''}${status.startsWith('5') ? ' (a fault or an outage at the CA)' : ''}`, transient: status.startsWith('5') || status === '429' };
  return { reason: `the CA refused the request${name ? ` for ${name}` : ''}: ${message.slice(0, 300)}`, transient: /\b5\d\d\b|rateLimited|serverInternal/.test(message) };
}
