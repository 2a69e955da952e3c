/** A failure with the HTTP status and stable code it is reported with. */
export class BrowserError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'BrowserError';
  }
}

const byErrno: Record<string, [number, string, string]> = {
  ENOENT: [404, 'NOT_FOUND', 'not found'],
  ENOTDIR: [404, 'NOT_FOUND', 'not found'],
  EACCES: [403, 'FORBIDDEN', 'permission denied'],
  EPERM: [403, 'FORBIDDEN', 'permission denied'],
  EISDIR: [409, 'IS_A_DIRECTORY', 'a directory is in the way'],
  EEXIST: [409, 'EXISTS', 'already exists'],
  ENAMETOOLONG: [400, 'BAD_PATH', 'name too long'],
  ENOSPC: [507, 'NO_SPACE', 'no space left on the device'],
  EDQUOT: [507, 'NO_SPACE', 'disk quota exceeded'],
  EROFS: [403, 'READ_ONLY', 'read-only file system'],
};

/** Maps any thrown value to what the client is told; unknown failures become a bare 500. */
export function toBrowserError(error: unknown): BrowserError {
  if (error instanceof BrowserError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const known = errno ? byErrno[errno] : undefined;
  if (known) return new BrowserError(known[0], known[1], known[2]);
  return new BrowserError(500, 'INTERNAL', 'internal error');
}
