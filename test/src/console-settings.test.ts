import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { freePort, freePortBlock } from '@st/test-kit';
import { curl } from './harness/clients.js';
import { startConsoleStack, type ConsoleStack } from './harness/console.js';
import { ftpPassword, ftpUser, waitFor } from './harness/stack.js';

jest.setTimeout(180_000);

let system: ConsoleStack;
let page: Page;

beforeAll(async () => {
  system = await startConsoleStack({ passivePorts: 3 });
  page = await system.newPage();
  await system.signIn(page, system.stack.adminToken);
});

afterAll(async () => {
  await system?.stop();
});

const ftpsUrlOn = (port: number, path: string) => `ftps://${ftpUser}:${encodeURIComponent(ftpPassword)}@127.0.0.1:${port}/${path}`;

async function settingsVersion(): Promise<number> {
  const response = await fetch(`${system.stack.configServiceUrl}/settings`, { headers: { authorization: `Bearer ${system.stack.adminToken}` } });
  return ((await response.json()) as { version: number }).version;
}

it('Install & Run shows the tunnel, every service, the gateway replica with its settings version, certificate and connections, and how clients connect', async () => {
  await page.getByRole('tab', { name: 'Install & Run' }).click();
  await page.getByTestId('tunnel-state').getByText('Running').waitFor();
  const replicas = page.getByTestId('replicas');
  await replicas.getByText('ready').first().waitFor();
  expect(await replicas.textContent()).toContain(String(await settingsVersion()));
  for (const name of ['config-service', 'cert-service', 'log-service']) await page.getByRole('rowheader', { name }).waitFor();
  expect(await page.locator('#connect-heading').count()).toBe(1);
  await page.getByText(`ftps://127.0.0.1:${system.stack.ports.ftps}`).first().waitFor();
  await page.getByRole('heading', { name: 'FileZilla' }).waitFor();
  await page.getByRole('heading', { name: 'WinSCP' }).waitFor();
  await page.getByTestId('days-left').getByText(/Valid for \d+ more days/).waitFor();
  await system.screenshot(page, 'install-and-run');
});

it('the passive range and FTPS port changed in the form: the preview shows the new public ports before applying; after applying an FTPS transfer works on them; rolled back from the history', async () => {
  const before = await settingsVersion();
  const newFtps = await freePort();
  const pool = await freePortBlock(3);
  await page.getByRole('tab', { name: 'Ports & Settings' }).click();
  await page.getByLabel('FTPS port (implicit TLS)').fill(String(newFtps));
  await page.getByLabel('Public passive ports').selectOption('pool');
  await page.getByLabel('Public passive range: first port').fill(String(pool));
  await page.getByLabel('Public passive range: last port').fill(String(pool + 2));
  const preview = page.getByTestId('preview-ports');
  await preview.getByText(String(newFtps)).waitFor();
  await preview.getByText(`${pool}–${pool + 2}`).waitFor();
  await page.getByTestId('preview-changes').getByText('public.ftpsPort').waitFor();
  // Nothing is stored by the preview.
  expect(await settingsVersion()).toBe(before);

  // A bad value is explained next to its field before anything is applied.
  await page.getByLabel('HTTPS port').fill(String(newFtps));
  await page.locator('#settings-httpsPort-error').waitFor();
  expect(await page.getByRole('button', { name: 'Apply' }).isDisabled()).toBe(true);
  await page.getByLabel('HTTPS port').fill(String(system.stack.ports.https));
  await page.locator('#settings-httpsPort-error').waitFor({ state: 'detached' });
  await preview.getByText(String(newFtps)).waitFor();
  await system.screenshot(page, 'ports-and-settings-preview');

  await page.getByLabel('Reason for the change (kept in the history)').fill('move FTPS');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText(/Applied as settings version \d+/).waitFor();
  expect(await settingsVersion()).toBe(before + 1);

  const file = join(system.stack.filesDir, 'console.txt');
  await (await import('node:fs/promises')).writeFile(file, 'through the new ports\n');
  let result = { code: -1 as number | null, stdout: '', stderr: '' };
  await waitFor(async () => {
    result = await curl(system.stack, ['--ssl-reqd', '--max-time', '20', ftpsUrlOn(newFtps, 'console.txt')]);
    return result.code === 0;
  }, 15_000, 'an FTPS transfer on the new port').catch((error: Error) => {
    throw new Error(`${error.message}: curl exit ${result.code}, ${result.stderr}`);
  });
  expect(result.stdout).toBe('through the new ports\n');
  // The data connection came through the new public pool: the gateway's log names the port it leased.
  const log = await readFile(system.stack.logFile, 'utf8');
  expect(log).toMatch(new RegExp(`"publicPort":(${pool}|${pool + 1}|${pool + 2})\\b`));

  // Roll back to the version before, from the history.
  await page.getByTestId('history').getByRole('button', { name: `Roll back to version ${before}` }).click();
  await page.getByText(`Rolled back: version ${before + 2} has the settings of version ${before}.`).waitFor();
  await waitFor(async () => (await page.getByLabel('FTPS port (implicit TLS)').inputValue()) === String(system.stack.ports.ftps), 10_000, 'the form shows the restored FTPS port');
  await waitFor(async () => (await curl(system.stack, ['--ssl-reqd', '--max-time', '20', ftpsUrlOn(system.stack.ports.ftps, 'console.txt')])).code === 0, 15_000, 'FTPS on the original port again');
  await system.screenshot(page, 'ports-and-settings');
});

it('Stop: curl cannot connect; Start: it can', async () => {
  const url = `https://127.0.0.1:${system.stack.ports.https}/`;
  await page.getByRole('tab', { name: 'Install & Run' }).click();
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByTestId('tunnel-state').getByText('Stopped').waitFor();
  await waitFor(async () => (await curl(system.stack, ['--max-time', '5', '-o', '/dev/null', url])).code === 7, 10_000, 'curl cannot connect (exit 7)');
  expect((await curl(system.stack, ['--ssl-reqd', '--max-time', '5', `ftps://127.0.0.1:${system.stack.ports.ftps}/`])).code).toBe(7);
  await system.screenshot(page, 'install-and-run-stopped');

  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByTestId('tunnel-state').getByText('Running').waitFor();
  await waitFor(async () => (await curl(system.stack, ['--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', url])).code === 0, 10_000, 'curl connects again');
});
