import {
  dataConnectionAllowed,
  handlePbsz,
  handleProt,
  initialProtection,
  type ProtectionState,
} from './data-protection.js';

const afterPbsz: ProtectionState = { pbszReceived: true, level: 'C' };
const privateLevel: ProtectionState = { pbszReceived: true, level: 'P' };
const strict = { allowClearData: false };
const lenient = { allowClearData: true };

describe('initialProtection', () => {
  it('starts clear and without PBSZ (RFC 4217 default)', () => {
    expect(initialProtection).toEqual({ pbszReceived: false, level: 'C' });
  });
});

describe('handlePbsz', () => {
  it.each([
    { desc: 'PBSZ 0', state: initialProtection, argument: '0' },
    { desc: 'a non-zero size (TLS has no buffer size, RFC 4217 §9)', state: initialProtection, argument: '16384' },
    { desc: 'a huge number', state: initialProtection, argument: '99999999999999999999' },
    { desc: 'surrounding spaces', state: initialProtection, argument: ' 0 ' },
    { desc: 'a repeated PBSZ keeps the level', state: privateLevel, argument: '0' },
  ])('accepts $desc with PBSZ=0', ({ state, argument }) => {
    expect(handlePbsz(state, argument)).toEqual({ reply: '200 PBSZ=0\r\n', state: { ...state, pbszReceived: true } });
  });

  it.each([
    { desc: 'no argument', argument: '' },
    { desc: 'letters', argument: 'abc' },
    { desc: 'a negative number', argument: '-1' },
    { desc: 'a fraction', argument: '1.5' },
    { desc: 'hex', argument: '0x10' },
    { desc: 'a number followed by text', argument: '0 extra' },
  ])('refuses $desc with 501 and unchanged state', ({ argument }) => {
    expect(handlePbsz(initialProtection, argument)).toEqual({
      reply: '501 Syntax error: PBSZ needs a number\r\n',
      state: initialProtection,
    });
  });
});

describe('handleProt', () => {
  it.each([
    { desc: 'P', state: afterPbsz, argument: 'P', policy: strict, code: 200, level: 'P', text: 'Private' },
    { desc: 'lower-case p', state: afterPbsz, argument: 'p', policy: strict, code: 200, level: 'P', text: 'Private' },
    { desc: 'P with spaces', state: afterPbsz, argument: ' P ', policy: strict, code: 200, level: 'P', text: 'Private' },
    { desc: 'C when clear data is allowed', state: privateLevel, argument: 'C', policy: lenient, code: 200, level: 'C', text: 'Clear' },
    { desc: 'C refused by policy', state: privateLevel, argument: 'C', policy: strict, code: 534, level: 'P', text: 'PROT P' },
    { desc: 'lower-case c refused by policy', state: afterPbsz, argument: 'c', policy: strict, code: 534, level: 'C', text: 'PROT P' },
    { desc: 'S', state: afterPbsz, argument: 'S', policy: lenient, code: 536, level: 'C', text: 'not supported by TLS' },
    { desc: 'E', state: privateLevel, argument: 'e', policy: lenient, code: 536, level: 'P', text: 'not supported by TLS' },
    { desc: 'an unknown level', state: afterPbsz, argument: 'X', policy: lenient, code: 504, level: 'C', text: 'PROT P' },
    { desc: 'a word', state: afterPbsz, argument: 'Private', policy: lenient, code: 504, level: 'C', text: 'PROT P' },
    { desc: 'no level', state: afterPbsz, argument: '', policy: lenient, code: 504, level: 'C', text: 'PROT P' },
    { desc: 'P before PBSZ', state: initialProtection, argument: 'P', policy: strict, code: 503, level: 'C', text: 'PBSZ required before PROT' },
    { desc: 'C before PBSZ', state: initialProtection, argument: 'C', policy: lenient, code: 503, level: 'C', text: 'PBSZ required before PROT' },
  ])('answers $desc', ({ state, argument, policy, code, level, text }) => {
    const result = handleProt(state, argument, policy);
    expect(result.reply).toMatch(new RegExp(`^${code} [^\\r\\n]*\\r\\n$`));
    expect(result.reply).toContain(text);
    expect(result.state).toEqual({ ...state, level });
    if (code !== 200) expect(result.state).toBe(state);
  });

  it('does not echo client input it does not recognise', () => {
    expect(handleProt(afterPbsz, 'X\r999 injected', lenient).reply).not.toContain('injected');
  });

  it('runs the usual client sequence', () => {
    let state = initialProtection;
    expect(dataConnectionAllowed(state, strict)).toBe(false);
    state = handlePbsz(state, '0').state;
    const prot = handleProt(state, 'P', strict);
    expect(prot.reply).toBe('200 Data channel protection level set to Private\r\n');
    state = prot.state;
    expect(dataConnectionAllowed(state, strict)).toBe(true);
  });
});

describe('dataConnectionAllowed', () => {
  it.each([
    { desc: 'initial state, strict policy', state: initialProtection, policy: strict, allowed: false },
    { desc: 'initial state, clear data allowed', state: initialProtection, policy: lenient, allowed: true },
    { desc: 'PBSZ only, strict policy', state: afterPbsz, policy: strict, allowed: false },
    { desc: 'PROT P, strict policy', state: privateLevel, policy: strict, allowed: true },
    { desc: 'PROT P, clear data allowed', state: privateLevel, policy: lenient, allowed: true },
  ])('$desc', ({ state, policy, allowed }) => {
    expect(dataConnectionAllowed(state, policy)).toBe(allowed);
  });
});
