import type { CertificateFinding } from '@st/contracts';

/**
 * Every problem a load can have, with its fixed severity: problems that make TLS
 * fail are errors and reject the load; the rest are warnings in the response.
 */
export const findingCatalogue = {
  PARSE_ERROR: 'error',
  NO_CERTIFICATE: 'error',
  NO_KEY: 'error',
  MULTIPLE_KEYS: 'error',
  KEY_PASSPHRASE_REQUIRED: 'error',
  KEY_PASSPHRASE_WRONG: 'error',
  PKCS12_PASSWORD_WRONG: 'error',
  KEY_MISMATCH: 'error',
  EXPIRED: 'error',
  NOT_YET_VALID: 'error',
  NAME_NOT_COVERED: 'error',
  KEY_TOO_SMALL: 'error',
  KEY_TYPE_UNSUPPORTED: 'error',
  NOT_FOR_SERVER_AUTH: 'error',
  INTERMEDIATE_NOT_ISSUER: 'error',
  CHAIN_REORDERED: 'warning',
  INTERMEDIATE_MISSING: 'warning',
  SELF_SIGNED: 'warning',
  EXPIRES_SOON: 'warning',
} as const;
export type FindingCode = keyof typeof findingCatalogue;

export function finding(code: FindingCode, message: string): CertificateFinding {
  return { code, severity: findingCatalogue[code], message };
}

export function errorsOf(findings: readonly CertificateFinding[]): CertificateFinding[] {
  return findings.filter((item) => item.severity === 'error');
}

export function warningsOf(findings: readonly CertificateFinding[]): CertificateFinding[] {
  return findings.filter((item) => item.severity === 'warning');
}
