import { FtpProtocolError, quoteLine } from './errors.js';

export interface FtpReply {
  code: number;
  /** Exact bytes of the whole reply, all lines, with their line endings, so it can be relayed unchanged. */
  raw: Buffer;
  /** Each line decoded as UTF-8, without its line ending. */
  lines: string[];
  /** Message text: lines joined with \n, with the code prefix removed from the first and the last line. */
  text: string;
  multiline: boolean;
}

export interface ReplyParserOptions {
  /** Largest reply (all its lines) the parser will hold; defaults to 1 MiB. */
  maxReplyBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const defaultMaxReplyBytes = 1024 * 1024;

// RFC 959 uses 1xx-5xx and RFC 2228 adds 6xx (protected replies); a bare code
// without text is tolerated because some servers send it.
const firstLinePattern = /^([1-6]\d\d)([ -]|$)/;

interface OpenReply {
  code: number;
  /** "NNN " and "NNN" end the reply; anything else is a continuation line. */
  terminator: string;
  lines: Buffer[];
  bytes: number;
}

/**
 * Turns control-channel chunks from the server into complete replies. It never
 * holds more than one reply: each line is copied once when its LF arrives, so
 * feeding byte by byte costs no more than feeding everything at once.
 */
export class ReplyParser {
  private readonly maxReplyBytes: number;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private open: OpenReply | null = null;

  constructor(options: ReplyParserOptions = {}) {
    this.maxReplyBytes = options.maxReplyBytes ?? defaultMaxReplyBytes;
    if (!Number.isInteger(this.maxReplyBytes) || this.maxReplyBytes < 1) {
      throw new RangeError(`maxReplyBytes must be a positive integer, got ${this.maxReplyBytes}`);
    }
  }

  /** Returns every reply completed by this chunk, in order. Throws on a protocol violation; the connection is then unusable. */
  push(chunk: Buffer): FtpReply[] {
    const replies: FtpReply[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        this.partial.push(chunk.subarray(start));
        this.partialBytes += chunk.length - start;
        this.checkPendingSize();
        break;
      }
      const line = this.takeLine(chunk.subarray(start, lf + 1));
      start = lf + 1;
      const reply = this.acceptLine(line);
      if (reply) replies.push(reply);
    }
    return replies;
  }

  private takeLine(tail: Buffer): Buffer {
    const line = this.partial.length === 0 ? Buffer.from(tail) : Buffer.concat([...this.partial, tail]);
    this.partial = [];
    this.partialBytes = 0;
    return line;
  }

  private acceptLine(line: Buffer): FtpReply | null {
    const text = decodeLine(line);
    if (this.open === null) {
      const match = firstLinePattern.exec(text);
      if (!match) throw new FtpProtocolError('BAD_REPLY', `Reply line does not start with a 3-digit code: ${quoteLine(text)}`);
      const code = Number(match[1]);
      if (match[2] !== '-') return this.finish({ code, terminator: match[1] as string, lines: [line], bytes: line.length });
      this.open = { code, terminator: match[1] as string, lines: [line], bytes: line.length };
      this.checkPendingSize();
      return null;
    }
    const open = this.open;
    open.lines.push(line);
    open.bytes += line.length;
    // RFC 959 §4.2: only "NNN " with the opening code ends the reply; lines that start
    // with other digits (or "NNN-") are continuation text.
    if (text === open.terminator || text.startsWith(`${open.terminator} `)) {
      this.open = null;
      return this.finish(open);
    }
    this.checkPendingSize();
    return null;
  }

  private finish(reply: OpenReply): FtpReply {
    if (reply.bytes > this.maxReplyBytes) this.tooLong(reply.bytes);
    const lines = reply.lines.map(decodeLine);
    const multiline = lines.length > 1;
    const body = lines.map((line, index) => (index === 0 || index === lines.length - 1 ? line.slice(4) : line));
    return {
      code: reply.code,
      raw: reply.lines.length === 1 ? (reply.lines[0] as Buffer) : Buffer.concat(reply.lines, reply.bytes),
      lines,
      text: body.join('\n'),
      multiline,
    };
  }

  private checkPendingSize(): void {
    const pending = (this.open?.bytes ?? 0) + this.partialBytes;
    if (pending > this.maxReplyBytes) this.tooLong(pending);
  }

  private tooLong(bytes: number): never {
    throw new FtpProtocolError('REPLY_TOO_LONG', `Reply exceeds ${this.maxReplyBytes} bytes (${bytes} pending)`);
  }
}

/** Strips LF and an optional CR before it. */
function decodeLine(line: Buffer): string {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  return line.toString('utf8', 0, end);
}

/** 1xx: the server will send another reply for the same command. */
export function isPreliminary(code: number): boolean {
  return code >= 100 && code < 200;
}

/** Any reply that ends a command (everything but 1xx). */
export function isFinal(code: number): boolean {
  return !isPreliminary(code);
}

export function isPositiveCompletion(code: number): boolean {
  return code >= 200 && code < 300;
}
