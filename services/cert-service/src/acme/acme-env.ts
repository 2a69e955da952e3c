/**
 * Where cert-service gets certificates by ACME (RFC 8555), read from the
 * environment: ACME_DIRECTORY_URL, ACME_EMAIL, ACME_TERMS_AGREED,
 * ACME_CHALLENGE, ACME_CA_FILE, ACME_EXTRA_NAMES, ACME_RENEW_DAYS_BEFORE.
 * Pure: the caller reads the CA file and reports the problems.
 */

export const acmeChallengeTypes = ['tls-alpn-01', 'http-01'] as const;
export type AcmeChallengeType = (typeof acmeChallengeTypes)[number];

/** Directories an operator may name instead of typing their address. */
export const namedDirectories: Record<string, string> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
};

export interface AcmeSettings {
  directoryUrl: string;
  /** Contact address the CA writes to about expiry and problems (optional for most CAs). */
  email: string | null;
  challenge: AcmeChallengeType;
  /** Names besides SERVER_NAME the certificate covers. */
  extraNames: string[];
  /** A PEM file of roots that sign the directory's HTTPS certificate (a private CA such as Pebble). */
  caFile: string | null;
  /** Renew this many days before expiry; null: when a third of the lifetime is left. */
  renewDaysBefore: number | null;
}

export type AcmeSettingsResult = { kind: 'off' } | { kind: 'on'; settings: AcmeSettings } | { kind: 'invalid'; problems: string[] };

const emailPattern = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
const dnsNamePattern = /^(?=.{1,253}$)(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** An ACME directory address: a named one, or an https URL (http only on loopback, where test CAs run). */
export function resolveDirectoryUrl(text: string): { ok: true; url: string } | { ok: false; message: string } {
  const named = namedDirectories[text.toLowerCase()];
  if (named) return { ok: true, url: named };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: `"${text}" is not an address; use a URL such as https://acme.example/directory, or ${Object.keys(namedDirectories).join(' or ')}` };
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\./.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) return { ok: false, message: `"${text}" must be an https address (the account key signs everything sent to it)` };
  return { ok: true, url: url.toString() };
}

export function checkEmail(text: string): string | null {
  return emailPattern.test(text) ? null : `"${text}" is not an email address`;
}

/** A name an ACME certificate can cover: a DNS name (a wildcard needs dns-01, which the gateway cannot answer) or an IP address. */
export function checkIdentifier(name: string): string | null {
  if (name.startsWith('*.')) return `"${name}": wildcard names need the dns-01 challenge, which the gateway cannot answer`;
  if (/^[0-9.]+$/.test(name) || name.includes(':')) return null;
  return dnsNamePattern.test(name) ? null : `"${name}" is not a DNS name`;
}

/**
 * TLS-ALPN-01 for an IP address puts a reverse-DNS name in the SNI (RFC 8738
 * §6), which the gateway does not answer: such names need HTTP-01.
 */
export function checkNamesForChallenge(names: readonly string[], challenge: AcmeChallengeType): string | null {
  const addresses = names.filter((name) => /^[0-9.]+$/.test(name) || name.includes(':'));
  if (challenge === 'tls-alpn-01' && addresses.length > 0) return `${addresses.join(', ')}: an IP address is validated by http-01 only here (set ACME_CHALLENGE=http-01)`;
  return null;
}

export function acmeSettingsFromEnv(env: Record<string, string | undefined>): AcmeSettingsResult {
  const directory = env.ACME_DIRECTORY_URL?.trim();
  if (!directory) return { kind: 'off' };
  const problems: string[] = [];
  const resolved = resolveDirectoryUrl(directory);
  if (!resolved.ok) problems.push(`ACME_DIRECTORY_URL: ${resolved.message}`);
  const agreed = env.ACME_TERMS_AGREED?.trim().toLowerCase();
  if (agreed !== 'true' && agreed !== 'yes') {
    problems.push("ACME_TERMS_AGREED: set it to true once you have read and accepted the CA's terms of service (the CA's directory links them); no account is made without it");
  }
  const email = env.ACME_EMAIL?.trim() || null;
  if (email) {
    const problem = checkEmail(email);
    if (problem) problems.push(`ACME_EMAIL: ${problem}`);
  }
  const challengeText = env.ACME_CHALLENGE?.trim() || 'tls-alpn-01';
  if (!(acmeChallengeTypes as readonly string[]).includes(challengeText)) problems.push(`ACME_CHALLENGE: "${challengeText}" is not one of ${acmeChallengeTypes.join(', ')}`);
  const extraNames = (env.ACME_EXTRA_NAMES ?? '')
    .split(/[\s,]+/)
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of extraNames) {
    const problem = checkIdentifier(name);
    if (problem) problems.push(`ACME_EXTRA_NAMES: ${problem}`);
  }
  let renewDaysBefore: number | null = null;
  const renewText = env.ACME_RENEW_DAYS_BEFORE?.trim();
  if (renewText) {
    if (!/^\d+$/.test(renewText) || Number(renewText) < 1 || Number(renewText) > 365) problems.push(`ACME_RENEW_DAYS_BEFORE: "${renewText}" is not a number of days from 1 to 365`);
    else renewDaysBefore = Number(renewText);
  }
  if ((acmeChallengeTypes as readonly string[]).includes(challengeText)) {
    const problem = checkNamesForChallenge([...(env.SERVER_NAME ? [env.SERVER_NAME.trim().toLowerCase()] : []), ...extraNames], challengeText as AcmeChallengeType);
    if (problem) problems.push(`ACME_CHALLENGE: ${problem}`);
  }
  if (problems.length > 0 || !resolved.ok) return { kind: 'invalid', problems };
  return {
    kind: 'on',
    settings: {
      directoryUrl: resolved.url,
      email,
      challenge: challengeText as AcmeChallengeType,
      extraNames: [...new Set(extraNames)],
      caFile: env.ACME_CA_FILE?.trim() || null,
      renewDaysBefore,
    },
  };
}
