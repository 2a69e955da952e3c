import { isFieldValueCode, isTcharCode } from './syntax.js';

/**
 * Reading regular HTTP/1.1 heads straight from the bytes they came in.
 *
 * The relay reads a request head and a response head for every request.
 * Splitting a head into line strings and parsing each line with its own
 * checks cost more than the rest of the gateway's own work per keep-alive
 * request (docs/performance.md has the figures). Nearly every
 * head is regular (token names, clean values, CRLF line ends), and such a
 * head can be read in one pass over its bytes. The scanners here only say
 * "regular, and here are the parts" or "not regular": a head that is not
 * goes to the line-by-line parsers, which name what is wrong (or read it the
 * same way). The two readings are property-tested to agree.
 */

/** Token characters by byte value. */
const tcharByte = new Uint8Array(256).map((_, c) => (isTcharCode(c) ? 1 : 0));

const valueLineEnd = 1;
const valueIrregular = 2;
/** Field value bytes: part of a value (VCHAR, obs-text, SP, HTAB), the CR that ends its line, or irregular (other controls, DEL). */
const valueByte = new Uint8Array(256).map((_, c) => (c === 0x0d ? valueLineEnd : isFieldValueCode(c) ? 0 : valueIrregular));

/**
 * What the scanner found next: a regular field line (its offsets are set),
 * the end of the head, or something the line-by-line parser must look at.
 */
export type FieldStep = 'field' | 'end' | 'irregular';

/** Walks the field lines of a head in `data` from `start` to `end` (the head without its empty line). */
export class FieldLineScanner {
  nameStart = 0;
  nameEnd = 0;
  /** The value without the optional whitespace around it. */
  valueStart = 0;
  valueEnd = 0;
  /** Field lines read so far. */
  count = 0;

  /** The head as text, made once when a part of it is first wanted (see text). */
  private headText: string | null = null;

  constructor(
    private readonly data: Buffer,
    /** Where the head starts in `data`. */
    private readonly start: number,
    /** Where its field lines start: at the CR ending the start line, or at `end`. */
    private at: number,
    private readonly end: number,
  ) {}

  next(): FieldStep {
    const { data, end } = this;
    let at = this.at;
    if (at >= end) return 'end';
    // At a CR: it must end its line. A line must follow (the head comes without its empty line): an empty one has no name.
    if (data[at] !== 0x0d || data[at + 1] !== 0x0a) return 'irregular';
    at += 2;
    const nameStart = at;
    while (at < end && tcharByte[data[at]!] === 1) at++;
    if (at === nameStart || at === end || data[at] !== 0x3a) return 'irregular';
    this.nameStart = nameStart;
    this.nameEnd = at;
    at++;
    while (at < end && (data[at] === 0x20 || data[at] === 0x09)) at++;
    const valueStart = at;
    for (; at < end; at++) {
      const kind = valueByte[data[at]!];
      if (kind === valueLineEnd) break;
      if (kind === valueIrregular) return 'irregular';
    }
    let valueEnd = at;
    while (valueEnd > valueStart && (data[valueEnd - 1] === 0x20 || data[valueEnd - 1] === 0x09)) valueEnd--;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    this.at = at;
    this.count++;
    return 'field';
  }

  /** The current field's name is `lowerName` in any case. */
  named(lowerName: string): boolean {
    return this.nameEnd - this.nameStart === lowerName.length && sameLetters(this.data, this.nameStart, lowerName);
  }

  name(): string {
    return this.text(this.nameStart, this.nameEnd);
  }

  value(): string {
    return this.text(this.valueStart, this.valueEnd);
  }

  /**
   * The head's bytes from `from` to `to` (offsets in `data`) as text. One
   * conversion of the whole head and substrings of it: a Buffer conversion
   * per part cost more than the scan itself (a native call each).
   */
  text(from: number, to: number): string {
    this.headText ??= this.data.toString('latin1', this.start, this.end);
    return this.headText.slice(from - this.start, to - this.start);
  }
}

/**
 * The bytes at `start` spell `lower` (lower-case letters and `-`) in any
 * case. ORing 0x20 maps only letters to lower-case letters and only `-` and
 * CR to `-`; a CR cannot be where this is asked (names are tokens).
 */
function sameLetters(data: Buffer, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((data[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** `data` from `start` begins with the ASCII text `prefix`. */
export function startsWithText(data: Buffer, start: number, prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) {
    if (data[start + i] !== prefix.charCodeAt(i)) return false;
  }
  return true;
}
