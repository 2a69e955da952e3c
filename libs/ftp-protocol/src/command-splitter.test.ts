import { CommandSplitter, formatCommandForLog, type SplitResult } from './command-splitter.js';

const IAC = '\xff';
const IP = '\xf4';
const DM = '\xf2';
const WILL = '\xfb';
const WONT = '\xfc';
const DO = '\xfd';
const DONT = '\xfe';
const NOP = '\xf1';

type Summary = { verb: string; argument: string; raw: string } | { tooLong: number };

const summarize = (result: SplitResult): Summary =>
  result.kind === 'command'
    ? { verb: result.command.verb, argument: result.command.argument, raw: result.command.raw.toString('latin1') }
    : { tooLong: result.maxLength };

function split(input: string | Buffer, chunkSize = Infinity, maxLineLength = 512): Summary[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const splitter = new CommandSplitter(maxLineLength);
  const results: SplitResult[] = [];
  const step = Math.min(chunkSize, bytes.length || 1);
  for (let i = 0; i < bytes.length; i += step) results.push(...splitter.push(bytes.subarray(i, i + step)));
  return results.map(summarize);
}

describe('CommandSplitter', () => {
  it.each([
    { desc: 'CRLF line', input: 'USER alice\r\n', expected: [{ verb: 'USER', argument: 'alice', raw: 'USER alice\r\n' }] },
    { desc: 'bare LF normalised to CRLF', input: 'USER alice\n', expected: [{ verb: 'USER', argument: 'alice', raw: 'USER alice\r\n' }] },
    { desc: 'lower-case verb, raw keeps the original', input: 'retr a.txt\r\n', expected: [{ verb: 'RETR', argument: 'a.txt', raw: 'retr a.txt\r\n' }] },
    { desc: 'verb without argument', input: 'PWD\r\n', expected: [{ verb: 'PWD', argument: '', raw: 'PWD\r\n' }] },
    { desc: 'verb followed by a single space', input: 'NOOP \r\n', expected: [{ verb: 'NOOP', argument: '', raw: 'NOOP \r\n' }] },
    {
      desc: 'only the first space after the verb is removed',
      input: 'CWD  leading space\r\n',
      expected: [{ verb: 'CWD', argument: ' leading space', raw: 'CWD  leading space\r\n' }],
    },
    {
      desc: 'trailing spaces are part of the argument',
      input: 'STOR name \r\n',
      expected: [{ verb: 'STOR', argument: 'name ', raw: 'STOR name \r\n' }],
    },
    {
      desc: 'several trailing CRs are removed',
      input: 'PWD\r\r\n',
      expected: [{ verb: 'PWD', argument: '', raw: 'PWD\r\n' }],
    },
    {
      desc: 'a CR inside the line is kept',
      input: 'STOR a\rb\r\n',
      expected: [{ verb: 'STOR', argument: 'a\rb', raw: 'STOR a\rb\r\n' }],
    },
    {
      desc: 'several commands in one chunk',
      input: 'USER a\r\nPASS b\nSYST\r\n',
      expected: [
        { verb: 'USER', argument: 'a', raw: 'USER a\r\n' },
        { verb: 'PASS', argument: 'b', raw: 'PASS b\r\n' },
        { verb: 'SYST', argument: '', raw: 'SYST\r\n' },
      ],
    },
    { desc: 'empty lines are ignored', input: '\r\n\n\r\r\nPWD\r\n\r\n', expected: [{ verb: 'PWD', argument: '', raw: 'PWD\r\n' }] },
    { desc: 'an unterminated line yields nothing', input: 'USER alice', expected: [] },
    {
      desc: 'only ASCII letters of the verb are upper-cased',
      input: 'site chmod 644 f\r\n',
      expected: [{ verb: 'SITE', argument: 'chmod 644 f', raw: 'site chmod 644 f\r\n' }],
    },
    {
      desc: 'IAC IP IAC DM before ABOR (RFC 959 §4.1.3)',
      input: `${IAC}${IP}${IAC}${DM}ABOR\r\n`,
      expected: [{ verb: 'ABOR', argument: '', raw: 'ABOR\r\n' }],
    },
    {
      desc: 'IAC WILL/WONT/DO/DONT with their option byte',
      input: `${IAC}${WILL}\x01${IAC}${WONT}\x03N${IAC}${DO}\x18OOP${IAC}${DONT}\x1f\r\n`,
      expected: [{ verb: 'NOOP', argument: '', raw: 'NOOP\r\n' }],
    },
    {
      desc: 'an option byte that looks like LF is still part of the sequence',
      input: `${IAC}${DO}\nPWD\r\n`,
      expected: [{ verb: 'PWD', argument: '', raw: 'PWD\r\n' }],
    },
    {
      desc: 'IAC with any other byte is two bytes',
      input: `${IAC}${NOP}PW${IAC}\x00D\r\n`,
      expected: [{ verb: 'PWD', argument: '', raw: 'PWD\r\n' }],
    },
    {
      desc: 'IAC IAC is a data byte, kept escaped in raw',
      input: `RETR caf${IAC}${IAC}\r\n`,
      expected: [{ verb: 'RETR', argument: 'caf\ufffd', raw: `RETR caf${IAC}${IAC}\r\n` }],
    },
    {
      desc: 'a line made only of Telnet sequences is empty',
      input: `${IAC}${IP}${IAC}${DM}\r\nABOR\r\n`,
      expected: [{ verb: 'ABOR', argument: '', raw: 'ABOR\r\n' }],
    },
    {
      desc: 'a line that starts with a space has an empty verb',
      input: ' PWD\r\n',
      expected: [{ verb: '', argument: 'PWD', raw: ' PWD\r\n' }],
    },
  ])('splits $desc', ({ input, expected }) => {
    expect(split(input)).toEqual(expected);
  });

  const session =
    `USER alice\r\nPASS s3cret\nCWD /données\r\nPASV\r\nRETR f${IAC}${IAC}.bin\r\n` +
    `${IAC}${IP}${IAC}${DM}ABOR\r\n${IAC}${DO}\x01QUIT\r\n`;

  it.each([
    { desc: 'byte by byte', chunkSize: 1 },
    { desc: 'two bytes at a time (splits every IAC pair)', chunkSize: 2 },
    { desc: 'three bytes at a time', chunkSize: 3 },
    { desc: 'five bytes at a time', chunkSize: 5 },
  ])('gives the same commands when fed $desc', ({ chunkSize }) => {
    const whole = split(Buffer.from(session, 'latin1'));
    expect(whole.map((r) => ('verb' in r ? r.verb : r))).toEqual(['USER', 'PASS', 'CWD', 'PASV', 'RETR', 'ABOR', 'QUIT']);
    expect(split(Buffer.from(session, 'latin1'), chunkSize)).toEqual(whole);
  });

  it('relays non-UTF-8 path bytes unchanged and decodes UTF-8 ones', () => {
    const latin1Path = Buffer.concat([Buffer.from('RETR caf'), Buffer.from([0xe9]), Buffer.from('.txt\r\n')]);
    const utf8Path = Buffer.from('RETR café.txt\r\n', 'utf8');
    const splitter = new CommandSplitter(512);
    const [latin1, utf8] = splitter.push(Buffer.concat([latin1Path, utf8Path]));
    expect(latin1?.kind === 'command' && latin1.command.raw.equals(latin1Path)).toBe(true);
    expect(utf8?.kind === 'command' && utf8.command.raw.equals(utf8Path)).toBe(true);
    expect(utf8?.kind === 'command' && utf8.command.argument).toBe('café.txt');
  });

  it.each([
    { desc: 'exactly the limit with CRLF', input: 'STOR 12345\r\n', expected: [{ verb: 'STOR', argument: '12345', raw: 'STOR 12345\r\n' }] },
    { desc: 'exactly the limit with LF', input: 'STOR 12345\n', expected: [{ verb: 'STOR', argument: '12345', raw: 'STOR 12345\r\n' }] },
    { desc: 'exactly the limit with extra CRs', input: 'STOR 12345\r\r\n', expected: [{ verb: 'STOR', argument: '12345', raw: 'STOR 12345\r\n' }] },
    { desc: 'one byte over the limit', input: 'STOR 123456\r\nPWD\r\n', expected: [{ tooLong: 10 }, { verb: 'PWD', argument: '', raw: 'PWD\r\n' }] },
    { desc: 'a CR then data past the limit', input: 'STOR 12345\rX\r\nPWD\r\n', expected: [{ tooLong: 10 }, { verb: 'PWD', argument: '', raw: 'PWD\r\n' }] },
    { desc: 'far over the limit reports once', input: `STOR ${'x'.repeat(100)}\r\nPWD\r\n`, expected: [{ tooLong: 10 }, { verb: 'PWD', argument: '', raw: 'PWD\r\n' }] },
    { desc: 'too long before it ends', input: `STOR ${'x'.repeat(100)}`, expected: [{ tooLong: 10 }] },
    { desc: 'an escaped IAC counts as two bytes', input: `STOR 1234${IAC}${IAC}\r\n`, expected: [{ tooLong: 10 }] },
    { desc: 'Telnet sequences do not count', input: `${IAC}${IP}${IAC}${DM}STOR 12345\r\n`, expected: [{ verb: 'STOR', argument: '12345', raw: 'STOR 12345\r\n' }] },
    {
      desc: 'two long lines in a row',
      input: `${'a'.repeat(20)}\n${'b'.repeat(20)}\nPWD\n`,
      expected: [{ tooLong: 10 }, { tooLong: 10 }, { verb: 'PWD', argument: '', raw: 'PWD\r\n' }],
    },
  ])('limits line length: $desc', ({ input, expected }) => {
    expect(split(input, Infinity, 10)).toEqual(expected);
    expect(split(input, 1, 10)).toEqual(expected);
  });

  it('stays bounded on a line that never ends and recovers after its LF', () => {
    const splitter = new CommandSplitter(64);
    const megabyte = Buffer.alloc(1024 * 1024, 0x61);
    const results: SplitResult[] = [];
    for (let i = 0; i < 20; i++) results.push(...splitter.push(megabyte));
    expect(results).toEqual([{ kind: 'too-long', maxLength: 64 }]);
    expect(splitter.push(Buffer.from('aaa\r\nPWD\r\n')).map(summarize)).toEqual([{ verb: 'PWD', argument: '', raw: 'PWD\r\n' }]);
  });

  it.each([
    { desc: 'zero', max: 0 },
    { desc: 'negative', max: -5 },
    { desc: 'fractional', max: 10.5 },
  ])('refuses a $desc maxLineLength', ({ max }) => {
    expect(() => new CommandSplitter(max)).toThrow(RangeError);
  });
});

describe('formatCommandForLog', () => {
  const command = (verb: string, argument: string) => ({ verb, argument, raw: Buffer.from(`${verb} ${argument}\r\n`) });

  it.each([
    { desc: 'PASS hides the password', verb: 'PASS', argument: 'hunter2', expected: 'PASS ****' },
    { desc: 'PASS hides even an empty password', verb: 'PASS', argument: '', expected: 'PASS ****' },
    { desc: 'ACCT hides the account', verb: 'ACCT', argument: 'billing', expected: 'ACCT ****' },
    { desc: 'USER shows the name', verb: 'USER', argument: 'alice', expected: 'USER alice' },
    { desc: 'RETR shows the path', verb: 'RETR', argument: '/a b/c.txt', expected: 'RETR /a b/c.txt' },
    { desc: 'a verb without argument', verb: 'PWD', argument: '', expected: 'PWD' },
  ])('$desc', ({ verb, argument, expected }) => {
    expect(formatCommandForLog(command(verb, argument))).toBe(expected);
  });

  it('hides the password of a lower-case pass command, whose verb the splitter upper-cases', () => {
    const [result] = new CommandSplitter(512).push(Buffer.from('pass hunter2\r\n'));
    expect(result?.kind === 'command' && formatCommandForLog(result.command)).toBe('PASS ****');
  });
});
