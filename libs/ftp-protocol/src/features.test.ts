import { rewriteFeatReply } from './features.js';
import { ReplyParser, type FtpReply } from './reply-parser.js';

const reply = (text: string): FtpReply => {
  const [parsed] = new ReplyParser().push(Buffer.from(text, 'utf8'));
  if (!parsed) throw new Error(`incomplete reply: ${text}`);
  return parsed;
};

const feat = (...features: string[]) => reply(`211-Features:\r\n${features.map((f) => `${f}\r\n`).join('')}211 End\r\n`);

const expected = (...features: string[]) => `211-Features:\r\n${features.map((f) => `${f}\r\n`).join('')}211 End\r\n`;

describe('rewriteFeatReply', () => {
  it.each([
    { desc: 'no FEAT support upstream', upstream: null, result: expected(' PBSZ', ' PROT') },
    { desc: 'a 5xx reply passed by mistake', upstream: reply('502 Command not implemented\r\n'), result: expected(' PBSZ', ' PROT') },
    { desc: 'a single-line 211 without features', upstream: reply('211 No features\r\n'), result: expected(' PBSZ', ' PROT') },
    {
      desc: 'a typical plain server keeps every feature in order',
      upstream: feat(' EPSV', ' PASV', ' MDTM', ' SIZE', ' REST STREAM', ' MLST type*;size*;modify*;', ' UTF8', ' TVFS'),
      result: expected(' EPSV', ' PASV', ' MDTM', ' SIZE', ' REST STREAM', ' MLST type*;size*;modify*;', ' UTF8', ' TVFS', ' PBSZ', ' PROT'),
    },
    {
      desc: 'security and active-mode features are dropped',
      upstream: feat(' AUTH TLS', ' AUTH SSL', ' CCC', ' ADAT', ' MIC', ' CONF', ' ENC', ' EPRT', ' LPRT', ' LPSV', ' SSCN', ' CPSV', ' SIZE'),
      result: expected(' SIZE', ' PBSZ', ' PROT'),
    },
    {
      desc: 'dropping compares the first word case-insensitively',
      upstream: feat(' auth tls', ' Eprt', ' CCC ', ' EPRTX', ' AUTHX'),
      result: expected(' EPRTX', ' AUTHX', ' PBSZ', ' PROT'),
    },
    {
      desc: 'upstream PBSZ and PROT are kept once, in place',
      upstream: feat(' AUTH TLS', ' PBSZ', ' PROT', ' SIZE'),
      result: expected(' PBSZ', ' PROT', ' SIZE'),
    },
    {
      desc: 'duplicate PBSZ and PROT lines are collapsed',
      upstream: feat(' PBSZ', ' prot', ' PBSZ', ' PROT'),
      result: expected(' PBSZ', ' prot'),
    },
    {
      desc: 'only PROT missing',
      upstream: feat(' PBSZ', ' UTF8'),
      result: expected(' PBSZ', ' UTF8', ' PROT'),
    },
    {
      desc: 'feature lines are byte-identical, including odd spacing and case',
      upstream: feat('  LANG EN*;FR', ' mlst Type*;Size*;', ' REST  STREAM '),
      result: expected('  LANG EN*;FR', ' mlst Type*;Size*;', ' REST  STREAM ', ' PBSZ', ' PROT'),
    },
    {
      desc: 'a feature line without the leading space is kept',
      upstream: feat('SIZE', ' MDTM'),
      result: expected('SIZE', ' MDTM', ' PBSZ', ' PROT'),
    },
    {
      desc: 'a continuation line that starts with a digit is padded so it cannot end the reply',
      upstream: feat('226 looks like a reply', ' SIZE'),
      result: expected(' 226 looks like a reply', ' SIZE', ' PBSZ', ' PROT'),
    },
    {
      desc: 'the upstream first and last line texts are replaced',
      upstream: reply('211-Extensions supported:\n SIZE\n211 END of list\n'),
      result: expected(' SIZE', ' PBSZ', ' PROT'),
    },
    {
      desc: 'UTF-8 feature text survives',
      upstream: feat(' LANG fr-FR;日本'),
      result: expected(' LANG fr-FR;日本', ' PBSZ', ' PROT'),
    },
  ])('rewrites $desc', ({ upstream, result }) => {
    expect(rewriteFeatReply(upstream)).toBe(result);
  });

  it.each([
    { desc: 'the upstream says nothing of AUTH', upstream: feat(' SIZE'), result: expected(' SIZE', ' AUTH TLS', ' PBSZ', ' PROT') },
    { desc: "the upstream's own AUTH lines are replaced by ours", upstream: feat(' AUTH SSL', ' AUTH TLS', ' SIZE'), result: expected(' SIZE', ' AUTH TLS', ' PBSZ', ' PROT') },
    { desc: 'no FEAT upstream', upstream: null, result: expected(' AUTH TLS', ' PBSZ', ' PROT') },
  ])('on an explicit FTPS port advertises AUTH TLS once: $desc', ({ upstream, result }) => {
    expect(rewriteFeatReply(upstream, { authTls: true })).toBe(result);
  });

  it('produces a reply the parser reads back as one 211', () => {
    const rewritten = rewriteFeatReply(feat(' SIZE', '226 odd', ' MDTM'));
    const [parsed, ...rest] = new ReplyParser().push(Buffer.from(rewritten));
    expect(rest).toEqual([]);
    expect(parsed?.code).toBe(211);
    expect(parsed?.raw.toString()).toBe(rewritten);
  });
});
