/**
 * The gateway behind Debian's HAProxy (mode tcp, send-proxy / send-proxy-v2,
 * from a source address the gateway trusts): HTTPS, FTPS control and passive
 * data all go through the balancer, and the gateway works with the clients'
 * own addresses: X-Forwarded-For, the data-IP check, the login defender and
 * the records. A trusted address that sends no header is closed before TLS.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import tls from 'node:tls';
import { Client, enterPassiveModeIPv4, enterPassiveModeIPv6 } from 'basic-ftp';
import { curl } from './harness/clients.js';
import { haproxyBinary, startHaproxy } from './harness/haproxy.js';
import { ftpPassword, ftpUser, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

const balancerFront = '127.0.0.6';
const balancerSource = '127.0.0.5';
const suite = haproxyBinary ? describe : describe.skip;
if (!haproxyBinary) console.warn('haproxy is not installed (Debian package haproxy; scripts/bootstrap.sh installs it): the PROXY protocol tests are skipped');

suite('behind HAProxy with the PROXY protocol', () => {
  let stack: Stack;
  let haproxy: Awaited<ReturnType<typeof startHaproxy>>;
  beforeAll(async () => {
    stack = await startStack({
      webUpstream: 'nginx',
      settings: (settings) => ({
        ...settings,
        // Passive replies send clients back through the balancer.
        public: { ...settings.public, address: balancerFront },
        proxyProtocol: { ...settings.proxyProtocol, trustedProxies: [`${balancerSource}/32`] },
        loginDefender: { ...settings.loginDefender, maxFailures: 3 },
      }),
    });
    // The balancer listens on the gateway's port numbers on its own address, and forwards each to the same port.
    haproxy = await startHaproxy(join(stack.dir, 'haproxy'), {
      bindAddress: balancerFront,
      sourceAddress: balancerSource,
      forwards: [
        { name: 'https', listen: { from: stack.ports.https, to: stack.ports.https }, targets: [{ host: '127.0.0.1', port: stack.ports.https }], proxyVersion: 1 },
        { name: 'ftps', listen: { from: stack.ports.ftps, to: stack.ports.ftps }, targets: [{ host: '127.0.0.1', port: stack.ports.ftps }], proxyVersion: 2 },
        { name: 'passive', listen: { from: stack.ports.passiveFrom, to: stack.ports.passiveTo }, targets: [{ host: '127.0.0.1', port: null }], proxyVersion: 2 },
      ],
    });
  });
  afterAll(async () => {
    await haproxy?.stop();
    await stack?.stop();
  });

  /** basic-ftp through the balancer (the certificate names 127.0.0.1, the balancer is elsewhere: its name is not checked here). */
  async function client(mode: 'PASV' | 'EPSV', password = ftpPassword): Promise<Client> {
    const ftp = new Client(20_000);
    await ftp.access({ host: balancerFront, port: stack.ports.ftps, user: ftpUser, password, secure: 'implicit', secureOptions: { ca: stack.caPem, checkServerIdentity: () => undefined } });
    ftp.prepareTransfer = mode === 'PASV' ? enterPassiveModeIPv4 : enterPassiveModeIPv6;
    return ftp;
  }

  it('HTTPS (PROXY v1): the file server sees the real client in X-Forwarded-For, the records name it and the balancer', async () => {
    const result = await curl(stack, ['--interface', '127.0.0.3', '--connect-to', `127.0.0.1:${stack.ports.https}:${balancerFront}:${stack.ports.https}`, '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/`]);
    expect(result.stdout).toBe('200');
    await waitFor(async () => (await readFile(stack.nginxAccessLog, 'utf8')).includes('|127.0.0.3|https|'), 5000, 'nginx logged the request');
    await waitFor(async () => /"client":"127\.0\.0\.3","clientPort":\d+,"via":"127\.0\.0\.5".*"msg":"HTTPS connection opened"/.test(await readFile(stack.logFile, 'utf8')), 5000, 'the HTTPS record');
  });

  it.each(['PASV', 'EPSV'] as const)('FTPS control and data (PROXY v2) over %s: an upload and a download intact, every record names the client', async (mode) => {
    const ftp = await client(mode);
    try {
      const payload = randomBytes(3 * 1024 * 1024 + 7);
      await ftp.uploadFrom(Readable.from([payload]), `balanced-${mode}.bin`);
      const chunks: Buffer[] = [];
      await ftp.downloadTo(new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) }), `balanced-${mode}.bin`);
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    } finally {
      ftp.close();
    }
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).toMatch(/"client":"127\.0\.0\.1","clientPort":\d+,"via":"127\.0\.0\.5".*"msg":"FTP control connection opened"/);
    expect(log).toMatch(/"client":"127\.0\.0\.1","via":"127\.0\.0\.5".*"msg":"data connection admitted"/);
    expect(log).not.toMatch(/"client":"127\.0\.0\.5"/);
  });

  it('the data-IP check still holds through the balancer: a connection from 127.0.0.2 to a lease of 127.0.0.1 is refused before TLS, the rightful client is still served', async () => {
    const ftp = await client('EPSV');
    try {
      await ftp.send('PBSZ 0');
      await ftp.send('PROT P');
      const port = Number(/\|\|\|(\d+)\|/.exec((await ftp.send('EPSV')).message)![1]);
      const thief = await new Promise<{ secured: boolean; bytes: number }>((resolve) => {
        const socket = tls.connect({ host: balancerFront, port, localAddress: '127.0.0.2', ca: stack.caPem, checkServerIdentity: () => undefined });
        socket.once('secureConnect', () => resolve({ secured: true, bytes: socket.bytesRead }));
        socket.once('error', () => resolve({ secured: false, bytes: socket.bytesRead }));
        socket.once('close', () => resolve({ secured: false, bytes: socket.bytesRead }));
      });
      expect(thief).toEqual({ secured: false, bytes: 0 });
      await waitFor(async () => /"client":"127\.0\.0\.2"[^\n]*"reason":"[^"]*127\.0\.0\.1[^\n]*"msg":"connection refused"/.test(await readFile(stack.logFile, 'utf8')), 5000, 'the refusal record');
      // The rightful client is still served.
      expect((await ftp.list()).length).toBeGreaterThan(0);
    } finally {
      ftp.close();
    }
  });

  it('a connection from the trusted balancer address without a PROXY header is closed before any TLS work; direct clients are unaffected', async () => {
    const attempt = await new Promise<{ secured: boolean; bytes: number }>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.ftps, localAddress: balancerSource, ca: stack.caPem });
      socket.once('secureConnect', () => resolve({ secured: true, bytes: socket.bytesRead }));
      socket.once('error', () => resolve({ secured: false, bytes: socket.bytesRead }));
      socket.once('close', () => resolve({ secured: false, bytes: socket.bytesRead }));
    });
    expect(attempt).toEqual({ secured: false, bytes: 0 });
    await waitFor(async () => (await readFile(stack.logFile, 'utf8')).includes('no valid PROXY protocol header from a trusted balancer'), 5000, 'the refusal record');
    const direct = new Client(20_000);
    try {
      await direct.access({ host: '127.0.0.1', port: stack.ports.ftps, user: ftpUser, password: ftpPassword, secure: 'implicit', secureOptions: { ca: stack.caPem } });
      expect(await direct.pwd()).toContain('files');
    } finally {
      direct.close();
    }
  });

  it('the login defender bans the client behind the balancer, never the balancer', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await curl(stack, ['-k', '--interface', '127.0.0.3', `ftps://${ftpUser}:wrong-password@${balancerFront}:${stack.ports.ftps}/`]);
      expect(result.code).toBe(67);
    }
    const response = await fetch(`${stack.configServiceUrl}/login-bans`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const { bans } = (await response.json()) as { bans: Array<{ address: string }> };
    expect(bans.map((ban) => ban.address)).toEqual(['127.0.0.3']);
    const ftp = await client('EPSV');
    ftp.close();
  });
});
