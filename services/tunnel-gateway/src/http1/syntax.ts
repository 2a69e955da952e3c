/**
 * HTTP/1.1 message syntax shared by request and response parsing (RFC 9110
 * §5.6.2 tokens, §5.5 field values; RFC 9112 §2.2 line endings). Every check
 * works on char codes of a latin1 string, so bytes map 1:1 to characters.
 */

/** An HTTP status with the reason a message was refused, for a clear error response. */
export class HttpSyntaxError extends Error {
  constructor(
    readonly status: 400 | 405 | 431 | 505,
    message: string,
  ) {
    super(message);
    this.name = 'HttpSyntaxError';
  }
}

const tcharTable = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") tcharTable[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) tcharTable[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) tcharTable[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) tcharTable[c] = 1;

/** One character of a token (a char code of a latin1 string). */
export function isTcharCode(c: number): boolean {
  return c < 128 && tcharTable[c] === 1;
}

/** token = 1*tchar */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (!isTcharCode(text.charCodeAt(i))) return false;
  }
  return true;
}

/** One character of a field value: VCHAR, obs-text, SP or HTAB; never NUL, CR, LF or another control. */
export function isFieldValueCode(c: number): boolean {
  return (c >= 0x20 || c === 0x09) && c !== 0x7f;
}

/** field-value characters: VCHAR, obs-text, SP and HTAB; never NUL, CR, LF or other controls. */
export function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!isFieldValueCode(text.charCodeAt(i))) return false;
  }
  return true;
}

/** One field line: `name ":" OWS value OWS`, name and value as sent (value trimmed of OWS). */
export interface FieldLine {
  name: string;
  /** Lower-cased name, for lookups. */
  key: string;
  value: string;
}

/**
 * Parses one field line. Refuses obs-fold (a line starting with whitespace),
 * whitespace between the name and the colon (RFC 9112 §5.1: such a request
 * MUST be rejected, it is a classic smuggling vector) and characters that no
 * name or value may hold.
 */
export function parseFieldLine(line: string, what: string): FieldLine {
  const first = line.charCodeAt(0);
  if (first === 0x20 || first === 0x09) throw new HttpSyntaxError(400, `${what}: obs-fold (a line starting with whitespace) is not accepted`);
  const colon = line.indexOf(':');
  if (colon <= 0) throw new HttpSyntaxError(400, `${what}: a field line without a name and a colon`);
  const name = line.slice(0, colon);
  if (!isToken(name)) {
    const last = name.charCodeAt(name.length - 1);
    if (last === 0x20 || last === 0x09) throw new HttpSyntaxError(400, `${what}: whitespace between a field name and its colon`);
    throw new HttpSyntaxError(400, `${what}: invalid field name ${JSON.stringify(name)}`);
  }
  const value = trimOws(line.slice(colon + 1));
  if (!isFieldValue(value)) throw new HttpSyntaxError(400, `${what}: invalid character in the value of ${name}`);
  return { name, key: name.toLowerCase(), value };
}

/** OWS = *( SP / HTAB ) */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  return text.slice(start, end);
}

/**
 * Splits a head (start line and field lines, without the final empty line)
 * into lines. Every line must end in CRLF: a bare LF or a CR elsewhere would
 * let two parsers disagree on where a line ends (RFC 9112 §2.2, §11.2), and a
 * NUL is never part of a head.
 */
export function splitHeadLines(head: string, what: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const crlf = head.indexOf('\r\n', start);
    const end = crlf === -1 ? head.length : crlf;
    const line = head.slice(start, end);
    if (line.includes('\r')) throw new HttpSyntaxError(400, `${what}: a CR that does not end a line`);
    if (line.includes('\n')) throw new HttpSyntaxError(400, `${what}: a bare LF line ending`);
    if (line.includes('\0')) throw new HttpSyntaxError(400, `${what}: a NUL byte`);
    lines.push(line);
    if (crlf === -1) return lines;
    start = crlf + 2;
  }
}

/** Comma-separated list elements (RFC 9110 §5.6.1), lower-cased, empty elements dropped. */
export function listElements(value: string): string[] {
  // Nearly every list sent is one element ("keep-alive", "chunked").
  if (!value.includes(',')) {
    const element = trimOws(value).toLowerCase();
    return element ? [element] : [];
  }
  const elements: string[] = [];
  for (const part of value.split(',')) {
    const element = trimOws(part).toLowerCase();
    if (element) elements.push(element);
  }
  return elements;
}

/** Content-Length = 1*DIGIT, within what a JavaScript number counts exactly. */
export function parseContentLength(values: string[], what: string): number {
  // Nearly every message: one field of plain digits.
  if (values.length === 1 && isDigits(values[0]!)) return Number(values[0]);
  let length: number | null = null;
  for (const value of values) {
    for (const element of value.split(',')) {
      const digits = trimOws(element);
      if (!isDigits(digits)) throw new HttpSyntaxError(400, `${what}: invalid Content-Length ${JSON.stringify(value)}`);
      const parsed = Number(digits);
      if (length !== null && parsed !== length) throw new HttpSyntaxError(400, `${what}: differing Content-Length values`);
      length = parsed;
    }
  }
  if (length === null) throw new HttpSyntaxError(400, `${what}: empty Content-Length`);
  return length;
}

/** 1 to 15 decimal digits: what a Content-Length element may be here (more would pass what a JavaScript number counts exactly). */
function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Looks for the end of a head (the empty line) in `data`, which holds a head
 * from `start`; bytes before `from` were scanned by an earlier call. Returns
 * the index just past CRLF CRLF, or -1 when more bytes are needed. A bare LF
 * is refused as soon as it arrives rather than when the size limit is hit.
 */
export function findHeadEnd(data: Buffer, start: number, from: number, what: string): number {
  let lf = data.indexOf(0x0a, Math.max(start, from));
  while (lf !== -1) {
    if (lf === start || data[lf - 1] !== 0x0d) throw new HttpSyntaxError(400, `${what}: a bare LF line ending`);
    // data[lf - 2] is an LF only if it was the end of the previous line, itself checked to follow a CR.
    if (lf - 2 > start && data[lf - 2] === 0x0a) return lf + 1;
    lf = data.indexOf(0x0a, lf + 1);
  }
  return -1;
}
