import { FtpProtocolError, quoteLine } from './errors.js';

describe('FtpProtocolError', () => {
  it('carries a stable code and is an Error', () => {
    const error = new FtpProtocolError('BAD_REPLY', 'bad');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'FtpProtocolError', code: 'BAD_REPLY', message: 'bad' });
  });
});

describe('quoteLine', () => {
  it.each([
    { desc: 'plain text', line: 'hello', expected: '"hello"' },
    { desc: 'control characters made visible', line: 'a\r\nb\u0000', expected: '"a\\r\\nb\\u0000"' },
    { desc: 'a buffer', line: Buffer.from('227 x'), expected: '"227 x"' },
    { desc: 'exactly 100 characters', line: 'x'.repeat(100), expected: `"${'x'.repeat(100)}"` },
    { desc: 'over 100 characters', line: 'x'.repeat(101), expected: `"${'x'.repeat(100)}"...` },
  ])('quotes $desc', ({ line, expected }) => {
    expect(quoteLine(line)).toBe(expected);
  });
});
