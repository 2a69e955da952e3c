/**
 * The login defender across two gateway replicas (two stacks sharing one
 * Redis key prefix, as replicas do): failed logins from one address counted
 * on both, the address banned on both once they reach the limit, its open
 * sessions refused their next password, other addresses served, the
 * allow-list never banned, the operator's API listing and lifting bans, and
 * the records naming the users tried but never a password.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import type { LoginBan } from '@st/contracts';
import { connectBasicFtp, curl } from './harness/clients.js';
import { ftpPassword, ftpUser, startStack, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

const attacker = '127.0.0.2';
const allowed = '127.0.0.3';
const wrongPassword = 'guess-7f3a9c';

/** One FTP control connection read line by line (implicit FTPS). */
async function control(stack: Stack, localAddress: string): Promise<{ line(): Promise<string>; send(line: string): void; close(): void }> {
  const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.ftps, localAddress, ca: stack.caPem });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  let buffered = '';
  const waiting: Array<(line: string) => void> = [];
  const deliver = () => {
    let end: number;
    while (waiting.length > 0 && (end = buffered.indexOf('\r\n')) !== -1) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      waiting.shift()!(line);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    deliver();
  });
  socket.on('close', () => {
    for (const resolve of waiting.splice(0)) resolve('(closed)');
  });
  socket.on('error', () => undefined);
  return {
    line: () =>
      new Promise((resolve) => {
        if (socket.destroyed && buffered === '') return resolve('(closed)');
        waiting.push(resolve);
        deliver();
      }),
    send: (line) => socket.write(`${line}\r\n`),
    close: () => socket.destroy(),
  };
}

/** curl logging in with a wrong password from an address; curl's exit code 67 is "login denied". */
async function failLogin(stack: Stack, from: string, user = ftpUser): Promise<number | null> {
  const result = await curl(stack, ['--interface', from, `ftps://${encodeURIComponent(user)}:${wrongPassword}@127.0.0.1:${stack.ports.ftps}/`]);
  return result.code;
}

/** Python's ftplib over explicit FTPS, from an address: "ok" or the error it read. */
function pythonLogin(stack: Stack, from: string, password: string): Promise<string> {
  const script = [
    'import ftplib, ssl, sys',
    'host, port, user, password, ca, source = sys.argv[1:7]',
    'context = ssl.create_default_context(cafile=ca)',
    'context.check_hostname = False',
    'try:',
    '    ftp = ftplib.FTP_TLS(context=context, source_address=(source, 0), timeout=20)',
    '    ftp.connect(host, int(port))',
    '    ftp.login(user, password)',
    '    print("ok")',
    'except ftplib.all_errors as error:',
    '    print(str(error))',
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn('python3', ['-c', script, '127.0.0.1', String(stack.ports.explicitFtps), ftpUser, password, stack.caFile, from], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', () => resolve(output.trim()));
  });
}

async function api(stack: Stack, method: string, path: string, token: string | null = stack.adminToken): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.configServiceUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: await response.json() };
}

describe('login defender across two replicas', () => {
  let first: Stack;
  let second: Stack;
  beforeAll(async () => {
    const redisPrefix = `sttest:${randomBytes(4).toString('hex')}:`;
    const settings = (base: Stack['settings']) => ({ ...base, loginDefender: { ...base.loginDefender, maxFailures: 3, windowMs: 60_000, banMs: 60_000, maxBanMs: 600_000, allowList: [`${allowed}/32`] } });
    first = await startStack({ redisPrefix, settings, explicitFtps: true });
    second = await startStack({ redisPrefix, settings, explicitFtps: true });
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  it('bans an address whose failures on both replicas reach the limit; every replica then refuses it, others are served; an operator lifts the ban', async () => {
    // A session opened before the ban, at its password prompt.
    const early = await control(second, attacker);
    expect(await early.line()).toMatch(/^220 /);
    early.send(`USER ${ftpUser}`);
    expect(await early.line()).toMatch(/^331 /);

    expect(await failLogin(first, attacker, 'mallory')).toBe(67);
    expect(await pythonLogin(second, attacker, wrongPassword)).toMatch(/^530 /);
    expect(await failLogin(first, attacker)).toBe(67);

    // Banned everywhere: a new connection on the other replica is told so before the file server hears of it.
    const refused = await control(second, attacker);
    const greeting = await refused.line();
    expect(greeting).toMatch(/^421 Too many failed logins from your address: logins are refused until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(about 1 minute\); closing the connection\.$/);
    expect(await refused.line()).toBe('(closed)');
    // Even the right password gets no further, also on the session opened before the ban.
    early.send(`PASS ${ftpPassword}`);
    expect(await early.line()).toMatch(/^421 Too many failed logins/);
    expect(await early.line()).toBe('(closed)');
    expect(await pythonLogin(first, attacker, ftpPassword)).toMatch(/^421 Too many failed logins/);

    // Another address is served as before.
    const client = await connectBasicFtp(second);
    expect((await client.pwd()).length).toBeGreaterThan(0);
    client.close();

    // Both replicas' operator APIs list the ban, with the users tried and never a password.
    expect((await api(first, 'GET', '/login-bans', null)).status).toBe(401);
    for (const stack of [first, second]) {
      const { status, body } = await api(stack, 'GET', '/login-bans');
      expect(status).toBe(200);
      const bans = body.bans as LoginBan[];
      expect(bans).toHaveLength(1);
      expect(bans[0]).toMatchObject({ address: attacker, failures: 3, offence: 1, users: ['mallory', ftpUser] });
      expect(Date.parse(bans[0]!.bannedUntil) - Date.parse(bans[0]!.bannedAt)).toBe(60_000);
    }
    const logs = (await readFile(first.logFile, 'utf8')) + (await readFile(second.logFile, 'utf8'));
    expect(logs).not.toContain(wrongPassword);
    expect(logs).not.toContain(ftpPassword);
    const banRecords = logs.split('\n').filter((line) => line.includes('FTP logins from an address banned after repeated failures'));
    expect(banRecords).toHaveLength(1);
    expect(JSON.parse(banRecords[0]!)).toMatchObject({ level: 'warn', client: attacker, users: ['mallory', ftpUser], failures: 3, offence: 1, banMs: 60_000 });
    expect(logs).toMatch(/"client":"127\.0\.0\.2".*"msg":"FTP connection refused: address banned after failed logins"/);

    // The operator's API: clear refusals for what is not a ban, then the lift.
    expect(await api(first, 'DELETE', '/login-bans/not-an-address')).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('is not an IP address') } } });
    expect(await api(first, 'DELETE', '/login-bans/10.0.0.0%2F8')).toMatchObject({ status: 400 });
    expect(await api(first, 'DELETE', '/login-bans/127.0.0.9')).toMatchObject({ status: 404, body: { error: { message: expect.stringContaining('127.0.0.9 is not banned') } } });
    expect(await api(second, 'DELETE', `/login-bans/${attacker}`)).toMatchObject({ status: 200, body: { lifted: { address: attacker } } });
    expect((await api(first, 'GET', '/login-bans')).body.bans).toEqual([]);
    expect(await pythonLogin(first, attacker, ftpPassword)).toBe('ok');
    expect(await readFile(second.logFile, 'utf8')).toMatch(/"client":"127\.0\.0\.2".*"msg":"login ban lifted by an operator"/);
  });

  it('never bans an address on the allow-list', async () => {
    for (let attempt = 0; attempt < 5; attempt++) expect(await failLogin(attempt % 2 ? first : second, allowed)).toBe(67);
    expect(await pythonLogin(first, allowed, ftpPassword)).toBe('ok');
    expect((await api(first, 'GET', '/login-bans')).body.bans).toEqual([]);
  });

  it('the next ban of the same address lasts twice as long', async () => {
    const from = '127.0.0.4';
    for (let attempt = 0; attempt < 3; attempt++) await failLogin(first, from);
    const [ban] = (await api(first, 'GET', '/login-bans')).body.bans as LoginBan[];
    expect(ban).toMatchObject({ address: from, offence: 1 });
    // The first ban ends (its key expires in Redis; removed here instead of waiting a minute).
    await first.redis.del(`${first.redisPrefix}login-ban:${from}`);
    expect(await pythonLogin(second, from, ftpPassword)).toBe('ok');
    for (let attempt = 0; attempt < 3; attempt++) await failLogin(second, from);
    const [again] = (await api(second, 'GET', '/login-bans')).body.bans as LoginBan[];
    expect(again).toMatchObject({ address: from, offence: 2 });
    expect(Date.parse(again!.bannedUntil) - Date.parse(again!.bannedAt)).toBe(120_000);
  });
});
