import { BodyFramer } from './body-framer.js';
import type { BodyFraming } from './request-head.js';
import { HttpSyntaxError } from './syntax.js';

/** Feeds `pieces` to a framer; returns how many bytes it claimed and whether it ended, or the error it threw. */
function frame(framing: BodyFraming, pieces: Buffer[]): { taken: number; done: boolean } | { status: number; message: string } {
  const framer = new BodyFramer(framing);
  let taken = 0;
  try {
    for (const piece of pieces) {
      const n = framer.take(piece, 0);
      taken += n;
      if (framer.done) break;
      expect(n).toBe(piece.length);
    }
  } catch (error) {
    if (!(error instanceof HttpSyntaxError)) throw error;
    return { status: error.status, message: error.message };
  }
  return { taken, done: framer.done };
}

/** Every way of cutting `bytes` in two, plus byte by byte. */
function splits(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes]];
  for (let cut = 1; cut < bytes.length; cut++) ways.push([bytes.subarray(0, cut), bytes.subarray(cut)]);
  ways.push([...bytes].map((byte) => Buffer.from([byte])));
  return ways;
}

const chunked: BodyFraming = { kind: 'chunked' };
const after = 'GET /next HTTP/1.1\r\n';

describe('BodyFramer delimits', () => {
  it.each([
    { desc: 'a length body followed by the next request', framing: { kind: 'length', length: 5 } as BodyFraming, body: 'hello', rest: after },
    { desc: 'a chunked body', framing: chunked, body: '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', rest: after },
    { desc: 'upper- and lower-case hex sizes', framing: chunked, body: 'A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n', rest: '' },
    { desc: 'chunk extensions', framing: chunked, body: '5;name=value\r\nhello\r\n0 ; last\r\n\r\n', rest: after },
    { desc: 'a trailer section', framing: chunked, body: '1\r\nx\r\n0\r\nChecksum: abc\r\nX-B: 1\r\n\r\n', rest: after },
    { desc: 'a zero-length chunked body', framing: chunked, body: '0\r\n\r\n', rest: after },
    { desc: 'leading zeros within the digit limit', framing: chunked, body: '000000000001\r\nx\r\n0\r\n\r\n', rest: '' },
  ])('$desc, split at every offset', ({ framing, body, rest }) => {
    const bytes = Buffer.from(body + rest, 'latin1');
    for (const pieces of splits(bytes)) {
      expect(frame(framing, pieces)).toEqual({ taken: body.length, done: true });
    }
  });

  it('counts a length body it does not see the end of', () => {
    const framer = new BodyFramer({ kind: 'length', length: 10 });
    expect(framer.take(Buffer.from('abcd'), 0)).toBe(4);
    expect(framer.take(Buffer.from('xxabcdef'), 2)).toBe(6);
    expect(framer.done).toBe(true);
  });

  it('takes everything until close, and never ends by itself', () => {
    const framer = new BodyFramer({ kind: 'until-close' });
    expect(framer.take(Buffer.from('0\r\n\r\nanything'), 0)).toBe(13);
    expect(framer.done).toBe(false);
  });

  it('is done at once without a body', () => {
    expect(new BodyFramer({ kind: 'none' }).done).toBe(true);
    expect(new BodyFramer({ kind: 'length', length: 0 }).done).toBe(true);
  });
});

describe('BodyFramer refuses chunked framing', () => {
  it.each([
    { desc: 'a size that is not hex', body: 'g\r\n', message: /invalid chunk size/ },
    { desc: 'an empty size line', body: '\r\n', message: /invalid chunk size/ },
    { desc: 'a signed size', body: '+5\r\nhello\r\n', message: /invalid chunk size/ },
    { desc: 'a 0x prefix', body: '0x5\r\nhello\r\n', message: /invalid chunk size/ },
    { desc: 'whitespace before the size', body: ' 5\r\nhello\r\n', message: /invalid chunk size/ },
    { desc: 'junk after the size', body: '5 x\r\nhello\r\n', message: /invalid chunk size/ },
    { desc: 'an absurdly long size', body: '0000000000005\r\nhello\r\n', message: /chunk size too long/ },
    { desc: 'a size beyond 48 bits', body: 'ffffffffffffffff\r\n', message: /chunk size too long/ },
    { desc: 'a bare LF after the size', body: '5\nhello\r\n', message: /bare LF/ },
    { desc: 'a CR inside the size line', body: '5\r;a\r\nhello\r\n', message: /invalid chunk size/ },
    { desc: 'a NUL in an extension', body: '5;a\0\r\nhello\r\n', message: /invalid chunk size/ },
    { desc: 'data longer than its size', body: '5\r\nhello!\r\n', message: /not followed by CRLF/ },
    { desc: 'a bare LF after the data', body: '5\r\nhello\n0\r\n\r\n', message: /not followed by CRLF/ },
    { desc: 'a bare LF ending the trailer', body: '0\r\nX: y\n\n', message: /bare LF/ },
    { desc: 'obs-fold in the trailer', body: '0\r\nX: y\r\n z\r\n\r\n', message: /obs-fold/ },
    { desc: 'a forwarding field in the trailer', body: '0\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n', message: /forwarding field X-Forwarded-For in a trailer/ },
    { desc: 'an underscore forwarding field in the trailer', body: '0\r\nx_real_ip: 6.6.6.6\r\n\r\n', message: /forwarding field x_real_ip in a trailer/ },
    { desc: 'a size line over the limit', body: `5;${'e'.repeat(5000)}\r\n`, message: /chunk-size line too long/ },
  ])('$desc', ({ body, message }) => {
    for (const pieces of splits(Buffer.from(body, 'latin1')).slice(0, 40)) {
      expect(frame(chunked, pieces)).toEqual({ status: 400, message: expect.stringMatching(message) });
    }
  });

  it('refuses a trailer section over the limit with 431', () => {
    const trailer = Array.from({ length: 400 }, (_, i) => `X-Trailer-${i}: ${'v'.repeat(40)}\r\n`).join('');
    expect(frame(chunked, [Buffer.from(`0\r\n${trailer}\r\n`)])).toEqual({ status: 431, message: 'trailer section too long' });
  });
});
