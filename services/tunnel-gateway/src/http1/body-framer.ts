import { isUntrustedForwardingField } from './forwarding-fields.js';
import type { BodyFraming } from './request-head.js';
import { HttpSyntaxError, isFieldValue, parseFieldLine } from './syntax.js';

export const chunkedLimits = {
  /** A chunk-size line with its extensions; longer ones are refused, not buffered. */
  maxSizeLineBytes: 4096,
  /** Hex digits in a chunk size: 12 is 256 TiB, and more is either an attack or padding nobody needs. */
  maxSizeDigits: 12,
  maxTrailerBytes: 16 * 1024,
};

type ChunkedState = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer';

/**
 * Finds where a message body ends, counting bytes rather than copying them:
 * the caller forwards the counted span as a slice of its own buffer. For a
 * chunked body only the chunk-size lines, the CRLF after each chunk and the
 * trailer are read; chunk data is skipped by length, so the work is per chunk,
 * never per byte. Chunked framing is checked strictly (RFC 9112 §7.1): a bad
 * size, a missing CRLF or a bare LF ends the message with an error.
 */
export class BodyFramer {
  /** Bytes left: of the body for a length, of the current chunk's data for chunked. */
  private remaining: number;
  private chunked: ChunkedState | null;
  /** The part of a size or trailer line that arrived so far. */
  private line = '';
  private trailerBytes = 0;
  private readonly untilClose: boolean;
  done: boolean;

  constructor(framing: BodyFraming) {
    this.remaining = framing.kind === 'length' ? framing.length : 0;
    this.chunked = framing.kind === 'chunked' ? 'size' : null;
    this.untilClose = framing.kind === 'until-close';
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
  }

  /** How many bytes of `data` from `offset` belong to the body; `done` tells whether it ended there. */
  take(data: Buffer, offset: number): number {
    if (this.done) return 0;
    if (this.untilClose) return data.length - offset;
    if (this.chunked === null) {
      const n = Math.min(this.remaining, data.length - offset);
      this.remaining -= n;
      this.done = this.remaining === 0;
      return n;
    }
    let at = offset;
    while (at < data.length && !this.done) {
      switch (this.chunked) {
        case 'data': {
          const n = Math.min(this.remaining, data.length - at);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.chunked = 'data-cr';
          break;
        }
        case 'data-cr':
        case 'data-lf': {
          const expected = this.chunked === 'data-cr' ? 0x0d : 0x0a;
          if (data[at] !== expected) throw new HttpSyntaxError(400, 'chunk data not followed by CRLF');
          at++;
          this.chunked = this.chunked === 'data-cr' ? 'data-lf' : 'size';
          break;
        }
        case 'size':
        case 'trailer': {
          const lineEnd = this.readLine(data, at);
          if (lineEnd === -1) return data.length - offset;
          at = lineEnd;
          if (this.chunked === 'size') this.onSizeLine();
          else this.onTrailerLine();
          this.line = '';
          break;
        }
      }
    }
    return at - offset;
  }

  /** Adds bytes up to the next LF to `line`; returns the index past the LF, or -1 when the line goes on. */
  private readLine(data: Buffer, at: number): number {
    const lf = data.indexOf(0x0a, at);
    const end = lf === -1 ? data.length : lf;
    this.line += data.toString('latin1', at, end);
    const limit = this.chunked === 'size' ? chunkedLimits.maxSizeLineBytes : chunkedLimits.maxTrailerBytes - this.trailerBytes;
    if (this.line.length > limit) throw new HttpSyntaxError(this.chunked === 'size' ? 400 : 431, this.chunked === 'size' ? 'chunk-size line too long' : 'trailer section too long');
    if (lf === -1) return -1;
    if (!this.line.endsWith('\r')) throw new HttpSyntaxError(400, 'a bare LF line ending in chunked framing');
    this.line = this.line.slice(0, -1);
    return lf + 1;
  }

  private onSizeLine(): void {
    const line = this.line;
    let digits = 0;
    while (digits < line.length && isHexDigit(line.charCodeAt(digits))) digits++;
    if (digits === 0) throw new HttpSyntaxError(400, `invalid chunk size ${JSON.stringify(line.slice(0, 40))}`);
    if (digits > chunkedLimits.maxSizeDigits) throw new HttpSyntaxError(400, 'chunk size too long');
    const extension = line.slice(digits);
    // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): after the size only whitespace then ";" may follow.
    if (extension.length > 0 && (!/^[ \t]*;/.test(extension) || !isFieldValue(extension))) {
      throw new HttpSyntaxError(400, `invalid chunk size ${JSON.stringify(line.slice(0, 40))}`);
    }
    const size = parseInt(line.slice(0, digits), 16);
    if (size === 0) {
      this.chunked = 'trailer';
    } else {
      this.remaining = size;
      this.chunked = 'data';
    }
  }

  private onTrailerLine(): void {
    if (this.line.length === 0) {
      this.done = true;
      return;
    }
    this.trailerBytes += this.line.length + 2;
    const field = parseFieldLine(this.line, 'trailer');
    // Trailers reach the application too (Node's req.trailers): no claim about the client's address there either.
    if (isUntrustedForwardingField(field.key)) throw new HttpSyntaxError(400, `forwarding field ${field.name} in a trailer`);
  }
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
