import { loginOutcome } from './login-outcome.js';

describe('loginOutcome', () => {
  it.each([
    { desc: 'password accepted', verb: 'PASS', code: 230, expected: 'succeeded' },
    { desc: 'wrong password', verb: 'PASS', code: 530, expected: 'failed' },
    { desc: 'session failed right after the password (500 OOPS)', verb: 'PASS', code: 500, expected: 'failed' },
    { desc: 'server closing (421)', verb: 'PASS', code: 421, expected: 'failed' },
    { desc: 'password accepted, account needed', verb: 'PASS', code: 332, expected: null },
    { desc: 'already logged in', verb: 'PASS', code: 202, expected: null },
    { desc: 'user known, password next', verb: 'USER', code: 331, expected: null },
    { desc: 'user refused by a user list', verb: 'USER', code: 530, expected: 'failed' },
    { desc: 'user needs no password', verb: 'USER', code: 230, expected: 'succeeded' },
    { desc: 'account accepted', verb: 'ACCT', code: 230, expected: 'succeeded' },
    { desc: 'another command', verb: 'CWD', code: 550, expected: null },
    { desc: 'another command with 230-like code', verb: 'NOOP', code: 230, expected: null },
  ])('$desc', ({ verb, code, expected }) => {
    expect(loginOutcome(verb, code)).toBe(expected);
  });
});
