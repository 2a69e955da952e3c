import { FtpProtocolError } from './errors.js';
import { isFinal, isPositiveCompletion, isPreliminary, ReplyParser, type FtpReply } from './reply-parser.js';

const summary = (reply: FtpReply) => ({
  code: reply.code,
  raw: reply.raw.toString('latin1'),
  lines: reply.lines,
  text: reply.text,
  multiline: reply.multiline,
});

function parseAll(input: string | Buffer, chunkSize = Infinity, options?: { maxReplyBytes?: number }): FtpReply[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const parser = new ReplyParser(options);
  const replies: FtpReply[] = [];
  const step = Math.min(chunkSize, bytes.length || 1);
  for (let i = 0; i < bytes.length; i += step) replies.push(...parser.push(bytes.subarray(i, i + step)));
  return replies;
}

describe('ReplyParser', () => {
  it.each([
    {
      desc: 'single line with CRLF',
      input: '220 Welcome\r\n',
      expected: [{ code: 220, raw: '220 Welcome\r\n', lines: ['220 Welcome'], text: 'Welcome', multiline: false }],
    },
    {
      desc: 'single line with bare LF',
      input: '200 OK\n',
      expected: [{ code: 200, raw: '200 OK\n', lines: ['200 OK'], text: 'OK', multiline: false }],
    },
    {
      desc: 'bare code without text',
      input: '226\r\n',
      expected: [{ code: 226, raw: '226\r\n', lines: ['226'], text: '', multiline: false }],
    },
    {
      desc: 'code followed by a space and nothing else',
      input: '226 \r\n',
      expected: [{ code: 226, raw: '226 \r\n', lines: ['226 '], text: '', multiline: false }],
    },
    {
      desc: 'two replies in one chunk',
      input: '150 Opening\r\n226 Done\r\n',
      expected: [
        { code: 150, raw: '150 Opening\r\n', lines: ['150 Opening'], text: 'Opening', multiline: false },
        { code: 226, raw: '226 Done\r\n', lines: ['226 Done'], text: 'Done', multiline: false },
      ],
    },
    {
      desc: 'multi-line reply',
      input: '230-Welcome\r\n to the server\r\n230 Logged in\r\n',
      expected: [
        {
          code: 230,
          raw: '230-Welcome\r\n to the server\r\n230 Logged in\r\n',
          lines: ['230-Welcome', ' to the server', '230 Logged in'],
          text: 'Welcome\n to the server\nLogged in',
          multiline: true,
        },
      ],
    },
    {
      desc: 'multi-line with inner lines that start with other codes, the same code plus "-", and nothing',
      input: '211-Status\r\n226 not the end\r\n211-still going\r\n\r\n2110 nope\r\n211 End\r\n',
      expected: [
        {
          code: 211,
          raw: '211-Status\r\n226 not the end\r\n211-still going\r\n\r\n2110 nope\r\n211 End\r\n',
          lines: ['211-Status', '226 not the end', '211-still going', '', '2110 nope', '211 End'],
          text: 'Status\n226 not the end\n211-still going\n\n2110 nope\nEnd',
          multiline: true,
        },
      ],
    },
    {
      desc: 'multi-line ended by the bare code',
      input: '211-Features:\r\n MDTM\r\n211\r\n',
      expected: [
        {
          code: 211,
          raw: '211-Features:\r\n MDTM\r\n211\r\n',
          lines: ['211-Features:', ' MDTM', '211'],
          text: 'Features:\n MDTM\n',
          multiline: true,
        },
      ],
    },
    {
      desc: 'mixed CRLF and bare LF keep their original endings in raw',
      input: '220-a\n b\r\n220 c\n',
      expected: [{ code: 220, raw: '220-a\n b\r\n220 c\n', lines: ['220-a', ' b', '220 c'], text: 'a\n b\nc', multiline: true }],
    },
    {
      desc: 'CR inside a line is kept in the line',
      input: '200 a\rb\r\n',
      expected: [{ code: 200, raw: '200 a\rb\r\n', lines: ['200 a\rb'], text: 'a\rb', multiline: false }],
    },
    {
      desc: 'RFC 2228 protected reply code',
      input: '631 base64data\r\n',
      expected: [{ code: 631, raw: '631 base64data\r\n', lines: ['631 base64data'], text: 'base64data', multiline: false }],
    },
    {
      desc: 'preliminary then final multi-line',
      input: '150 Here it comes\r\n226-Transfer complete\r\n226 Bye\r\n',
      expected: [
        { code: 150, raw: '150 Here it comes\r\n', lines: ['150 Here it comes'], text: 'Here it comes', multiline: false },
        {
          code: 226,
          raw: '226-Transfer complete\r\n226 Bye\r\n',
          lines: ['226-Transfer complete', '226 Bye'],
          text: 'Transfer complete\nBye',
          multiline: true,
        },
      ],
    },
    { desc: 'incomplete line yields nothing', input: '220 Welc', expected: [] },
    { desc: 'unterminated multi-line yields nothing', input: '220-a\r\n b\r\n', expected: [] },
    { desc: 'empty input', input: '', expected: [] },
  ])('parses $desc', ({ input, expected }) => {
    expect(parseAll(input).map(summary)).toEqual(expected);
  });

  const stream =
    '220-Hello\r\n there\r\n220 Ready\r\n331 Password\n230 OK\r\n211-Features:\r\n MDTM\r\n UTF8\r\n211 End\r\n' +
    '227 Entering Passive Mode (127,0,0,1,4,1).\r\n150 Open\r\n226 Done\r\n';

  it.each([
    { desc: 'byte by byte', chunkSize: 1 },
    { desc: 'two bytes at a time', chunkSize: 2 },
    { desc: 'seven bytes at a time (splits CR from LF)', chunkSize: 7 },
    { desc: 'thirteen bytes at a time', chunkSize: 13 },
  ])('gives the same replies when fed $desc', ({ chunkSize }) => {
    const whole = parseAll(stream).map(summary);
    expect(whole).toHaveLength(7);
    expect(parseAll(stream, chunkSize).map(summary)).toEqual(whole);
  });

  it('returns each reply as soon as its last line is complete', () => {
    const parser = new ReplyParser();
    expect(parser.push(Buffer.from('230-a\r\n'))).toEqual([]);
    expect(parser.push(Buffer.from('230 b\r'))).toEqual([]);
    const [reply] = parser.push(Buffer.from('\n220 n'));
    expect(reply?.text).toBe('a\nb');
    expect(parser.push(Buffer.from('ext\r\n')).map((r) => r.text)).toEqual(['next']);
  });

  it('relays non-UTF-8 bytes unchanged in raw', () => {
    const bytes = Buffer.concat([Buffer.from('550 '), Buffer.from([0xe9, 0xff, 0x80]), Buffer.from(': no such file\r\n')]);
    const [reply] = new ReplyParser().push(bytes);
    expect(reply?.raw.equals(bytes)).toBe(true);
    expect(reply?.code).toBe(550);
    expect(reply?.text).toBe('\ufffd\ufffd\ufffd: no such file');
  });

  it('decodes UTF-8 paths in lines and text', () => {
    const [reply] = new ReplyParser().push(Buffer.from('257 "/données/日本" created\r\n', 'utf8'));
    expect(reply?.text).toBe('"/données/日本" created');
  });

  it('does not share raw with the caller\'s chunk', () => {
    const chunk = Buffer.from('200 OK\r\n');
    const [reply] = new ReplyParser().push(chunk);
    chunk.fill(0x41);
    expect(reply?.raw.toString()).toBe('200 OK\r\n');
  });

  it.each([
    { desc: 'text without a code', input: 'hello\r\n', quoted: '"hello"' },
    { desc: 'two digits', input: '22 x\r\n', quoted: '"22 x"' },
    { desc: 'four digits', input: '2200 x\r\n', quoted: '"2200 x"' },
    { desc: 'code glued to text', input: '220Welcome\r\n', quoted: '"220Welcome"' },
    { desc: 'empty line', input: '\r\n', quoted: '""' },
    { desc: 'leading space', input: ' 220 x\r\n', quoted: '" 220 x"' },
    { desc: 'code out of range', input: '720 x\r\n', quoted: '"720 x"' },
    { desc: 'garbage after a complete reply', input: '200 OK\r\nHTTP/1.1 400\r\n', quoted: '"HTTP/1.1 400"' },
  ])('rejects $desc as BAD_REPLY quoting the line', ({ input, quoted }) => {
    const parser = new ReplyParser();
    let error: unknown;
    try {
      parser.push(Buffer.from(input));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FtpProtocolError);
    expect(error).toMatchObject({ code: 'BAD_REPLY' });
    expect((error as Error).message).toContain(quoted);
  });

  it('truncates a long bad line to 100 characters in the error', () => {
    const line = 'x'.repeat(5000);
    expect(() => new ReplyParser().push(Buffer.from(`${line}\r\n`))).toThrow(`"${'x'.repeat(100)}"...`);
  });

  it.each([
    { desc: 'a line that never ends', input: `220 ${'a'.repeat(200)}`, chunkSize: 1 },
    { desc: 'a line that never ends, in one chunk', input: `220 ${'a'.repeat(200)}`, chunkSize: Infinity },
    { desc: 'a multi-line reply that never ends', input: `220-a\r\n${' line\r\n'.repeat(40)}`, chunkSize: 5 },
    { desc: 'a complete multi-line reply larger than the limit', input: `220-a\r\n${' line\r\n'.repeat(40)}220 end\r\n`, chunkSize: Infinity },
    { desc: 'a complete single line larger than the limit', input: `220 ${'a'.repeat(200)}\r\n`, chunkSize: Infinity },
  ])('throws REPLY_TOO_LONG on $desc', ({ input, chunkSize }) => {
    expect(() => parseAll(input, chunkSize, { maxReplyBytes: 100 })).toThrow(
      expect.objectContaining({ code: 'REPLY_TOO_LONG' }),
    );
  });

  it.each([
    { desc: 'reply of exactly the limit', input: `200 ${'a'.repeat(94)}\r\n`, replies: 1 },
    { desc: 'many small replies whose total exceeds the limit', input: '200 OK\r\n'.repeat(50), replies: 50 },
  ])('accepts $desc', ({ input, replies }) => {
    expect(parseAll(input, Infinity, { maxReplyBytes: 100 })).toHaveLength(replies);
    expect(parseAll(input, 1, { maxReplyBytes: 100 })).toHaveLength(replies);
  });

  it('defaults to a 1 MiB limit', () => {
    const parser = new ReplyParser();
    expect(parser.push(Buffer.alloc(1024 * 1024, 0x61))).toEqual([]);
    expect(() => parser.push(Buffer.from('a'))).toThrow(expect.objectContaining({ code: 'REPLY_TOO_LONG' }));
  });

  it.each([
    { desc: 'zero', maxReplyBytes: 0 },
    { desc: 'negative', maxReplyBytes: -1 },
    { desc: 'fractional', maxReplyBytes: 1.5 },
  ])('refuses a $desc maxReplyBytes', ({ maxReplyBytes }) => {
    expect(() => new ReplyParser({ maxReplyBytes })).toThrow(RangeError);
  });
});

describe('reply code classes', () => {
  it.each([
    { desc: '100', code: 100, preliminary: true, final: false, positive: false },
    { desc: '150', code: 150, preliminary: true, final: false, positive: false },
    { desc: '199', code: 199, preliminary: true, final: false, positive: false },
    { desc: '200', code: 200, preliminary: false, final: true, positive: true },
    { desc: '226', code: 226, preliminary: false, final: true, positive: true },
    { desc: '299', code: 299, preliminary: false, final: true, positive: true },
    { desc: '331', code: 331, preliminary: false, final: true, positive: false },
    { desc: '425', code: 425, preliminary: false, final: true, positive: false },
    { desc: '550', code: 550, preliminary: false, final: true, positive: false },
    { desc: '631', code: 631, preliminary: false, final: true, positive: false },
  ])('classifies $desc', ({ code, preliminary, final, positive }) => {
    expect(isPreliminary(code)).toBe(preliminary);
    expect(isFinal(code)).toBe(final);
    expect(isPositiveCompletion(code)).toBe(positive);
  });
});
