import { classifyCommand, formatReply } from './commands.js';
import { ReplyParser } from './reply-parser.js';

describe('classifyCommand', () => {
  it.each([
    ...['RETR', 'LIST', 'NLST', 'MLSD'].map((verb) => ({ desc: verb, verb, kind: 'download' })),
    ...['STOR', 'STOU', 'APPE'].map((verb) => ({ desc: verb, verb, kind: 'upload' })),
    ...['PASV', 'EPSV'].map((verb) => ({ desc: verb, verb, kind: 'passive' })),
    ...['PORT', 'EPRT', 'LPRT', 'LPSV', 'SPSV'].map((verb) => ({ desc: verb, verb, kind: 'active' })),
    ...['AUTH', 'PBSZ', 'PROT', 'CCC', 'ADAT', 'MIC', 'CONF', 'ENC'].map((verb) => ({ desc: verb, verb, kind: 'tls' })),
    { desc: 'ABOR', verb: 'ABOR', kind: 'abort' },
    { desc: 'FEAT', verb: 'FEAT', kind: 'feat' },
    { desc: 'QUIT', verb: 'QUIT', kind: 'quit' },
    { desc: 'lower case', verb: 'retr', kind: 'download' },
    { desc: 'USER', verb: 'USER', kind: 'other' },
    { desc: 'MLST (control channel only)', verb: 'MLST', kind: 'other' },
    { desc: 'SIZE', verb: 'SIZE', kind: 'other' },
    { desc: 'empty verb', verb: '', kind: 'other' },
    { desc: 'prefix of a known verb', verb: 'RET', kind: 'other' },
    { desc: 'object prototype name', verb: 'constructor', kind: 'other' },
  ])('classifies $desc', ({ verb, kind }) => {
    expect(classifyCommand(verb)).toBe(kind);
  });
});

describe('formatReply', () => {
  it.each([
    { desc: 'one line', code: 200, text: 'OK', expected: '200 OK\r\n' },
    { desc: 'one line in an array', code: 530, text: ['Not logged in'], expected: '530 Not logged in\r\n' },
    { desc: 'empty text', code: 226, text: '', expected: '226 \r\n' },
    { desc: 'empty array', code: 226, text: [], expected: '226 \r\n' },
    { desc: 'two lines', code: 230, text: ['Welcome', 'Logged in'], expected: '230-Welcome\r\n230 Logged in\r\n' },
    {
      desc: 'middle lines starting with a digit are padded',
      code: 211,
      text: ['Status', '226 not final', '9', 'plain', ' spaced', '', 'End'],
      expected: '211-Status\r\n 226 not final\r\n 9\r\nplain\r\n spaced\r\n\r\n211 End\r\n',
    },
    {
      desc: 'a string with LF becomes a multi-line reply',
      code: 220,
      text: 'Hello\nWorld',
      expected: '220-Hello\r\n220 World\r\n',
    },
    {
      desc: 'CRLF and bare CR inside text are line breaks too',
      code: 214,
      text: ['a\r\nb', 'c\rd'],
      expected: '214-a\r\nb\r\nc\r\n214 d\r\n',
    },
    {
      desc: 'an injected reply cannot pass for a final line',
      code: 250,
      text: 'done\r\n226 fake\r\nreal end',
      expected: '250-done\r\n 226 fake\r\n250 real end\r\n',
    },
  ])('formats $desc', ({ code, text, expected }) => {
    expect(formatReply(code, text)).toBe(expected);
  });

  it.each([
    { desc: 'below 100', code: 99 },
    { desc: 'above 699', code: 700 },
    { desc: 'fractional', code: 200.5 },
    { desc: 'NaN', code: Number.NaN },
  ])('refuses a code $desc', ({ code }) => {
    expect(() => formatReply(code, 'x')).toThrow(expect.objectContaining({ code: 'BAD_REPLY_CODE' }));
  });

  it.each([
    { desc: 'single line', text: 'OK' },
    { desc: 'several lines with digits', text: ['a', '200 b', '200-c', 'd'] },
  ])('round-trips through the parser: $desc', ({ text }) => {
    const formatted = formatReply(200, text);
    const replies = new ReplyParser().push(Buffer.from(formatted));
    expect(replies).toHaveLength(1);
    expect(replies[0]?.raw.toString()).toBe(formatted);
  });
});
