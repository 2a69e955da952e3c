import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { capturingLogger, freePort } from '@st/test-kit';
import { TlsContextHolder } from './tls-context.js';
import { handshakeCheckPeriodMs, TlsListener, type Admission, type TlsListenerHandlers } from './tls-listener.js';

/** A throw-away self-signed pair made by Debian's openssl (installed by scripts/bootstrap.sh). */
function selfSigned(): { certificatePem: string; privateKeyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'st-tls-listener-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {
      stdio: 'ignore',
    });
    return { certificatePem: readFileSync(join(dir, 'cert.pem'), 'utf8'), privateKeyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pair = selfSigned();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Seen {
  secure: number;
  failed: string[];
}

async function listener(
  handlers: Partial<TlsListenerHandlers<string>> & Pick<TlsListenerHandlers<string>, 'admit'>,
  handshakeTimeoutMs: () => number = () => 5000,
  allowHalfOpen = false,
  trustedProxies?: () => { has(address: string): boolean },
): Promise<{ listener: TlsListener<string>; port: number; seen: Seen; records: () => Array<Record<string, unknown>> }> {
  const contexts = new TlsContextHolder();
  contexts.load({ id: 'test', ...pair } as Parameters<TlsContextHolder['load']>[0]);
  const { logger, records } = capturingLogger('tunnel-gateway');
  const seen: Seen = { secure: 0, failed: [] };
  const port = await freePort();
  const tlsListener = new TlsListener<string>({
    host: '127.0.0.1',
    port,
    contexts,
    handshakeTimeoutMs,
    logger,
    allowHalfOpen,
    ...(trustedProxies ? { trustedProxies } : {}),
    handlers: {
      onSecure: (socket) => {
        seen.secure++;
        socket.end();
      },
      onHandshakeFailed: (_connection, _state, reason) => seen.failed.push(reason),
      ...handlers,
    },
  });
  await tlsListener.listen();
  return { listener: tlsListener, port, seen, records };
}

function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

describe('TlsListener', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => (unhandled.length = 0));

  it('completes a handshake and hands the socket over once', async () => {
    const { listener: tlsListener, port, seen } = await listener({ admit: (): Admission<string> => ({ tls: true, state: 'web' }) });
    await new Promise<void>((resolve, reject) => {
      const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => client.end());
      client.on('close', () => resolve());
      client.on('error', reject);
    });
    await sleep(50);
    expect(seen).toEqual({ secure: 1, failed: [] });
    await tlsListener.close(0);
  });

  it.each([
    { name: 'the client goes away', closeListener: false },
    { name: 'the listener closes', closeListener: true },
  ])('an asynchronous admission that ends after $name: one failure, no crash, nothing left open', async ({ closeListener }) => {
    let admitted: (admission: Admission<string>) => void = () => undefined;
    const { listener: tlsListener, port, seen, records } = await listener({
      admit: () => new Promise<Admission<string>>((resolve) => (admitted = resolve)),
    });
    const client = await connectRaw(port);
    await sleep(30);
    const closing = closeListener ? tlsListener.close(0) : Promise.resolve();
    if (!closeListener) client.destroy();
    await sleep(50);
    admitted({ tls: true, state: 'data' });
    await closing;
    await sleep(50);
    expect(seen.secure).toBe(0);
    // A client that leaves a paused socket is noticed when the handshake starts reading; a closing listener is seen at once.
    expect(seen.failed).toEqual([expect.stringMatching(closeListener ? /while its admission was checked/ : /closed the connection/)]);
    expect(records().filter((record) => record.msg === 'TLS handshake failed')).toHaveLength(1);
    expect(tlsListener.openConnections).toBe(0);
    expect(unhandled).toEqual([]);
    client.destroy();
    if (!closeListener) await tlsListener.close(0);
  });

  it('times out a client that never starts its handshake, once', async () => {
    const { listener: tlsListener, port, seen } = await listener({ admit: () => ({ tls: true, state: 'web' }) }, () => 200);
    const started = Date.now();
    const client = await connectRaw(port);
    await new Promise((resolve) => client.once('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(seen.failed).toEqual([expect.stringMatching(/in time/)]);
    await tlsListener.close(0);
  });

  it.each([
    { name: 'before any byte', hello: false },
    { name: 'in the middle of its ClientHello', hello: true },
  ])('a half-open listener closes at once a client that ends its side $name (not at the handshake deadline)', async ({ hello }) => {
    const { listener: tlsListener, port, seen } = await listener({ admit: () => ({ tls: true, state: 'web' }) }, () => 5000, true);
    const client = await connectRaw(port);
    client.on('error', () => undefined);
    // The first bytes of a TLS 1.2/1.3 handshake record: a ClientHello that never finishes.
    if (hello) client.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    const started = Date.now();
    client.end();
    await new Promise((resolve) => client.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen.failed).toEqual([expect.stringMatching(/closed the connection/)]);
    expect(tlsListener.openConnections).toBe(0);
    await tlsListener.close(0);
  });

  it('closes the socket and logs the bug when the failure handler throws', async () => {
    const { listener: tlsListener, port, records } = await listener({
      admit: () => ({ tls: true, state: 'web' }),
      onHandshakeFailed: () => {
        throw new Error('handler bug');
      },
    });
    const client = await connectRaw(port);
    client.on('error', () => undefined);
    // Plain text on a TLS port fails the handshake at once.
    client.write('GET / HTTP/1.0\r\n\r\n');
    await new Promise((resolve) => client.once('close', resolve));
    await sleep(20);
    expect(tlsListener.openConnections).toBe(0);
    expect(records().filter((record) => record.msg === 'handshake failure handler failed')).toHaveLength(1);
    await tlsListener.close(0);
  });

  it.each([
    { limitMs: 100, periodMs: 25 },
    { limitMs: 500, periodMs: 125 },
    { limitMs: 10_000, periodMs: 250 },
    { limitMs: 0, periodMs: 25 },
  ])('checks handshakes with a $limitMs ms limit every $periodMs ms', ({ limitMs, periodMs }) => {
    expect(handshakeCheckPeriodMs(limitMs)).toBe(periodMs);
  });

  describe('behind a trusted balancer (PROXY protocol)', () => {
    const trusted = () => ({ has: (address: string) => address === '127.0.0.1' });
    /** A balancer's connection: the header, then the client's TLS, sent in one write or apart. */
    function throughBalancer(port: number, header: string | Buffer, together: boolean): Promise<{ secured: boolean; bytesRead: number }> {
      return new Promise((resolve) => {
        const raw = net.connect({ host: '127.0.0.1', port }, () => {
          if (together) raw.cork();
          raw.write(header);
          const client = tls.connect({ socket: raw, rejectUnauthorized: false });
          client.once('secureConnect', () => {
            resolve({ secured: true, bytesRead: raw.bytesRead });
            client.end();
          });
          client.once('error', () => resolve({ secured: false, bytesRead: raw.bytesRead }));
          client.once('close', () => resolve({ secured: false, bytesRead: raw.bytesRead }));
          if (together) setImmediate(() => raw.uncork());
        });
        raw.on('error', () => resolve({ secured: false, bytesRead: raw.bytesRead }));
      });
    }

    it.each([
      { desc: 'apart', together: false },
      { desc: 'in one write with the ClientHello behind it', together: true },
    ])('takes the client address from the header, sent $desc', async ({ together }) => {
      const admitted: Array<{ remoteAddress: string; remotePort: number; via?: string }> = [];
      const { listener: tlsListener, port, seen } = await listener(
        { admit: ({ remoteAddress, remotePort, via }): Admission<string> => (admitted.push({ remoteAddress, remotePort, ...(via ? { via } : {}) }), { tls: true, state: 'web' }) },
        () => 5000,
        false,
        trusted,
      );
      expect(await throughBalancer(port, 'PROXY TCP4 198.51.100.7 127.0.0.1 50123 443\r\n', together)).toMatchObject({ secured: true });
      expect(admitted).toEqual([{ remoteAddress: '198.51.100.7', remotePort: 50123, via: '127.0.0.1' }]);
      await sleep(20);
      expect(seen.secure).toBe(1);
      await tlsListener.close(0);
    });

    it.each([
      { desc: 'no header (TLS at once)', header: Buffer.alloc(0), reason: /does not start with a PROXY protocol header/ },
      { desc: 'a garbled header', header: 'PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n', reason: /not TCP4/ },
    ])('closes a trusted connection with $desc before any TLS work, and says why', async ({ header, reason }) => {
      const { listener: tlsListener, port, seen, records } = await listener({ admit: (): Admission<string> => ({ tls: true, state: 'web' }) }, () => 5000, false, trusted);
      expect(await throughBalancer(port, header, true)).toEqual({ secured: false, bytesRead: 0 });
      await sleep(20);
      expect(seen).toEqual({ secure: 0, failed: [] });
      expect(records().filter((record) => record.msg === 'connection refused: no valid PROXY protocol header from a trusted balancer').map((record) => record.reason)).toEqual([expect.stringMatching(reason)]);
      await tlsListener.close(0);
    });

    it('closes a trusted connection that sends no header in the handshake time', async () => {
      const { listener: tlsListener, port, records } = await listener({ admit: (): Admission<string> => ({ tls: true, state: 'web' }) }, () => 200, false, trusted);
      const raw = await connectRaw(port);
      raw.write('PROXY TCP4 198.51');
      await new Promise((resolve) => raw.once('close', resolve));
      expect(records().map((record) => record.reason)).toContain('no complete PROXY header within the handshake time');
      await tlsListener.close(0);
    });
  });
});
