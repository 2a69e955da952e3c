import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Page } from 'playwright-core';
import { startConsoleStack, type ConsoleStack } from './harness/console.js';
import { waitFor } from './harness/stack.js';

jest.setTimeout(180_000);

let system: ConsoleStack;
let page: Page;

beforeAll(async () => {
  system = await startConsoleStack();
  page = await system.newPage();
  await system.signIn(page, system.stack.adminToken);
});

afterAll(async () => {
  await system?.stop();
});

/** The leaf certificate the gateway's HTTPS port presents, verified against `ca` (or unverified without one). */
function presented(servername: string, ca?: string): Promise<{ cert: X509Certificate; authorized: boolean; error: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: system.stack.ports.https, servername, rejectUnauthorized: false, ...(ca ? { ca } : {}) }, () => {
      const raw = socket.getPeerCertificate().raw;
      resolve({ cert: new X509Certificate(raw), authorized: socket.authorized, error: socket.authorizationError ? String(socket.authorizationError) : null });
      socket.end();
    });
    socket.once('error', reject);
  });
}

it('auto-generates a self-signed certificate for a new server name from the information sheet; new TLS connections to the gateway get it', async () => {
  await page.getByRole('tab', { name: 'Certificate' }).click();
  await page.getByRole('button', { name: 'Auto-generate…' }).click();
  // A wrong server name is explained next to its field and stores nothing.
  await page.getByLabel('Server name (required)').fill('not a name!');
  await page.getByRole('button', { name: 'Generate and activate' }).click();
  await page.locator('#generate-serverName-error').waitFor();
  expect(await page.locator('#generate-serverName-error').textContent()).toMatch(/\S/);

  await page.getByLabel('Server name (required)').fill('files.console.test');
  await page.getByLabel('Organisation').fill('Console Test Ltd');
  await page.getByLabel('Country (two letters)').fill('GB');
  await page.getByLabel('Key type').selectOption('ecdsa-p256');
  await system.screenshot(page, 'certificate-auto-generate');
  await page.getByRole('button', { name: 'Generate and activate' }).click();
  await page.getByText('Generated a self-signed certificate for files.console.test').waitFor();
  await page.getByTestId('active-certificate').getByText('DNS:files.console.test').waitFor();

  let seen: X509Certificate | undefined;
  await waitFor(async () => {
    seen = (await presented('files.console.test')).cert;
    return seen.subject.includes('CN=files.console.test');
  }, 10_000, 'the gateway presents the generated certificate');
  expect(seen!.subjectAltName).toContain('DNS:files.console.test');
});

it('creates a CSR, loads the certificate a test CA signed with its intermediate pasted first: the verdict says the chain was reordered; once active, a client trusting only the root verifies the gateway', async () => {
  const dir = join(system.stack.dir, 'test-ca');
  execFileSync('mkdir', ['-p', dir]);
  await page.getByRole('tab', { name: 'Certificate' }).click();
  await page.getByRole('button', { name: 'Create CSR…' }).click();
  await page.getByLabel('Server name (required)').fill('ca.console.test');
  await page.getByLabel('Organisation').fill('Console Test Ltd');
  await page.getByRole('button', { name: 'Create key and CSR' }).click();
  await page.getByText('Created a key and a CSR for ca.console.test').waitFor();
  await page.getByTestId('requests').getByRole('rowheader', { name: 'ca.console.test' }).waitFor();

  // The CSR as the operator downloads it.
  const downloadStarted = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download the CSR' }).click();
  const download = await downloadStarted;
  const csrFile = join(dir, 'request.csr');
  await download.saveAs(csrFile);
  expect(await readFile(csrFile, 'utf8')).toContain('BEGIN CERTIFICATE REQUEST');

  // A root and an intermediate authority made here with openssl; the intermediate signs the request.
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  await writeFile(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  await writeFile(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:ca.console.test\n');
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '30', '-subj', '/CN=Console Test Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/CN=Console Test Intermediate');
  ossl('x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'inter.pem', '-days', '30', '-extfile', 'ca.ext');
  ossl('x509', '-req', '-in', 'request.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '20', '-extfile', 'leaf.ext');
  const [root, intermediate, leaf] = await Promise.all(['root.pem', 'inter.pem', 'leaf.pem'].map((name) => readFile(join(dir, name), 'utf8')));

  await page.getByRole('button', { name: 'Load…' }).click();
  await page.getByLabel('Certificate (PEM)').fill(`${intermediate}${leaf}`);
  await page.getByRole('button', { name: 'Check' }).click();
  const verdict = page.getByTestId('verdict');
  await verdict.getByText('CHAIN_REORDERED').waitFor();
  expect(await verdict.textContent()).toMatch(/Can be stored, with warnings/);
  await system.screenshot(page, 'certificate-load-verdict');
  await page.getByRole('button', { name: 'Save certificate' }).click();
  await page.getByText(/Stored .*ca\.console\.test.* and made it active/).waitFor();

  await waitFor(async () => (await presented('ca.console.test')).cert.subject.includes('CN=ca.console.test'), 10_000, 'the gateway presents the CA-signed certificate');
  const check = await presented('ca.console.test', root);
  expect({ authorized: check.authorized, error: check.error }).toEqual({ authorized: true, error: null });
  // The pending request was completed by the load.
  await page.getByRole('tab', { name: 'Install & Run' }).click();
  await page.getByRole('tab', { name: 'Certificate' }).click();
  await page.getByTestId('certificate-versions').getByText('CN=ca.console.test').first().waitFor();
  await system.screenshot(page, 'certificate');
});

it('versions: an earlier certificate is activated again (roll back) and the exported stunnel.cert is the active one', async () => {
  await page.getByRole('tab', { name: 'Certificate' }).click();
  const row = page.getByTestId('certificate-versions').locator('tr', { hasText: 'files.console.test' });
  await row.getByRole('button', { name: /^Activate/ }).click();
  await page.getByText(/Activated .*files\.console\.test/).waitFor();
  await waitFor(async () => (await presented('files.console.test')).cert.subject.includes('CN=files.console.test'), 10_000, 'the gateway presents the earlier certificate again');

  const downloadStarted = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export stunnel.cert', exact: true }).click();
  const download = await downloadStarted;
  expect(download.suggestedFilename()).toBe('stunnel.cert');
  const exported = await readFile((await download.path())!, 'utf8');
  expect(new X509Certificate(exported).subject).toContain('CN=files.console.test');
});

it('serves the first (RSA) certificate alongside the active ECDSA one: RSA-only clients get it, ECDSA clients keep theirs; stopped again from the same row', async () => {
  await page.getByRole('tab', { name: 'Certificate' }).click();
  const versions = page.getByTestId('certificate-versions');
  // files.console.test (ECDSA) is active again; the first certificate, made at start for 127.0.0.1, has an RSA key.
  const rsaRow = versions.locator('tr', { hasText: 'CN=127.0.0.1' }).first();
  // Certificates of the active one's kind offer no such button.
  expect(await versions.locator('tr', { hasText: 'ca.console.test' }).first().getByRole('button', { name: /alongside/ }).count()).toBe(0);
  await rsaRow.getByRole('button', { name: /^Serve .* alongside the active certificate$/ }).click();
  await page.getByText(/Serving CN=127\.0\.0\.1 \(RSA 2048\) alongside the active certificate/).waitFor();
  await rsaRow.getByText('Active alongside').waitFor();
  const served = (sigalgs: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: system.stack.ports.https, servername: 'files.console.test', rejectUnauthorized: false, sigalgs }, () => {
        resolve(new X509Certificate(socket.getPeerCertificate().raw).subject);
        socket.end();
      });
      socket.once('error', reject);
    });
  await waitFor(async () => (await served('RSA-PSS+SHA256:RSA+SHA256').catch(() => '')).includes('CN=127.0.0.1'), 10_000, 'the RSA certificate served alongside');
  expect(await served('ECDSA+SHA256')).toContain('CN=files.console.test');
  await system.screenshot(page, 'certificate-alongside');
  await rsaRow.getByRole('button', { name: /^Stop serving/ }).click();
  await page.getByText(/Stopped serving CN=127\.0\.0\.1/).waitFor();
  await waitFor(async () => (await served('RSA-PSS+SHA256:RSA+SHA256').catch(() => 'refused')) === 'refused', 10_000, 'only the ECDSA certificate served');
});
