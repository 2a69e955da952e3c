/** Every settings failure, with the HTTP status it maps to. */
export const configErrorStatus = {
  /** The proposed settings break a rule (details: { errors, warnings }). */
  INVALID_SETTINGS: 422,
  /** If-Match named a version that is no longer current (details: { currentVersion }). */
  VERSION_CONFLICT: 412,
  UNKNOWN_VERSION: 404,
  INVALID_REQUEST: 400,
  /** Requested output cannot express the current settings. */
  NOT_RENDERABLE: 409,
} as const;
export type ConfigErrorCode = keyof typeof configErrorStatus;

/** A stable code per failure, so the HTTP layer maps it and tests match it. */
export class ConfigError extends Error {
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ConfigError';
  }

  get status(): number {
    return configErrorStatus[this.code];
  }
}
