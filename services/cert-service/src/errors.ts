/** Every certificate failure, with the HTTP status it maps to. */
export const certificateErrorStatus = {
  INVALID_SERVER_NAME: 400,
  INVALID_SHEET: 400,
  INVALID_CERTIFICATE: 400,
  INVALID_KEY: 400,
  KEY_MISMATCH: 422,
  /** A load whose material has errors (details: { errors, warnings }). */
  VALIDATION_FAILED: 422,
  UNKNOWN_CERTIFICATE: 404,
  UNKNOWN_REQUEST: 404,
  NO_ACTIVE_CERTIFICATE: 404,
  CERTIFICATE_ACTIVE: 409,
  /** Activating alongside the active certificate what already is the active one. */
  ALREADY_ACTIVE: 409,
  /** Alongside the active certificate only a key of the other kind can be served. */
  SAME_KEY_KIND: 409,
  /** Deactivating a certificate that is not active alongside. */
  NOT_ACTIVE: 409,
  STORE_CORRUPT: 500,
  /** The store holds encrypted keys and no (or not this) store key was given. */
  STORE_LOCKED: 500,
} as const;
export type CertificateErrorCode = keyof typeof certificateErrorStatus;
export const certificateErrorCodes = Object.keys(certificateErrorStatus) as CertificateErrorCode[];

/** Every certificate failure carries a stable code, so the HTTP layer can map it and tests can match it. */
export class CertificateError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CertificateError';
  }

  get status(): number {
    return certificateErrorStatus[this.code];
  }
}
