import { LoginBanStore } from '@st/login-bans';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { logApi } from '@st/contracts';
import { curl, ftpsUrl } from './harness/clients.js';
import { operatorToken, startConsoleStack, type ConsoleStack } from './harness/console.js';
import { waitFor } from './harness/stack.js';

jest.setTimeout(180_000);

let system: ConsoleStack;
let page: Page;

beforeAll(async () => {
  system = await startConsoleStack();
  page = await system.newPage();
  await system.signIn(page, system.stack.adminToken, 'Alice Admin');
});

afterAll(async () => {
  await system?.stop();
});

/** Signs in through the API (no browser) and returns the cookie and the CSRF token. */
async function apiSignIn(secret: string): Promise<{ status: number; cookie: string; csrfToken: string; retryAfter: string | null }> {
  const response = await system.consoleFetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret, name: 'api' }) });
  const body = (await response.json()) as { csrfToken?: string };
  return { status: response.status, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrfToken: body.csrfToken ?? '', retryAfter: response.headers.get('retry-after') };
}

it('Log tab with live follow: an FTPS transfer\'s control and data records appear within 2 s; a click on its session id lists them all', async () => {
  await writeFile(join(system.stack.filesDir, 'followed.txt'), 'followed\n');
  await page.getByRole('tab', { name: 'Log' }).click();
  await page.getByLabel('Service', { exact: true }).selectOption('tunnel-gateway');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByLabel('Live follow').check();
  await page.getByTestId('follow-state').getByText('Following live').waitFor();

  const result = await curl(system.stack, ['--ssl-reqd', '--max-time', '20', ftpsUrl(system.stack, 'followed.txt')]);
  expect(result).toMatchObject({ code: 0, stdout: 'followed\n' });
  const transferEnded = Date.now();
  const records = page.getByTestId('log-records');
  await records.getByText('data connection finished').first().waitFor({ timeout: 2000 });
  await records.getByText('FTP control connection closed').first().waitFor({ timeout: Math.max(100, 2000 - (Date.now() - transferEnded)) });
  expect(Date.now() - transferEnded).toBeLessThan(2000);

  // The session of that data connection: one click lists its control and data connections' records.
  const row = records.locator('tr', { hasText: 'data connection finished' }).first();
  const session = (await row.locator('button[data-session]').getAttribute('data-session'))!;
  expect(session).toMatch(/^ses_/);
  await page.getByLabel('Live follow').uncheck();
  await row.locator('button[data-session]').click();
  await page.getByRole('heading', { name: `Session ${session}: control and data connections` }).waitFor();
  await records.getByText('FTP control connection opened').waitFor();
  await records.getByText('data connection finished').first().waitFor();
  const sessions = await records.locator('button[data-session]').evaluateAll((buttons) => [...new Set(buttons.map((button) => button.getAttribute('data-session')))]);
  expect(sessions).toEqual([session]);
  await records.getByText('data connection secured').first().waitFor();
  await system.screenshot(page, 'log');
});

it('every change made through the console is logged with who, what and when', async () => {
  await page.getByRole('tab', { name: 'Install & Run' }).click();
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByTestId('tunnel-state').getByText('Stopped').waitFor();
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByTestId('tunnel-state').getByText('Running').waitFor();
  type Change = { time: string; msg: string; change: { who: string; action: string; status: number } };
  let changes: Change[] = [];
  await waitFor(async () => {
    const response = await fetch(`${system.logUrl}${logApi.records}?service=console&text=${encodeURIComponent('console change')}`, { headers: { authorization: `Bearer ${operatorToken}` } });
    changes = ((await response.json()) as { records: Change[] }).records;
    return changes.length >= 2;
  }, 10_000, 'the console\'s change records in the log-service');
  expect(changes.map((record) => record.change.action).sort()).toEqual(['start tunnel', 'stop tunnel']);
  for (const record of changes) {
    expect(record.change.who).toMatch(/^Alice Admin \(admin, token, from 127\.0\.0\.1\)$/);
    expect(record.change.status).toBe(201);
    expect(Date.parse(record.time)).toBeGreaterThan(Date.now() - 60_000);
  }
  // The settings history says who, too.
  const versions = await fetch(`${system.stack.configServiceUrl}/settings/versions?limit=1`, { headers: { authorization: `Bearer ${system.stack.adminToken}` } });
  const latest = ((await versions.json()) as { versions: Array<{ comment: string }> }).versions[0]!;
  expect(latest.comment).toBe('start tunnel from the console by Alice Admin (admin, token, from 127.0.0.1)');
});

it('login bans: the overview lists a banned address with the user names it tried; an admin lifts the ban', async () => {
  const bans = new LoginBanStore(system.stack.redis, system.stack.redisPrefix);
  const { maxFailures, windowMs, banMs, maxBanMs } = system.stack.settings.loginDefender;
  for (let attempt = 0; attempt < maxFailures; attempt++) await bans.recordFailure('192.0.2.77', attempt % 2 ? 'root' : 'admin', { maxFailures, windowMs, banMs, maxBanMs });
  await page.getByRole('tab', { name: 'Install & Run' }).click();
  const row = page.getByTestId('login-bans').locator('tr', { hasText: '192.0.2.77' });
  await row.waitFor();
  expect(await row.textContent()).toContain('admin, root');
  await system.screenshot(page, 'login-bans');
  await row.getByRole('button', { name: 'Lift the ban on 192.0.2.77' }).click();
  await page.getByText('Lifted the ban on 192.0.2.77').waitFor();
  await page.getByTestId('login-bans').getByText('No address is banned.').waitFor();
  expect(await bans.banOf('192.0.2.77')).toBeNull();
});

it('operator: every change control is disabled, and the API refuses changes with 403', async () => {
  const operatorPage = await system.newPage();
  await system.signIn(operatorPage, operatorToken, 'Olga Operator');
  await operatorPage.getByText('Signed in as operator').waitFor();
  await operatorPage.getByTestId('tunnel-state').getByText('Running').waitFor();
  await system.screenshot(operatorPage, 'install-and-run-operator');
  for (const name of ['Start', 'Stop']) expect(await operatorPage.getByRole('button', { name, exact: true }).isDisabled()).toBe(true);
  await operatorPage.getByTestId('login-bans').getByText('No address is banned.').waitFor();
  await operatorPage.getByRole('tab', { name: 'Certificate' }).click();
  await operatorPage.getByTestId('certificate-versions').locator('tbody tr').first().waitFor();
  for (const name of ['Auto-generate…', 'Create CSR…', 'Load…']) expect(await operatorPage.getByRole('button', { name }).isDisabled()).toBe(true);
  for (const button of await operatorPage.getByTestId('certificate-versions').getByRole('button').all()) expect(await button.isDisabled()).toBe(true);
  expect(await operatorPage.getByRole('link', { name: 'Export stunnel.cert.key' }).count()).toBe(0);
  await operatorPage.getByRole('tab', { name: 'Ports & Settings' }).click();
  await operatorPage.getByTestId('history').waitFor();
  for (const field of await operatorPage.locator('#settings-form-heading ~ * input, #settings-form-heading ~ * select').all()) expect(await field.isDisabled()).toBe(true);
  expect(await operatorPage.getByLabel('FTPS port (implicit TLS)').isDisabled()).toBe(true);
  expect(await operatorPage.getByRole('button', { name: 'Apply' }).isDisabled()).toBe(true);
  for (const button of await operatorPage.getByTestId('history').getByRole('button').all()) expect(await button.isDisabled()).toBe(true);
  await system.screenshot(operatorPage, 'ports-and-settings-operator');
  await operatorPage.close();

  // The API, with the operator's own session and CSRF token: reads work, changes are 403.
  const operator = await apiSignIn(operatorToken);
  expect(operator.status).toBe(201);
  const call = (method: string, path: string, body?: unknown) =>
    system.consoleFetch(path, { method, headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrfToken, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  expect((await call('GET', '/api/config/settings')).status).toBe(200);
  expect((await call('GET', '/api/cert/certificates')).status).toBe(200);
  const refused = [
    await call('POST', '/api/tunnel', { enabled: false }),
    await call('PATCH', '/api/config/settings', { public: { ftpsPort: 9999 } }),
    await call('POST', '/api/config/settings/rollback', { version: 1 }),
    await call('POST', '/api/cert/certificates/self-signed', { serverName: 'evil.test', activate: true }),
    await call('POST', '/api/cert/certificates/active/activate'),
    await call('DELETE', '/api/cert/certificates/active'),
    await call('GET', '/api/cert/certificates/active/stunnel.cert.key'),
    await call('DELETE', '/api/config/login-bans/192.0.2.77'),
    await call('POST', '/api/cert/certificates/active/activate-alongside'),
  ];
  expect(refused.map((response) => response.status)).toEqual([403, 403, 403, 403, 403, 403, 403, 403, 403]);
  expect((await call('GET', '/api/config/login-bans')).status).toBe(200);
  expect(((await refused[0]!.json()) as { error: { code: string } }).error.code).toBe('READ_ONLY_ROLE');
  // A preview stores nothing and is open to operators.
  expect((await call('PATCH', '/api/config/settings?dryRun=true', { public: { ftpsPort: 9999 } })).status).toBe(200);
});

it('malformed, oversized and mistyped bodies get a clear 4xx in plain words, and the console goes on', async () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    system.consoleFetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const admin = await apiSignIn(system.stack.adminToken);
  const signedIn = { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken };
  const cases = [
    { path: '/api/session', body: '{"secret":', headers: {}, status: 400 },
    { path: '/api/session', body: JSON.stringify({ secret: 5 }), headers: {}, status: 400 },
    { path: '/api/session', body: JSON.stringify({ secret: 'x'.repeat(3 * 1024 * 1024) }), headers: {}, status: 413 },
    { path: '/api/tunnel', body: JSON.stringify({ enabled: 'yes' }), headers: signedIn, status: 400 },
    { path: '/api/tunnel', body: '[true]', headers: signedIn, status: 400 },
  ];
  for (const { path, body, headers, status } of cases) {
    const response = await post(path, body, headers);
    const answer = (await response.json()) as { error: { message: string } };
    expect({ path, status: response.status }).toEqual({ path, status });
    expect(answer.error.message).toMatch(/\S/);
    // Words for an operator, never a parser's internals.
    expect(answer.error.message).not.toMatch(/Unexpected token|SyntaxError|at JSON\.parse|node_modules|entity\.too\.large/);
  }
  // Nothing changed, and the console still signs people in.
  const settings = await system.consoleFetch('/api/config/settings', { headers: { cookie: admin.cookie } });
  expect(((await settings.json()) as { settings: { tunnelEnabled: boolean } }).settings.tunnelEnabled).toBe(true);
  expect((await apiSignIn(system.stack.adminToken)).status).toBe(201);
});

it('a change without the CSRF token is refused, even with a valid admin session; the session cookie is HttpOnly, Secure and SameSite=Strict', async () => {
  const response = await system.consoleFetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: system.stack.adminToken }) });
  expect(response.headers.get('set-cookie')).toMatch(/^__Host-st-console=[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  const admin = { cookie: response.headers.get('set-cookie')!.split(';')[0]!, csrfToken: ((await response.json()) as { csrfToken: string }).csrfToken };
  const send = (headers: Record<string, string>) =>
    system.consoleFetch('/api/tunnel', { method: 'POST', headers: { cookie: admin.cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ enabled: false }) });
  const without = await send({});
  expect(without.status).toBe(403);
  expect(((await without.json()) as { error: { code: string } }).error.code).toBe('CSRF_TOKEN_INVALID');
  expect((await send({ 'x-csrf-token': 'not-the-token' })).status).toBe(403);
  // Nothing changed: the tunnel still runs.
  const settings = await fetch(`${system.stack.configServiceUrl}/settings`, { headers: { authorization: `Bearer ${system.stack.adminToken}` } });
  expect(((await settings.json()) as { settings: { tunnelEnabled: boolean } }).settings.tunnelEnabled).toBe(true);
  // The page itself is served with a strict policy: scripts only from the console, nothing inline.
  const html = await system.consoleFetch('/');
  expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(html.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  expect(await html.text()).not.toMatch(/<script>(?!<\/script>)/);
});

it('a wrong token is refused, and repeated failures are slowed down (429 with Retry-After), even for the right token afterwards', async () => {
  // The page is open before the failures: the browser's attempt below must come while the address is slowed down.
  const fresh = await system.newPage();
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) statuses.push((await apiSignIn('wrong-token')).status);
  expect(statuses).toEqual([401, 401, 401]);
  const slowed = await apiSignIn(system.stack.adminToken);
  expect(slowed.status).toBe(429);
  expect(Number(slowed.retryAfter)).toBeGreaterThanOrEqual(1);
  // In the browser, the message says so next to the field.
  await fresh.getByLabel('Token or password').fill('wrong-again');
  await fresh.getByRole('button', { name: 'Sign in' }).click();
  await fresh.getByText(/too many failed sign-ins from this address; try again in \d+ s/).waitFor();
  await system.screenshot(fresh, 'sign-in-slowed');
  await fresh.close();
  // After the wait, the right token signs in again (and clears the count).
  await new Promise((resolve) => setTimeout(resolve, Number(slowed.retryAfter) * 1000 + 100));
  expect((await apiSignIn(system.stack.adminToken)).status).toBe(201);
});
