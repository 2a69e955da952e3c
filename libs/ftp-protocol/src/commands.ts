import { FtpProtocolError } from './errors.js';

/** What the gateway must do with a command, beyond relaying it. */
export type CommandClass = 'download' | 'upload' | 'passive' | 'active' | 'tls' | 'abort' | 'feat' | 'quit' | 'other';

const classes: Record<Exclude<CommandClass, 'other'>, readonly string[]> = {
  download: ['RETR', 'LIST', 'NLST', 'MLSD'],
  upload: ['STOR', 'STOU', 'APPE'],
  passive: ['PASV', 'EPSV'],
  // LPSV and SPSV ask for passive mode, but in address formats (RFC 1639, SPSV
  // drafts) the gateway cannot rewrite, so they are refused like active mode.
  active: ['PORT', 'EPRT', 'LPRT', 'LPSV', 'SPSV'],
  tls: ['AUTH', 'PBSZ', 'PROT', 'CCC', 'ADAT', 'MIC', 'CONF', 'ENC'],
  abort: ['ABOR'],
  feat: ['FEAT'],
  quit: ['QUIT'],
};

const classByVerb = new Map<string, CommandClass>(
  Object.entries(classes).flatMap(([kind, verbs]) => verbs.map((verb) => [verb, kind as CommandClass] as const)),
);

export function classifyCommand(verb: string): CommandClass {
  return classByVerb.get(verb.toUpperCase()) ?? 'other';
}

/**
 * A reply ready to send. Text containing line breaks becomes a multi-line reply
 * rather than a broken one, so no caller can inject an extra reply by accident.
 */
export function formatReply(code: number, text: string | string[]): string {
  if (!Number.isInteger(code) || code < 100 || code > 699) {
    throw new FtpProtocolError('BAD_REPLY_CODE', `Reply code must be an integer in 100-699, got ${code}`);
  }
  const lines = (typeof text === 'string' ? [text] : text).flatMap((part) => part.split(/\r\n|\r|\n/));
  if (lines.length <= 1) return `${code} ${lines[0] ?? ''}\r\n`;
  const first = `${code}-${lines[0]}\r\n`;
  // RFC 959 §4.2: a continuation line must not look like the final line, so one
  // that starts with a digit gets a leading space.
  const middle = lines.slice(1, -1).map((line) => `${/^\d/.test(line) ? ' ' : ''}${line}\r\n`);
  const last = `${code} ${lines[lines.length - 1]}\r\n`;
  return first + middle.join('') + last;
}
