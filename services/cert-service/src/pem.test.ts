import { parsePem } from './pem.js';

const body = 'TUlJQ2hhbmdlZA==';
const block = (label: string, content = body) => `-----BEGIN ${label}-----\n${content}\n-----END ${label}-----`;

describe('parsePem', () => {
  it('reads blocks with their labels, lines and the text around them ignored (openssl "Bag Attributes")', () => {
    const text = ['Bag Attributes', '    localKeyID: 01', block('CERTIFICATE'), '', 'subject=/CN=x', block('PRIVATE KEY')].join('\r\n');
    const { blocks, problems } = parsePem(text);
    expect(problems).toEqual([]);
    expect(blocks.map(({ index, label, firstLine, lastLine }) => ({ index, label, firstLine, lastLine }))).toEqual([
      { index: 1, label: 'CERTIFICATE', firstLine: 3, lastLine: 5 },
      { index: 2, label: 'PRIVATE KEY', firstLine: 8, lastLine: 10 },
    ]);
    expect(blocks[0]!.der).toEqual(Buffer.from(body, 'base64'));
  });

  it('keeps the headers of a legacy encrypted key', () => {
    const { blocks } = parsePem(block('RSA PRIVATE KEY', `Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233\n\n${body}`));
    expect(blocks[0]!.headers).toEqual({ 'Proc-Type': '4,ENCRYPTED', 'DEK-Info': 'AES-256-CBC,00112233' });
    expect(blocks[0]!.text).toContain('DEK-Info');
  });

  it.each([
    { desc: 'missing END', text: `${block('CERTIFICATE')}\n-----BEGIN CERTIFICATE-----\n${body}\n`, problems: ['line 4: block 2 (CERTIFICATE) has no END line'], blocks: 1 },
    {
      desc: 'BEGIN inside a block',
      text: `-----BEGIN CERTIFICATE-----\n${body}\n${block('CERTIFICATE')}`,
      problems: ['line 3: BEGIN CERTIFICATE inside block 1 (CERTIFICATE, starting at line 1): its END line is missing'],
      blocks: 1,
    },
    { desc: 'END without BEGIN', text: `${body}\n-----END CERTIFICATE-----`, problems: ['line 2: "-----END CERTIFICATE-----" without a BEGIN line before it'] },
    {
      desc: 'END of another label',
      text: `-----BEGIN CERTIFICATE-----\n${body}\n-----END PRIVATE KEY-----`,
      problems: ['line 3: END PRIVATE KEY closes the BEGIN CERTIFICATE of line 1 (block 1)'],
    },
    {
      desc: 'a line that is not base64',
      text: `${block('CERTIFICATE')}\n-----BEGIN CERTIFICATE-----\nMIIB*garbage*\n-----END CERTIFICATE-----`,
      problems: ['line 5: not base64, in block 2 (CERTIFICATE, starting at line 4)'],
      blocks: 1,
    },
    { desc: 'an empty block', text: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----', problems: ['block 1 (CERTIFICATE, lines 1-2): the block is empty'] },
    { desc: 'a mangled boundary', text: `-----BEGIN CERTIFICATE----\n${body}`, problems: ['line 1: malformed PEM boundary "-----BEGIN CERTIFICATE----"'] },
  ])('reports $desc by line and block', ({ text, problems, blocks = 0 }) => {
    const result = parsePem(text);
    expect(result.problems).toEqual(problems);
    expect(result.blocks).toHaveLength(blocks);
  });
});
