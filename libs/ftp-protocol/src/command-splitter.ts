export interface FtpCommand {
  /** Upper-cased ASCII verb. */
  verb: string;
  /** UTF-8 decoded; the single space after the verb and trailing CRs are removed. */
  argument: string;
  /** The line as it must be forwarded: Telnet commands stripped, ends with \r\n. */
  raw: Buffer;
}

export type SplitResult = { kind: 'command'; command: FtpCommand } | { kind: 'too-long'; maxLength: number };

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const IAC = 0xff;
const WILL = 0xfb;
const DONT = 0xfe;
const CRLF = Buffer.from('\r\n');

type TelnetState = 'data' | 'iac' | 'option';

/**
 * Splits the client's control stream into commands. Clients send Telnet
 * sequences (IAC IP, IAC DM) before ABOR (RFC 959 §4.1.3); they are stripped
 * here because the upstream would otherwise see them glued to the next verb.
 *
 * Memory is bounded by maxLineLength: a longer line is reported once and the
 * rest of it is dropped as it arrives, even if its LF never comes.
 */
export class CommandSplitter {
  private readonly line: Buffer;
  private length = 0;
  private discarding = false;
  private telnet: TelnetState = 'data';

  constructor(private readonly maxLineLength: number) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
      throw new RangeError(`maxLineLength must be a positive integer, got ${maxLineLength}`);
    }
    this.line = Buffer.alloc(maxLineLength);
  }

  push(chunk: Buffer): SplitResult[] {
    const results: SplitResult[] = [];
    for (const byte of chunk) {
      switch (this.telnet) {
        case 'option':
          // The option byte of WILL/WONT/DO/DONT: the third byte of the sequence.
          this.telnet = 'data';
          break;
        case 'iac':
          if (byte === IAC) {
            // IAC IAC is a data byte 0xFF. It stays escaped in raw so that a
            // Telnet-aware upstream reads the same byte the client meant.
            this.telnet = 'data';
            this.append(IAC, results);
            this.append(IAC, results);
          } else {
            this.telnet = byte >= WILL && byte <= DONT ? 'option' : 'data';
          }
          break;
        case 'data':
          if (byte === IAC) this.telnet = 'iac';
          else if (byte === LF) this.endLine(results);
          else this.append(byte, results);
          break;
      }
    }
    return results;
  }

  private append(byte: number, results: SplitResult[]): void {
    if (this.discarding) return;
    if (this.length === this.maxLineLength) {
      // Trailing CRs are dropped at the LF anyway, so a full line may still end
      // with "\r\n"; any other byte makes it too long.
      if (byte === CR) return;
      results.push({ kind: 'too-long', maxLength: this.maxLineLength });
      this.discarding = true;
      this.length = 0;
      return;
    }
    this.line[this.length++] = byte;
  }

  private endLine(results: SplitResult[]): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let end = this.length;
    while (end > 0 && this.line[end - 1] === CR) end--;
    this.length = 0;
    if (end === 0) return;
    const content = Buffer.from(this.line.subarray(0, end));
    results.push({ kind: 'command', command: toCommand(content) });
  }
}

function toCommand(content: Buffer): FtpCommand {
  const text = unescapeIac(content);
  const space = text.indexOf(SPACE);
  const verbBytes = space === -1 ? text : text.subarray(0, space);
  const argumentBytes = space === -1 ? Buffer.alloc(0) : text.subarray(space + 1);
  return {
    verb: verbBytes.toString('utf8').replace(/[a-z]/g, (letter) => letter.toUpperCase()),
    argument: argumentBytes.toString('utf8'),
    raw: Buffer.concat([content, CRLF]),
  };
}

/** Every 0xFF left in a line is the first half of an escaped IAC IAC pair. */
function unescapeIac(content: Buffer): Buffer {
  if (!content.includes(IAC)) return content;
  const out = Buffer.alloc(content.length);
  let length = 0;
  for (let i = 0; i < content.length; i++) {
    out[length++] = content[i] as number;
    if (content[i] === IAC) i++;
  }
  return out.subarray(0, length);
}

const secretVerbs = new Set(['PASS', 'ACCT']);

/** A command as it may appear in logs: passwords and account data never do. */
export function formatCommandForLog(command: FtpCommand): string {
  if (secretVerbs.has(command.verb)) return `${command.verb} ****`;
  return command.argument === '' ? command.verb : `${command.verb} ${command.argument}`;
}
