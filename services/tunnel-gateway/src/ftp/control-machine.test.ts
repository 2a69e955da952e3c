import { failure, messageOf, type Failure } from '../errors.js';
import { ftpCommand as command, runSteps, upstreamReply } from '../test-support/control-steps.js';
import { initialControlState, initialControlStateFor, step, type ControlEffect, type ControlEnv, type ControlEvent, type ControlState, type LinkResult } from './control-machine.js';

// --- events, written the way they appear on the wire ------------------------

/** One chunk from the client, with one or more command lines. */
const c = (...lines: string[]): ControlEvent => ({ type: 'client-input', inputs: lines.map((line) => ({ command: command(line) })) });
const tooLong: ControlEvent = { type: 'client-input', inputs: [{ tooLong: 4096 }] };
/** One reply from the upstream (several lines make a multi-line reply). */
const u = (...lines: string[]): ControlEvent => upstreamReply(...lines)!;
const leased = (publicPort: number): ControlEvent => ({ type: 'lease-acquired', publicPort });
const refused = (cause: Failure): ControlEvent => ({ type: 'lease-refused', failure: cause });
const claimed = (linkId: string, publicPort: number): ControlEvent => ({ type: 'data-link-claimed', linkId, publicPort });
const unclaimed = (publicPort: number): ControlEvent => ({ type: 'lease-unclaimed', publicPort });
const upstreamComplete = (linkId: string): ControlEvent => ({ type: 'data-link-upstream-complete', linkId });
const result = (reason?: string): LinkResult => ({ ok: reason === undefined, ...(reason ? { reason } : {}), bytesToClient: 10, bytesToUpstream: 0, durationMs: 5 });
const done = (linkId: string, reason?: string): ControlEvent => ({ type: 'data-link-done', linkId, result: result(reason) });
const upstreamClosed: ControlEvent = { type: 'upstream-closed' };
const clientClosed: ControlEvent = { type: 'client-closed' };
const idle: ControlEvent = { type: 'idle-timeout', idleMs: 300_000 };

// --- effects, summarised as one line each -----------------------------------

const text = (data: string | Buffer) => String(data).replace(/\r\n$/, '').replace(/\r\n/g, ' | ');

function summary(effect: ControlEffect): string | null {
  switch (effect.type) {
    case 'send-client':
      return `client: ${text(effect.data)}`;
    case 'send-upstream':
      return `upstream: ${text(effect.data)}`;
    case 'acquire-lease':
      return `acquire lease for ${effect.upstreamPort} (PROT ${effect.protectionLevel})`;
    case 'release-lease':
      return `release lease ${effect.publicPort}`;
    case 'settle-lease':
      return `settle lease ${effect.publicPort}`;
    case 'abort-link':
      return `abort ${effect.linkId}: ${messageOf(effect.cause)}`;
    case 'close':
      return `close: ${effect.reason}`;
    case 'start-tls':
      return 'start TLS';
    case 'check-login':
      return 'check login';
    case 'login-failed':
      return `login failed: ${effect.user}`;
    case 'log':
      return null;
  }
}

const defaultEnv: ControlEnv = { client: { address: '198.51.100.7', port: 50123 }, policy: { allowClearData: false }, maxCommandsWithoutTransfer: 5000, pasvAddress: () => '203.0.113.9' };

function run(events: readonly ControlEvent[], from: ControlState = initialControlState, env: ControlEnv = defaultEnv) {
  const { state, effects } = runSteps(events, from, env);
  return { state, effects, lines: effects.map(summary).filter((line): line is string => line !== null) };
}

/** Greeting, login, PBSZ 0, PROT P. */
const loggedIn = [u('220 FTP ready'), c('USER alice'), u('331 Password please'), c('PASS secret'), u('230 Logged in'), c('PBSZ 0'), c('PROT P')];
const afterLogin = run(loggedIn).state;
/** …then EPSV with its lease on public port 4004. */
const epsvLeased = [c('EPSV'), u('229 Entering Extended Passive Mode (|||3004|)'), leased(4004)];
/** …then RETR, its data link claimed and the 150. */
const retrRunning = [...epsvLeased, c('RETR big.bin'), claimed('dat_1', 4004), u('150 Opening data connection')];

interface Row {
  desc: string;
  events: ControlEvent[];
  expected: string[];
  from?: ControlState;
  env?: ControlEnv;
}

const table = (rows: Row[]) =>
  it.each(rows)('$desc', ({ events, expected, from, env }) => {
    expect(run(events, from ?? afterLogin, env).lines).toEqual(expected);
  });

describe('the login defender', () => {
  const banned = failure('LOGIN_BANNED', { until: '2026-12-04T12:10:00Z', minutes: 10 });
  const bannedReply = `client: 421 ${messageOf(banned)}`;
  const refusedLogin: ControlEvent = { type: 'login-refused', failure: banned };
  const allowed: ControlEvent = { type: 'login-allowed' };
  const askedForPassword = run([u('220 FTP ready'), c('USER alice'), u('331 Password please')]).state;
  it.each([
    {
      desc: 'a password waits for the defender; commands behind it wait too',
      events: [c('PASS secret', 'PWD')],
      expected: ['check login'],
    },
    {
      desc: 'allowed: the password goes upstream, then the commands behind it',
      events: [c('PASS secret', 'PWD'), allowed, u('230 Logged in'), u('257 "/"')],
      expected: ['check login', 'upstream: PASS secret', 'client: 230 Logged in', 'upstream: PWD', 'client: 257 "/"'],
    },
    {
      desc: 'refused: the password never reaches the file server; 421 and close',
      events: [c('PASS secret', 'PWD'), refusedLogin, allowed],
      expected: ['check login', bannedReply, 'close: client address banned after failed logins'],
    },
    {
      desc: 'a failed login is counted with the user name tried',
      events: [c('PASS wrong'), allowed, u('530 Login incorrect')],
      expected: ['check login', 'upstream: PASS wrong', 'login failed: alice', 'client: 530 Login incorrect'],
    },
    {
      desc: 'the failure that bans the address ends the session after its 530',
      events: [c('PASS wrong'), allowed, u('530 Login incorrect'), refusedLogin, c('USER bob')],
      expected: ['check login', 'upstream: PASS wrong', 'login failed: alice', 'client: 530 Login incorrect', bannedReply, 'close: client address banned after failed logins'],
    },
    {
      desc: 'a USER refused by the file server counts as a failure too',
      events: [c('USER root'), u('530 Permission denied')],
      expected: ['upstream: USER root', 'login failed: root', 'client: 530 Permission denied'],
    },
    {
      desc: 'a success is not counted',
      events: [c('PASS secret'), allowed, u('230 Logged in')],
      expected: ['check login', 'upstream: PASS secret', 'client: 230 Logged in'],
    },
  ])('$desc', ({ events, expected }) => {
    const { effects } = runSteps(events, askedForPassword, defaultEnv, 'manual');
    expect(effects.map(summary).filter((line) => line !== null)).toEqual(expected);
  });

  it('a banned address is refused before the upstream greets (the session checks at connect)', () => {
    const { effects } = runSteps([refusedLogin, u('220 FTP ready')], initialControlState, defaultEnv, 'manual');
    expect(effects.map(summary).filter((line) => line !== null)).toEqual([bannedReply, 'close: client address banned after failed logins']);
  });
});

describe('login and relaying', () => {
  table([
    {
      desc: 'the greeting is relayed; commands sent before it wait for it',
      from: initialControlState,
      events: [c('USER alice'), u('220 FTP ready'), u('331 Password please')],
      expected: ['client: 220 FTP ready', 'upstream: USER alice', 'client: 331 Password please'],
    },
    {
      desc: 'a whole login, byte for byte',
      from: initialControlState,
      events: [u('220 FTP ready'), c('USER alice'), u('331 Password please'), c('PASS secret'), u('230 Logged in')],
      expected: ['client: 220 FTP ready', 'upstream: USER alice', 'client: 331 Password please', 'check login', 'upstream: PASS secret', 'client: 230 Logged in'],
    },
    {
      desc: 'a failed login is relayed as it came',
      from: run([u('220 FTP ready'), c('USER alice'), u('331 Password please')]).state,
      events: [c('PASS wrong'), u('530 Login incorrect')],
      expected: ['check login', 'upstream: PASS wrong', 'login failed: alice', 'client: 530 Login incorrect'],
    },
    {
      desc: 'pipelined commands go one at a time, each after the final reply to the previous',
      events: [c('CWD a', 'PWD', 'NOOP'), u('250 ok'), u('257 "/a"'), u('200 NOOP ok')],
      expected: ['upstream: CWD a', 'client: 250 ok', 'upstream: PWD', 'client: 257 "/a"', 'upstream: NOOP', 'client: 200 NOOP ok'],
    },
    {
      desc: 'a reply nobody asked for (the upstream closing an idle session) is relayed',
      events: [u('421 Timeout')],
      expected: ['client: 421 Timeout'],
    },
    {
      desc: 'a multi-line reply is relayed whole',
      events: [c('HELP'), u('214-Commands:', ' USER PASS', '214 End')],
      expected: ['upstream: HELP', 'client: 214-Commands: |  USER PASS | 214 End'],
    },
    {
      desc: 'FEAT: TLS features of the upstream are dropped, PBSZ and PROT added',
      events: [c('FEAT'), u('211-Features:', ' AUTH TLS', ' EPRT', ' MDTM', '211 End')],
      expected: ['upstream: FEAT', 'client: 211-Features: |  MDTM |  PBSZ |  PROT | 211 End'],
    },
    {
      desc: 'FEAT unsupported upstream: our own list',
      events: [c('FEAT'), u('500 Unknown command')],
      expected: ['upstream: FEAT', 'client: 211-Features: |  PBSZ |  PROT | 211 End'],
    },
    { desc: 'a line over the limit gets 500 and is not relayed', events: [tooLong], expected: ['client: 500 Command line too long (limit 4096 bytes).'] },
  ]);

  const logs = (events: ControlEvent[], from: ControlState = initialControlState) =>
    run(events, from).effects.filter((effect) => effect.type === 'log' && effect.message.startsWith('FTP login'));
  it.each([
    {
      desc: 'a login that succeeds: who, from where, the reply',
      events: [u('220 FTP ready'), c('USER alice'), u('331 Password please'), c('PASS secret'), u('230 Logged in')],
      expected: [
        { type: 'log', level: 'info', fields: { user: 'alice' }, message: 'FTP login attempt' },
        { type: 'log', level: 'info', fields: { user: 'alice', client: '198.51.100.7', clientPort: 50123, outcome: 'succeeded', reply: 230 }, message: 'FTP login succeeded' },
      ],
    },
    {
      desc: 'a wrong password: a warning, never the password',
      events: [u('220 FTP ready'), c('USER alice'), u('331 Password please'), c('PASS guess'), u('530 Login incorrect')],
      expected: [
        { type: 'log', level: 'info', fields: { user: 'alice' }, message: 'FTP login attempt' },
        { type: 'log', level: 'warn', fields: { user: 'alice', client: '198.51.100.7', clientPort: 50123, outcome: 'failed', reply: 530 }, message: 'FTP login failed' },
      ],
    },
    {
      desc: 'a user refused by a user list',
      events: [u('220 FTP ready'), c('USER root'), u('530 Permission denied')],
      expected: [
        { type: 'log', level: 'info', fields: { user: 'root' }, message: 'FTP login attempt' },
        { type: 'log', level: 'warn', fields: { user: 'root', client: '198.51.100.7', clientPort: 50123, outcome: 'failed', reply: 530 }, message: 'FTP login failed' },
      ],
    },
    { desc: 'other commands say nothing about the login', events: [u('220 FTP ready'), c('CWD x'), u('550 No')], expected: [] },
  ])('login records: $desc', ({ events, expected }) => {
    expect(logs(events)).toEqual(expected);
    expect(JSON.stringify(run(events).effects.filter((effect) => effect.type === 'log'))).not.toMatch(/secret|guess/);
  });

  it('remembers the user for the log records', () => {
    expect(run(loggedIn).state.user).toBe('alice');
    expect(run(loggedIn).effects).toContainEqual({ type: 'log', level: 'info', fields: { user: 'alice' }, message: 'FTP login attempt' });
  });
});

describe('PBSZ, PROT and the other security commands (answered here, never relayed)', () => {
  const fresh = run([u('220 FTP ready')]).state;
  table([
    { desc: 'PBSZ 0 then PROT P', from: fresh, events: [c('PBSZ 0'), c('PROT P')], expected: ['client: 200 PBSZ=0', 'client: 200 Data channel protection level set to Private'] },
    { desc: 'PROT before PBSZ', from: fresh, events: [c('PROT P')], expected: ['client: 503 PBSZ required before PROT'] },
    { desc: 'PROT C refused by policy', from: fresh, events: [c('PBSZ 0'), c('PROT C')], expected: ['client: 200 PBSZ=0', 'client: 534 PROT C refused by policy: data connections must be protected with PROT P'] },
    {
      desc: 'PROT C allowed by policy',
      from: fresh,
      env: { ...defaultEnv, policy: { allowClearData: true } },
      events: [c('PBSZ 0'), c('PROT C')],
      expected: ['client: 200 PBSZ=0', 'client: 200 Data channel protection level set to Clear'],
    },
    { desc: 'AUTH on implicit TLS', from: fresh, events: [c('AUTH TLS')], expected: ['client: 534 AUTH is not needed: this connection is already protected by TLS (implicit FTPS).'] },
    { desc: 'CCC', from: fresh, events: [c('CCC')], expected: ['client: 534 CCC refused: the control connection stays encrypted.'] },
    { desc: 'ADAT', from: fresh, events: [c('ADAT x')], expected: ['client: 502 ADAT: RFC 2228 security mechanisms other than TLS are not supported.'] },
    { desc: 'active mode PORT', events: [c('PORT 127,0,0,1,4,1')], expected: ['client: 502 PORT: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).'] },
    { desc: 'active mode EPRT', events: [c('EPRT |1|127.0.0.1|1025|')], expected: ['client: 502 EPRT: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).'] },
    {
      desc: 'a transfer before PROT P is refused, not relayed',
      from: fresh,
      events: [c('RETR a'), c('STOR b')],
      expected: ['client: 521 Data connections must be encrypted: send "PBSZ 0" and "PROT P" first.', 'client: 521 Data connections must be encrypted: send "PBSZ 0" and "PROT P" first.'],
    },
    {
      desc: 'a transfer after PROT C is relayed when policy allows clear data',
      from: fresh,
      env: { ...defaultEnv, policy: { allowClearData: true } },
      events: [c('PBSZ 0'), c('PROT C'), c('LIST')],
      expected: ['client: 200 PBSZ=0', 'client: 200 Data channel protection level set to Clear', 'upstream: LIST'],
    },
  ]);

  it('the lease asks for the PROT level the session chose', () => {
    const env = { ...defaultEnv, policy: { allowClearData: true } };
    const clear = run([u('220 ok'), c('PBSZ 0'), c('PROT C'), c('EPSV'), u('229 Entering Extended Passive Mode (|||3004|)')], initialControlState, env);
    expect(clear.lines).toContain('acquire lease for 3004 (PROT C)');
  });
});

describe('PASV and EPSV', () => {
  table([
    {
      desc: 'EPSV: the upstream port is leased, the reply names the public port',
      events: epsvLeased,
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)'],
    },
    {
      desc: 'PASV: the reply carries our public address, never the upstream host (bounce protection)',
      events: [c('PASV'), u('227 Entering Passive Mode (10,0,0,5,11,188)'), leased(4004)],
      expected: ['upstream: PASV', 'acquire lease for 3004 (PROT P)', 'client: 227 Entering Passive Mode (203,0,113,9,15,164).'],
    },
    {
      desc: 'PASV with no IPv4 address to announce: 425, no lease',
      env: { ...defaultEnv, pasvAddress: () => null },
      events: [c('PASV'), u('227 Entering Passive Mode (10,0,0,5,11,188)')],
      expected: ['upstream: PASV', 'client: 425 PASV cannot announce this server address (it is not IPv4); use EPSV.'],
    },
    {
      desc: 'an unusable passive reply: 425, no lease',
      events: [c('EPSV'), u('229 Entering Extended Passive Mode (|||99999|)')],
      expected: ['upstream: EPSV', 'client: 425 Cannot open passive data connection: the file server sent an unusable reply.'],
    },
    { desc: 'the upstream refuses passive mode: relayed', events: [c('EPSV'), u('500 EPSV not understood')], expected: ['upstream: EPSV', 'client: 500 EPSV not understood'] },
    {
      desc: 'pool exhausted',
      events: [c('EPSV'), u('229 Entering Extended Passive Mode (|||3004|)'), refused(failure('POOL_EXHAUSTED', { range: '5000-5001' }))],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 425 Cannot open passive data connection: every public passive port 5000-5001 is leased.'],
    },
    {
      desc: 'passive disabled',
      events: [c('EPSV'), u('229 Entering Extended Passive Mode (|||3004|)'), refused(failure('PASSIVE_DISABLED'))],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 425 Cannot open passive data connection: passive data is not enabled on this gateway.'],
    },
    {
      desc: 'the upstream port outside the range',
      events: [c('EPSV'), u('229 Entering Extended Passive Mode (|||3004|)'), refused(failure('PASSIVE_PORT_OUTSIDE_RANGE', { upstreamPort: 3004, range: '3005-3008' }))],
      expected: [
        'upstream: EPSV',
        'acquire lease for 3004 (PROT P)',
        'client: 425 Cannot open passive data connection: the file server offered passive port 3004, outside the configured passive range 3005-3008.',
      ],
    },
    {
      desc: 'commands and replies behind a lease wait for it',
      events: [c('EPSV', 'NOOP'), u('229 Entering Extended Passive Mode (|||3004|)'), c('PWD'), leased(4004), u('200 NOOP ok')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: NOOP', 'client: 200 NOOP ok', 'upstream: PWD'],
    },
    {
      desc: 'a new EPSV gives the unused lease back',
      events: [...epsvLeased, c('EPSV')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'release lease 4004', 'upstream: EPSV'],
    },
    {
      desc: 'a new EPSV cuts a data link no transfer used',
      events: [...epsvLeased, claimed('dat_1', 4004), c('EPSV')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'abort dat_1: client asked for a new passive port', 'upstream: EPSV'],
    },
    {
      desc: 'a data connection on a port this session does not expect is cut',
      events: [...epsvLeased, claimed('dat_9', 4005)],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'abort dat_9: the control session no longer expects this data connection'],
    },
  ]);
});

describe('transfers and their completion order', () => {
  const started = ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR big.bin', 'client: 150 Opening data connection'];
  table([
    {
      desc: '226 before the data link is done: held until the last byte went out',
      events: [...retrRunning, u('226 Transfer complete'), c('NOOP'), done('dat_1'), u('200 NOOP ok')],
      expected: [...started, 'client: 226 Transfer complete', 'upstream: NOOP', 'client: 200 NOOP ok'],
    },
    {
      desc: 'the data link done before 226: relayed at once',
      events: [...retrRunning, done('dat_1'), u('226 Transfer complete')],
      expected: [...started, 'client: 226 Transfer complete'],
    },
    {
      desc: 'a failed data link turns 226 into 426 with its reason',
      events: [...retrRunning, u('226 Transfer complete'), done('dat_1', 'upstream closed the data connection before the transfer ended')],
      expected: [...started, 'client: 426 Transfer aborted: upstream closed the data connection before the transfer ended.'],
    },
    {
      desc: "a failed data link turns the upstream's 426 into ours",
      events: [...retrRunning, done('dat_1', 'data connection stalled for 1000 ms'), u('426 Connection closed; transfer aborted')],
      expected: [...started, 'client: 426 Transfer aborted: data connection stalled for 1000 ms.'],
    },
    {
      desc: "a failed data link leaves the upstream's own refusal (550) alone",
      events: [...retrRunning, done('dat_1', 'x'), u('550 No such file')],
      expected: [...started, 'client: 550 No such file'],
    },
    {
      desc: 'the client never connected: the settle step releases the lease, then the final reply passes',
      events: [...epsvLeased, c('RETR a'), u('425 Failed to establish connection'), unclaimed(4004)],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR a', 'settle lease 4004', 'client: 425 Failed to establish connection'],
    },
    {
      desc: 'the final reply waits for the settle step; commands behind it wait too',
      events: [...epsvLeased, c('RETR a'), u('550 No such file'), c('PWD')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR a', 'settle lease 4004'],
    },
    {
      desc: 'claimed in another process, its report late: the 226 waits for that data connection, which the settle step found',
      events: [...epsvLeased, c('RETR a'), u('150 Opening'), u('226 Transfer complete'), claimed('dat_far', 4004), c('PWD')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR a', 'client: 150 Opening', 'settle lease 4004'],
    },
    {
      desc: '…and passes once that data connection is done; then the next command',
      events: [...epsvLeased, c('RETR a'), u('150 Opening'), u('226 Transfer complete'), claimed('dat_far', 4004), c('PWD'), done('dat_far')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR a', 'client: 150 Opening', 'settle lease 4004', 'client: 226 Transfer complete', 'upstream: PWD'],
    },
    {
      desc: '…or becomes a 426 when it failed',
      events: [...epsvLeased, c('RETR a'), u('226 Transfer complete'), claimed('dat_far', 4004), done('dat_far', 'the gateway process carrying the data connection (gw-b) stopped')],
      expected: [
        'upstream: EPSV',
        'acquire lease for 3004 (PROT P)',
        'client: 229 Entering Extended Passive Mode (|||4004|)',
        'upstream: RETR a',
        'settle lease 4004',
        'client: 426 Transfer aborted: the gateway process carrying the data connection (gw-b) stopped.',
      ],
    },
    {
      desc: 'the same claim reported twice (report and settle step) counts once',
      events: [...retrRunning, claimed('dat_1', 4004), u('226 Transfer complete'), done('dat_1')],
      expected: [...started, 'client: 226 Transfer complete'],
    },
    {
      desc: 'the claim found by the settle step and its late report: the link is never aborted as unexpected',
      events: [...epsvLeased, c('RETR a'), u('150 Opening'), u('226 Transfer complete'), claimed('dat_far', 4004), claimed('dat_far', 4004), done('dat_far')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR a', 'client: 150 Opening', 'settle lease 4004', 'client: 226 Transfer complete'],
    },
    {
      desc: 'a settle answer for another port is ignored',
      events: [...epsvLeased, c('RETR a'), u('550 No such file'), unclaimed(4005)],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: RETR a', 'settle lease 4004'],
    },
    {
      desc: 'the upstream closes with a 226 held: the close waits for the data link',
      events: [...retrRunning, u('226 Transfer complete'), upstreamClosed, done('dat_1')],
      expected: [...started, 'client: 226 Transfer complete', 'close: upstream closed the control connection'],
    },
    {
      desc: 'an upload runs the same way',
      events: [...epsvLeased, c('STOR up.bin'), claimed('dat_1', 4004), u('150 Ok to send data'), u('226 Transfer complete'), done('dat_1')],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'upstream: STOR up.bin', 'client: 150 Ok to send data', 'client: 226 Transfer complete'],
    },
  ]);

  it.each([
    { desc: 'an idle session ends at once with a 421', events: [{ type: 'shutdown' } as ControlEvent], expected: ['client: 421 Service closing: this gateway is stopping; connect again to reach another one.', 'close: the gateway is stopping'] },
    {
      desc: 'a running transfer finishes and gets its 226 first; the command queued behind it is not started',
      events: [...retrRunning, { type: 'shutdown' } as ControlEvent, c('PWD'), u('226 Transfer complete'), done('dat_1')],
      expected: [...started, 'client: 226 Transfer complete', 'client: 421 Service closing: this gateway is stopping; connect again to reach another one.', 'close: the gateway is stopping'],
    },
    {
      desc: 'a command waiting for its reply gets it first',
      events: [c('PWD'), { type: 'shutdown' } as ControlEvent, u('257 "/"')],
      expected: ['upstream: PWD', 'client: 257 "/"', 'client: 421 Service closing: this gateway is stopping; connect again to reach another one.', 'close: the gateway is stopping'],
    },
  ])('a stopping gateway: $desc', ({ events, expected }) => {
    expect(run(events, afterLogin).lines).toEqual(expected);
  });

  it('logs the transfer with its bytes and outcome', () => {
    const { effects } = run([...retrRunning, u('226 Transfer complete'), done('dat_1')], afterLogin);
    expect(effects).toContainEqual({
      type: 'log',
      level: 'info',
      fields: { command: 'RETR', path: 'big.bin', direction: 'download', bytesToClient: 10, bytesToUpstream: 0, durationMs: 5, reply: 226, ok: true },
      message: 'transfer finished',
    });
  });

  it('forgets a finished link', () => {
    const { state } = run([...retrRunning, u('226 Transfer complete'), done('dat_1')], afterLogin);
    expect({ links: state.links.size, transfer: state.transfer, passive: state.passive, wait: state.wait }).toEqual({ links: 0, transfer: null, passive: { kind: 'none' }, wait: null });
  });
});

describe('ABOR in each phase', () => {
  const leasedLines = ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)'];
  table([
    {
      desc: 'no transfer: queued and relayed like any command',
      events: [c('ABOR'), u('225 No transfer to ABOR')],
      expected: ['upstream: ABOR', 'client: 225 No transfer to ABOR'],
    },
    {
      desc: 'transfer sent, data connection not yet there: relayed at once, and the late link is cut on arrival',
      events: [...epsvLeased, c('RETR a'), c('ABOR'), claimed('dat_1', 4004)],
      expected: [...leasedLines, 'upstream: RETR a', 'upstream: ABOR', 'abort dat_1: client sent ABOR'],
    },
    {
      desc: 'data flowing: ABOR reaches the file server only once the cut link is done (told first, it would end the data cleanly)',
      events: [...retrRunning, c('ABOR')],
      expected: [...leasedLines, 'upstream: RETR big.bin', 'client: 150 Opening data connection', 'abort dat_1: client sent ABOR'],
    },
    {
      desc: 'two ABORs while the link is being cut: both reach the file server once it is, each gets its reply',
      events: [...retrRunning, c('ABOR'), c('ABOR'), done('dat_1', 'client sent ABOR'), u('426 Transfer aborted'), u('225 ABOR ok'), u('225 No transfer to ABOR')],
      expected: [
        ...leasedLines,
        'upstream: RETR big.bin',
        'client: 150 Opening data connection',
        'abort dat_1: client sent ABOR',
        'upstream: ABOR',
        'upstream: ABOR',
        'client: 426 Transfer aborted: client sent ABOR.',
        'client: 225 ABOR ok',
        'client: 225 No transfer to ABOR',
      ],
    },
    {
      desc: 'data flowing: the link is cut, then ABOR goes; 426 (after the link ended), then 226',
      events: [...retrRunning, c('ABOR'), done('dat_1', 'client sent ABOR'), u('426 Transfer aborted'), u('226 ABOR successful')],
      expected: [...leasedLines, 'upstream: RETR big.bin', 'client: 150 Opening data connection', 'abort dat_1: client sent ABOR', 'upstream: ABOR', 'client: 426 Transfer aborted: client sent ABOR.', 'client: 226 ABOR successful'],
    },
    {
      desc: 'the upstream already sent everything: the transfer completes normally (226, then 225)',
      events: [...retrRunning, upstreamComplete('dat_1'), c('ABOR'), u('226 Transfer complete'), done('dat_1'), u('225 No transfer to ABOR')],
      expected: [...leasedLines, 'upstream: RETR big.bin', 'client: 150 Opening data connection', 'upstream: ABOR', 'client: 226 Transfer complete', 'client: 225 No transfer to ABOR'],
    },
    {
      desc: 'the final reply held for the link: the link is cut, replies keep their order',
      events: [...retrRunning, u('226 Transfer complete'), c('ABOR'), u('225 ABOR ok'), done('dat_1', 'client sent ABOR')],
      expected: [...leasedLines, 'upstream: RETR big.bin', 'client: 150 Opening data connection', 'abort dat_1: client sent ABOR', 'upstream: ABOR', 'client: 426 Transfer aborted: client sent ABOR.', 'client: 225 ABOR ok'],
    },
    {
      desc: 'after the transfer ended: an ordinary command again',
      events: [...retrRunning, done('dat_1'), u('226 Transfer complete'), c('ABOR'), u('225 No transfer to ABOR')],
      expected: [...leasedLines, 'upstream: RETR big.bin', 'client: 150 Opening data connection', 'client: 226 Transfer complete', 'upstream: ABOR', 'client: 225 No transfer to ABOR'],
    },
  ]);
});

describe('failures and the end of a session', () => {
  table([
    {
      desc: 'the upstream cannot be reached: 421, then the close ends the session',
      from: initialControlState,
      events: [{ type: 'upstream-failed', reason: 'ECONNREFUSED' }, upstreamClosed],
      expected: ['client: 421 Service not available: the file server cannot be reached.', 'close: upstream closed the control connection'],
    },
    {
      desc: 'the upstream breaks the reply syntax: 421 and the session ends',
      events: [{ type: 'upstream-reply-invalid', reason: 'reply too long' }],
      expected: ['client: 421 The file server sent an invalid reply; closing.', 'close: invalid upstream reply'],
    },
    {
      desc: 'QUIT: 221 reaches the client before the close',
      events: [c('QUIT'), u('221 Goodbye'), upstreamClosed],
      expected: ['upstream: QUIT', 'client: 221 Goodbye', 'close: upstream closed the control connection'],
    },
    { desc: 'the client leaves', events: [clientClosed], expected: ['close: client closed the control connection'] },
    {
      desc: 'the client leaves with a lease: it is given back',
      events: [...epsvLeased, clientClosed],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'client: 229 Entering Extended Passive Mode (|||4004|)', 'release lease 4004', 'close: client closed the control connection'],
    },
    {
      desc: 'the client leaves while a lease is taken: it is given back when it arrives',
      events: [c('EPSV'), u('229 Entering Extended Passive Mode (|||3004|)'), clientClosed, leased(4004)],
      expected: ['upstream: EPSV', 'acquire lease for 3004 (PROT P)', 'close: client closed the control connection', 'release lease 4004'],
    },
    {
      desc: 'a data link claimed after the end is cut',
      events: [...epsvLeased, clientClosed, claimed('dat_1', 4004)],
      expected: [
        'upstream: EPSV',
        'acquire lease for 3004 (PROT P)',
        'client: 229 Entering Extended Passive Mode (|||4004|)',
        'release lease 4004',
        'close: client closed the control connection',
        'abort dat_1: the control session no longer expects this data connection',
      ],
    },
    { desc: 'idle with nothing running: 421 and the session ends', events: [idle], expected: ['client: 421 Idle timeout: closing control connection.', 'close: idle timeout'] },
    { desc: 'idle while a transfer runs: not idle', events: [idle], from: run(retrRunning, afterLogin).state, expected: [] },
    { desc: 'idle with a data link still running after its reply: not idle', events: [idle], from: run([...epsvLeased, claimed('dat_1', 4004)], afterLogin).state, expected: [] },
    { desc: 'nothing is sent or relayed after the end', events: [clientClosed, c('NOOP'), u('200 ok'), idle], expected: ['close: client closed the control connection'] },
  ]);
});

describe('state', () => {
  it('step never changes the state it is given', () => {
    const before = run(retrRunning, afterLogin).state;
    const copy = { ...before, queue: [...before.queue], awaiting: [...before.awaiting], links: new Map(before.links) };
    step(before, done('dat_1'), defaultEnv);
    step(before, c('ABOR'), defaultEnv);
    expect({ ...before, queue: [...before.queue], awaiting: [...before.awaiting], links: new Map(before.links) }).toEqual(copy);
  });
});

describe('explicit FTPS (AUTH TLS)', () => {
  const explicit = initialControlStateFor('explicit');
  const tlsUp: ControlEvent = { type: 'tls-established' };
  const secured = run([u('220 FTP ready'), c('AUTH TLS'), tlsUp], explicit).state;
  const feat = ['211-Features:', ' SIZE', '211 End'];
  table([
    {
      desc: 'AUTH TLS is answered here with 234 and starts TLS; nothing goes upstream',
      from: explicit,
      events: [u('220 FTP ready'), c('AUTH TLS')],
      expected: ['client: 220 FTP ready', 'client: 234 AUTH TLS accepted: start the TLS handshake.', 'start TLS'],
    },
    {
      desc: 'the old name AUTH SSL works too',
      from: explicit,
      events: [u('220 FTP ready'), c('auth ssl')],
      expected: ['client: 220 FTP ready', 'client: 234 AUTH TLS accepted: start the TLS handshake.', 'start TLS'],
    },
    {
      desc: 'another mechanism is refused with 504 and the session stays plain',
      from: explicit,
      events: [u('220 FTP ready'), c('AUTH KERBEROS_V4'), c('AUTH TLS')],
      expected: [
        'client: 220 FTP ready',
        'client: 504 AUTH KERBEROS_V4: only AUTH TLS (or its old name AUTH SSL) is supported.',
        'client: 234 AUTH TLS accepted: start the TLS handshake.',
        'start TLS',
      ],
    },
    {
      desc: 'USER and PASS in clear text are refused and never reach the file server',
      from: explicit,
      events: [u('220 FTP ready'), c('USER alice'), c('PASS secret')],
      expected: [
        'client: 220 FTP ready',
        'client: 530 USER refused: log in over TLS. Send AUTH TLS first (explicit FTPS); passwords are never accepted in clear text.',
        'client: 530 PASS refused: log in over TLS. Send AUTH TLS first (explicit FTPS); passwords are never accepted in clear text.',
      ],
    },
    {
      desc: 'other commands before TLS are refused; FEAT, NOOP and QUIT are relayed',
      from: explicit,
      events: [u('220 FTP ready'), c('PBSZ 0'), c('LIST'), c('NOOP'), u('200 NOOP ok'), c('FEAT'), u(...feat), c('QUIT'), u('221 Bye')],
      expected: [
        'client: 220 FTP ready',
        'client: 530 PBSZ refused: send AUTH TLS first. Before TLS only AUTH, FEAT, NOOP and QUIT are accepted.',
        'client: 530 LIST refused: send AUTH TLS first. Before TLS only AUTH, FEAT, NOOP and QUIT are accepted.',
        'upstream: NOOP',
        'client: 200 NOOP ok',
        'upstream: FEAT',
        'client: 211-Features: |  SIZE |  AUTH TLS |  PBSZ |  PROT | 211 End',
        'upstream: QUIT',
        'client: 221 Bye',
      ],
    },
    {
      desc: 'commands pipelined behind AUTH TLS in clear text are dropped, not run after the handshake',
      from: explicit,
      events: [u('220 FTP ready'), c('AUTH TLS', 'USER alice', 'PASS secret'), tlsUp],
      expected: ['client: 220 FTP ready', 'client: 234 AUTH TLS accepted: start the TLS handshake.', 'start TLS'],
    },
    {
      desc: 'clear text arriving while the handshake runs is dropped; upstream replies wait for TLS',
      from: explicit,
      events: [u('220 FTP ready'), c('AUTH TLS'), c('USER alice'), u('421 going down'), tlsUp],
      expected: ['client: 220 FTP ready', 'client: 234 AUTH TLS accepted: start the TLS handshake.', 'start TLS', 'client: 421 going down'],
    },
    {
      desc: 'after TLS the session is an FTPS session: login relayed, AUTH refused, FEAT lists AUTH TLS',
      from: secured,
      events: [c('USER alice'), u('331 Password please'), c('PASS secret'), u('230 Logged in'), c('AUTH TLS'), c('FEAT'), u(...feat)],
      expected: [
        'upstream: USER alice',
        'client: 331 Password please',
        'check login',
        'upstream: PASS secret',
        'client: 230 Logged in',
        'client: 534 AUTH refused: this connection is already protected by TLS.',
        'upstream: FEAT',
        'client: 211-Features: |  SIZE |  AUTH TLS |  PBSZ |  PROT | 211 End',
      ],
    },
    {
      desc: 'after TLS, transfers need PBSZ/PROT P like on the implicit port',
      from: secured,
      events: [c('USER alice'), u('331 Password please'), c('PASS secret'), u('230 Logged in'), c('RETR x'), c('PBSZ 0'), c('PROT P'), ...epsvLeased],
      expected: [
        'upstream: USER alice',
        'client: 331 Password please',
        'check login',
        'upstream: PASS secret',
        'client: 230 Logged in',
        'client: 521 Data connections must be encrypted: send "PBSZ 0" and "PROT P" first.',
        'client: 200 PBSZ=0',
        'client: 200 Data channel protection level set to Private',
        'upstream: EPSV',
        'acquire lease for 3004 (PROT P)',
        'client: 229 Entering Extended Passive Mode (|||4004|)',
      ],
    },
    {
      desc: 'a failed handshake ends the session',
      from: explicit,
      events: [u('220 FTP ready'), c('AUTH TLS'), { type: 'tls-failed', reason: 'client closed during the TLS handshake' }],
      expected: [
        'client: 220 FTP ready',
        'client: 234 AUTH TLS accepted: start the TLS handshake.',
        'start TLS',
        'close: TLS handshake after AUTH TLS failed: client closed during the TLS handshake',
      ],
    },
  ]);

  it('the implicit port still answers AUTH with 534 and lists no AUTH in FEAT', () => {
    expect(run([c('AUTH TLS'), c('FEAT'), u(...feat)], afterLogin).lines).toEqual([
      'client: 534 AUTH is not needed: this connection is already protected by TLS (implicit FTPS).',
      'upstream: FEAT',
      'client: 211-Features: |  SIZE |  PBSZ |  PROT | 211 End',
    ]);
  });
});

describe('commands without a transfer', () => {
  const env: ControlEnv = { ...defaultEnv, maxCommandsWithoutTransfer: 3 };
  const counted = { ...afterLogin, commandsWithoutTransfer: 0 };
  const protectedSession = run([c('PBSZ 0'), c('PROT P')], counted).state;
  table([
    {
      desc: 'the command beyond the limit ends the session with 421',
      env,
      from: counted,
      events: [c('NOOP'), u('200 ok'), c('NOOP'), u('200 ok'), c('PWD'), u('257 "/"'), c('NOOP')],
      expected: [
        'upstream: NOOP',
        'client: 200 ok',
        'upstream: NOOP',
        'client: 200 ok',
        'upstream: PWD',
        'client: 257 "/"',
        'client: 421 Too many commands without a transfer (limit 3); closing the connection.',
        'close: too many commands without a transfer',
      ],
    },
    {
      desc: 'a transfer that goes upstream starts the count again',
      env,
      from: { ...protectedSession, commandsWithoutTransfer: 0 },
      events: [c('NOOP'), u('200 ok'), c('NOOP'), u('200 ok'), c('LIST'), u('425 no data connection'), c('NOOP'), u('200 ok'), c('NOOP'), u('200 ok'), c('NOOP'), u('200 ok')],
      expected: [
        'upstream: NOOP',
        'client: 200 ok',
        'upstream: NOOP',
        'client: 200 ok',
        'upstream: LIST',
        'client: 425 no data connection',
        'upstream: NOOP',
        'client: 200 ok',
        'upstream: NOOP',
        'client: 200 ok',
        'upstream: NOOP',
        'client: 200 ok',
      ],
    },
    {
      desc: 'commands answered here (active mode refused) count like any command',
      env,
      from: counted,
      events: [c('NOOP'), u('200 ok'), c('PORT 127,0,0,1,4,1'), c('PORT 127,0,0,1,4,1'), c('PORT 127,0,0,1,4,1')],
      expected: [
        'upstream: NOOP',
        'client: 200 ok',
        'client: 502 PORT: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).',
        'client: 502 PORT: active mode is not available through this TLS gateway; use passive mode (PASV or EPSV).',
        'client: 421 Too many commands without a transfer (limit 3); closing the connection.',
        'close: too many commands without a transfer',
      ],
    },
  ]);
});
