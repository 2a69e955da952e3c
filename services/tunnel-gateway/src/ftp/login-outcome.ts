/**
 * What a reply to a login command says about the login (RFC 959 §5.4): 230
 * means logged in; 331/332 ask for the next step (password, account); any
 * 4xx/5xx ends the attempt (530 "Login incorrect", a user list's 530, a
 * server that fails the session right after the password, 421). Replies to
 * other commands, and 202 "already logged in", say nothing new.
 */
export type LoginOutcome = 'succeeded' | 'failed';

const loginVerbs = new Set(['USER', 'PASS', 'ACCT']);

export function loginOutcome(verb: string, replyCode: number): LoginOutcome | null {
  if (!loginVerbs.has(verb)) return null;
  if (replyCode === 230) return 'succeeded';
  if (replyCode >= 400 && replyCode < 600) return 'failed';
  return null;
}
