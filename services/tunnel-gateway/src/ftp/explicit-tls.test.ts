import { commandBeforeTls, type BeforeTls } from './explicit-tls.js';

describe('commands before AUTH TLS on an explicit FTPS port', () => {
  it.each<{ verb: string; argument: string; expected: BeforeTls }>([
    { verb: 'AUTH', argument: 'TLS', expected: { kind: 'start-tls' } },
    { verb: 'auth', argument: ' tls ', expected: { kind: 'start-tls' } },
    { verb: 'AUTH', argument: 'SSL', expected: { kind: 'start-tls' } },
    { verb: 'AUTH', argument: 'TLS-C', expected: { kind: 'start-tls' } },
    { verb: 'AUTH', argument: 'TLS-P', expected: { kind: 'start-tls' } },
    { verb: 'AUTH', argument: 'GSSAPI', expected: { kind: 'refuse-mechanism', mechanism: 'GSSAPI' } },
    { verb: 'AUTH', argument: '', expected: { kind: 'refuse-mechanism', mechanism: '(none)' } },
    { verb: 'FEAT', argument: '', expected: { kind: 'relay', verb: 'FEAT' } },
    { verb: 'noop', argument: '', expected: { kind: 'relay', verb: 'NOOP' } },
    { verb: 'QUIT', argument: '', expected: { kind: 'relay', verb: 'QUIT' } },
    { verb: 'USER', argument: 'alice', expected: { kind: 'refuse-login', verb: 'USER' } },
    { verb: 'pass', argument: 'secret', expected: { kind: 'refuse-login', verb: 'PASS' } },
    { verb: 'ACCT', argument: 'x', expected: { kind: 'refuse-login', verb: 'ACCT' } },
    { verb: 'PBSZ', argument: '0', expected: { kind: 'refuse', verb: 'PBSZ' } },
    { verb: 'CCC', argument: '', expected: { kind: 'refuse', verb: 'CCC' } },
    { verb: 'SYST', argument: '', expected: { kind: 'refuse', verb: 'SYST' } },
    { verb: 'RETR', argument: 'x', expected: { kind: 'refuse', verb: 'RETR' } },
  ])('$verb $argument', ({ verb, argument, expected }) => {
    expect(commandBeforeTls(verb, argument)).toEqual(expected);
  });
});
