import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { startStack, type Stack } from './harness/stack.js';

/**
 * What a TLS scanner says of the gateway: testssl.sh (Debian's) against the
 * HTTPS port, the implicit FTPS port and the explicit FTPS port (STARTTLS
 * FTP). Any weak protocol, weak cipher or reported vulnerability fails the
 * test; findings about trusting the test's self-signed certificate and HTTP
 * header advice do not (they are about the test setup and the upstream).
 */
const testssl = ['testssl', 'testssl.sh'].find((name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0);
const scan = testssl ? describe : describe.skip;
if (!testssl) console.warn('testssl.sh is not installed (Debian package testssl.sh; scripts/bootstrap.sh installs it): the TLS scan is skipped');

jest.setTimeout(240_000);

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/** Findings that concern the test's certificate or the web upstream's headers, not the gateway's TLS. */
const notAboutTls = /^(cert_|chain_of_trust|intermediate_cert|OCSP|DNS_CAArecord|certificate_transparency|HSTS|HPKP|banner_|cookie_|security_headers|X-|overall_grade|grade_cap|BREACH)/;
const failing = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);

function runTestssl(target: string, extra: string[], jsonFile: string): Promise<{ code: number | null; output: string }> {
  const args = ['--quiet', '--color', '0', '--warnings', 'off', '--openssl-timeout', '10', '--jsonfile', jsonFile, '-p', '-P', '-s', '-U', ...extra, target];
  return new Promise((resolve) => {
    const child = spawn(testssl!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

scan('testssl.sh finds nothing weak', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ explicitFtps: true });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each([
    { name: 'HTTPS', port: () => stack.ports.https, extra: [] as string[] },
    { name: 'implicit FTPS', port: () => stack.ports.ftps, extra: [] as string[] },
    { name: 'explicit FTPS (STARTTLS FTP)', port: () => stack.ports.explicitFtps!, extra: ['--starttls', 'ftp'] },
  ])('$name', async ({ name, port, extra }) => {
    const jsonFile = join(stack.dir, `testssl-${port()}.json`);
    const run = await runTestssl(`127.0.0.1:${port()}`, extra, jsonFile);
    const findings = JSON.parse(await readFile(jsonFile, 'utf8')) as Finding[];
    if (findings.length < 20) throw new Error(`testssl.sh reported almost nothing for ${name} (exit ${run.code}):\n${run.output}`);
    /** The findings whose id matches, as `id: finding` (a failure shows what testssl.sh said). */
    const said = (pattern: RegExp) => findings.filter((finding) => pattern.test(finding.id)).map((finding) => `${finding.id}: ${finding.finding}`);
    // Only TLS 1.2 and 1.3.
    expect(said(/^(SSLv2|SSLv3|TLS1|TLS1_1|TLS1_2|TLS1_3)$/)).toEqual(['SSLv2: not offered', 'SSLv3: not offered', 'TLS1: not offered', 'TLS1_1: not offered', expect.stringMatching(/^TLS1_2: offered/), expect.stringMatching(/^TLS1_3: offered/)]);
    // No cipher category but the strong (AEAD) one; forward secrecy is checked with a client of our own below.
    expect(said(/^cipherlist_/).filter((line) => !/^cipherlist_STRONG(_FS)?: offered/.test(line) && !/not offered/.test(line))).toEqual([]);
    // Server preference, no client-initiated renegotiation, no compression.
    expect(said(/^cipher_order/)).toEqual(expect.arrayContaining([expect.stringMatching(/server/i)]));
    expect(said(/^secure_client_renego$/)).toEqual([expect.stringMatching(/not vulnerable/i)]);
    expect(said(/^CRIME_TLS$/)).toEqual([expect.stringMatching(/not vulnerable/i)]);
    const weak = findings.filter((finding) => failing.has(finding.severity) && !notAboutTls.test(finding.id));
    expect(weak.map((finding) => `${finding.id} (${finding.severity}): ${finding.finding}`)).toEqual([]);
  });

  it.each([
    { desc: 'RSA key exchange (no forward secrecy)', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' },
    { desc: 'CBC suites', ciphers: 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA' },
  ])('a TLS 1.2 client offering only $desc gets no connection', async ({ ciphers }) => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2', ciphers });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('secureConnect', () => resolve(`connected with ${socket.getCipher().name}`));
      socket.once('error', (error) => resolve(`refused: ${(error as Error & { code?: string }).code ?? error.message}`));
    });
    socket.destroy();
    expect(outcome).toMatch(/^refused/);
  });

  it('a client asking to renegotiate (TLS 1.2) is refused and the connection ends', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2' });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('error', (error) => resolve(`error: ${error.message}`));
      socket.once('close', () => resolve('closed'));
      socket.renegotiate({}, (error) => {
        if (!error) resolve('renegotiated');
      });
    });
    socket.destroy();
    expect(outcome).not.toBe('renegotiated');
  });
});
