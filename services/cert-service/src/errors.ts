export const certificateErrorCodes = [
  'INVALID_SERVER_NAME',
  'INVALID_SHEET',
  'INVALID_CERTIFICATE',
  'INVALID_KEY',
  'KEY_MISMATCH',
  'STORE_CORRUPT',
  'UNKNOWN_CERTIFICATE',
] as const;
export type CertificateErrorCode = (typeof certificateErrorCodes)[number];

/** Every certificate failure carries a stable code, so the HTTP layer can map it and tests can match it. */
export class CertificateError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}
