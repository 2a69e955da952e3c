/** Stable codes, so that callers branch on the failure rather than on message text. */
export type FtpProtocolErrorCode =
  | 'REPLY_TOO_LONG'
  | 'BAD_REPLY'
  | 'BAD_PASV_REPLY'
  | 'BAD_EPSV_REPLY'
  | 'BAD_ADDRESS'
  | 'BAD_PORT'
  | 'BAD_REPLY_CODE';

/** A protocol violation by a peer, or an argument that cannot be put on the wire. */
export class FtpProtocolError extends Error {
  constructor(
    readonly code: FtpProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FtpProtocolError';
  }
}

/**
 * Quotes peer input for an error message: JSON escaping makes CR, LF and other
 * control bytes visible, and truncation keeps a hostile megabyte out of the logs.
 */
export function quoteLine(line: string | Buffer, maxLength = 100): string {
  const text = typeof line === 'string' ? line : line.toString('utf8');
  return text.length > maxLength ? `${JSON.stringify(text.slice(0, maxLength))}...` : JSON.stringify(text);
}
