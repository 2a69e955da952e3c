import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { selfSignedPair } from './test-support/self-signed.js';
import { forwardSecretCiphers, TlsContextHolder } from './tls-context.js';

const bundle = { id: 'test', fingerprintSha256: '', subject: '', notBefore: '', notAfter: '', ...selfSignedPair() };
const secret = Buffer.alloc(48, 7);
const hour = 3_600_000;

/** A replica's contexts on a clock the test moves. */
function replica(clock: { now: number }, replicaSecret = secret): TlsContextHolder {
  const holder = new TlsContextHolder({ secret: replicaSecret, rotationMs: hour, now: () => clock.now });
  holder.load(bundle);
  return holder;
}

/**
 * One real TLS handshake on loopback with the context `pick` gives, offering
 * `session` for resumption; the session to offer next time (TLS 1.2 and 1.3
 * tickets alike) and whether this one was resumed.
 */
async function handshake(context: () => tls.SecureContext, version: 'TLSv1.2' | 'TLSv1.3', session?: Buffer): Promise<{ resumed: boolean; session: Buffer | undefined; newTicket: boolean }> {
  // As the gateway's listeners do: a plain server, each connection wrapped with the context picked for it.
  const server = net.createServer((raw) => {
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context() });
    secure.on('error', () => undefined);
    // Some bytes first: a TLS 1.3 server sends its session tickets with its first write.
    secure.once('secure', () => secure.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      let latest: Buffer | undefined;
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, minVersion: version, maxVersion: version, ...(session ? { session } : {}) });
      socket.on('session', (value: Buffer) => (latest = value));
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        const resumed = socket.isSessionReused();
        socket.on('data', () => undefined);
        socket.once('end', () => {
          socket.end();
          resolve({ resumed, session: latest ?? socket.getSession(), newTicket: latest !== undefined });
        });
      });
    });
  } finally {
    server.close();
  }
}

describe('TlsContextHolder: session-ticket keys rotating by period', () => {
  it('numbers periods from the clock and keeps the previous period for connections that ask for it', () => {
    const clock = { now: 10 * hour + 5 };
    const holder = replica(clock);
    expect(holder.currentGeneration).toBe(10);
    expect(holder.pick().ticketGeneration).toBe(10);
    clock.now += hour;
    expect(holder.pick().ticketGeneration).toBe(11);
    expect(holder.pick(10).ticketGeneration).toBe(10);
    // Older, newer or nonsense: the current keys.
    expect(holder.pick(9).ticketGeneration).toBe(11);
    expect(holder.pick(12).ticketGeneration).toBe(11);
    expect(holder.pick(Number.NaN).ticketGeneration).toBe(11);
    expect(holder.pick(11).context).toBe(holder.current);
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: another replica resumes a session of the same period; after the rotation only the keys of that period do; two periods on, none', async (version) => {
    const clock = { now: 20 * hour + 1000 };
    const first = replica(clock);
    const second = replica(clock);
    const issued = await handshake(() => first.current, version);
    expect(issued.resumed).toBe(false);
    expect((await handshake(() => second.current, version, issued.session)).resumed).toBe(true);

    clock.now += hour;
    // New handshakes use the new keys: the old ticket does not open with them…
    expect((await handshake(() => second.current, version, issued.session)).resumed).toBe(false);
    // …but a data connection handshaken with its control connection's period still resumes.
    expect((await handshake(() => second.pick(20).context, version, issued.session)).resumed).toBe(true);

    clock.now += hour;
    expect((await handshake(() => second.pick(20).context, version, issued.session)).resumed).toBe(false);
  });

  it('a session with its own keys (reuse required) is resumed only with its own keys, on any replica', async () => {
    const clock = { now: 40 * hour };
    const first = replica(clock);
    const second = replica(clock);
    const issued = await handshake(() => first.pick(undefined, 'session-a').context, 'TLSv1.3');
    expect((await handshake(() => second.pick(40, 'session-a').context, 'TLSv1.3', issued.session)).resumed).toBe(true);
    // Another session's keys (a data port of session B), or the shared ones: no resumption.
    expect((await handshake(() => second.pick(40, 'session-b').context, 'TLSv1.3', issued.session)).resumed).toBe(false);
    expect((await handshake(() => second.pick(40).context, 'TLSv1.3', issued.session)).resumed).toBe(false);
    // And a session under the shared keys cannot resume on a bound port.
    const shared = await handshake(() => first.current, 'TLSv1.2');
    expect((await handshake(() => second.pick(40, 'session-a').context, 'TLSv1.2', shared.session)).resumed).toBe(false);
  });

  it('a replica with another secret resumes nothing', async () => {
    const clock = { now: 30 * hour };
    const issued = await handshake(() => replica(clock).current, 'TLSv1.3');
    expect((await handshake(() => replica(clock, Buffer.alloc(48, 8)).current, 'TLSv1.3', issued.session)).resumed).toBe(false);
  });

  it('TLS 1.3: a resumed connection gets a new ticket, so clients that use a ticket once resume every time', async () => {
    const holder = replica({ now: 50 * hour });
    let { session } = await handshake(() => holder.current, 'TLSv1.3');
    for (let i = 0; i < 4; i++) {
      const next = await handshake(() => holder.current, 'TLSv1.3', session);
      expect(next).toMatchObject({ resumed: true, newTicket: true });
      session = next.session;
    }
  });

  it('OpenSSL\'s own client, giving each connection the session the last one ended with, resumes every connection after the first', async () => {
    const holder = replica({ now: 60 * hour });
    const server = net.createServer((raw) => {
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: holder.current });
      secure.on('error', () => undefined);
      secure.once('secure', () => secure.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'st-ticket-chain-'));
    try {
      const { port } = server.address() as AddressInfo;
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-ign_eof', '-sess_out', join(dir, `session-${i}.pem`)];
        if (i > 0) args.push('-sess_in', join(dir, `session-${i - 1}.pem`));
        // s_client's exit status says how the server closed, which is not what is checked here.
        const output = await new Promise<string>((resolve) => execFile('openssl', args, { timeout: 10_000 }, (_error, stdout) => resolve(stdout)));
        outcomes.push(/^(New|Reused),/m.exec(output)?.[1] ?? 'none');
      }
      // Without a new ticket on resumption the third would be "New": s_client saves no session from a resumed connection.
      expect(outcomes).toEqual(['New', 'Reused', 'Reused', 'Reused']);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tickets stay interchangeable with a process using Node\'s built-in ticket handling (a replica of an earlier version)', async () => {
    const holder = replica({ now: 70 * hour });
    const ticketKeys = (holder.current as unknown as { context: { getTicketKeys(): Buffer } }).context.getTicketKeys();
    const builtIn = tls.createSecureContext({
      cert: bundle.certificatePem,
      key: bundle.privateKeyPem,
      // The same suites in the same order: a TLS 1.3 session resumes only under a suite of its hash.
      ciphers: forwardSecretCiphers,
      honorCipherOrder: true,
      ticketKeys,
      sessionIdContext: 'secure-transfers',
    } as tls.SecureContextOptions);
    const fromBuiltIn = await handshake(() => builtIn, 'TLSv1.3');
    expect((await handshake(() => holder.current, 'TLSv1.3', fromBuiltIn.session)).resumed).toBe(true);
    const fromRenewing = await handshake(() => holder.current, 'TLSv1.3');
    expect((await handshake(() => builtIn, 'TLSv1.3', fromRenewing.session)).resumed).toBe(true);
  });

  it('refuses a secret that is not 48 bytes and a period under a second', () => {
    expect(() => new TlsContextHolder({ secret: Buffer.alloc(32) })).toThrow('48 bytes');
    expect(() => new TlsContextHolder({ rotationMs: 10 })).toThrow('at least one second');
  });
});
