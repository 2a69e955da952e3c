/**
 * Connection and command limits against real clients: connections beyond the
 * per-client limit are closed before any TLS work while other addresses are
 * still served, a freed slot is usable again, a changed limit applies without
 * a restart, and an FTP session that only talks is ended with 421.
 */
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { FTPError } from 'basic-ftp';
import { connectBasicFtp, curl } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

/** A TLS connection that completed its handshake, from a chosen loopback address. */
function openTls(stack: Stack, port: number, localAddress = '127.0.0.1'): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, localAddress, ca: stack.caPem });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What happens to a TLS connection attempt: 'secured', or how it ended and whether any byte came back first. */
function attemptTls(stack: Stack, port: number, localAddress = '127.0.0.1'): Promise<{ outcome: 'secured' | 'closed'; bytesReceived: number }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, localAddress, ca: stack.caPem });
    socket.once('secureConnect', () => {
      resolve({ outcome: 'secured', bytesReceived: socket.bytesRead });
      socket.destroy();
    });
    socket.once('error', () => resolve({ outcome: 'closed', bytesReceived: socket.bytesRead }));
    socket.once('close', () => resolve({ outcome: 'closed', bytesReceived: socket.bytesRead }));
  });
}

/**
 * Waits until, with HTTPS connections held from `holdFrom` (one per address), one more from `tryFrom`
 * is refused (a changed limit reaches the gateway through the bus). Leaves the held ones in `held`.
 */
async function waitForRefusalWhileHolding(stack: Stack, held: tls.TLSSocket[], holdFrom: string[], tryFrom: string, what: string): Promise<void> {
  await waitFor(
    async () => {
      for (const socket of held.splice(0)) socket.destroy();
      // Closes of the connections before may not have reached the gateway yet: then try again.
      try {
        for (const address of holdFrom) held.push(await openTls(stack, stack.ports.https, address));
      } catch {
        return false;
      }
      return (await attemptTls(stack, stack.ports.https, tryFrom)).outcome === 'closed';
    },
    10_000,
    what,
  );
}

describe('connection limits', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      settings: (settings) => ({ ...settings, limits: { ...settings.limits, maxConnectionsPerClient: 4, maxPassiveLeasesPerClient: 2, maxCommandsWithoutTransfer: 20 } }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a client at its limit gets its next connection closed before TLS; other addresses are served; a freed slot is usable again', async () => {
    const held = [
      await openTls(stack, stack.ports.https),
      await openTls(stack, stack.ports.https),
      await openTls(stack, stack.ports.ftps),
      await openTls(stack, stack.ports.ftps),
    ];
    try {
      for (const port of [stack.ports.https, stack.ports.ftps, stack.ports.passiveFrom]) {
        // Not a single byte of a handshake comes back: the refusal costs a close.
        expect(await attemptTls(stack, port)).toEqual({ outcome: 'closed', bytesReceived: 0 });
      }
      const other = await curl(stack, ['--interface', '127.0.0.2', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/`]);
      expect(other.stdout).toMatch(/^[2-4]\d\d$/); // an answer from the file server, whatever it is

      held.pop()!.destroy();
      await waitFor(async () => (await attemptTls(stack, stack.ports.https)).outcome === 'secured', 5_000, 'a freed slot taken again');
    } finally {
      for (const socket of held) socket.destroy();
    }
    const log = await readFile(stack.logFile, 'utf8');
    const refusals = log.split('\n').filter((line) => line.includes('connection refused: too many connections from this client'));
    // At most one record per second for a flood, each with the address, the limit and the setting that sets it.
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refusals[0]!)).toMatchObject({ client: '127.0.0.1', limit: 4, setting: 'limits.maxConnectionsPerClient', level: 'warn' });
  });

  it('a changed limit applies to the next connection without a restart', async () => {
    await stack.patchSettings({ limits: { maxConnectionsPerClient: 2 } }, 'fewer connections per client');
    const held: tls.TLSSocket[] = [];
    try {
      await waitForRefusalWhileHolding(stack, held, ['127.0.0.1', '127.0.0.1'], '127.0.0.1', 'the third connection refused under the new limit');
    } finally {
      for (const socket of held) socket.destroy();
      await stack.patchSettings({ limits: { maxConnectionsPerClient: 4 } }, 'back');
    }
  });

  it('an HTTPS listener at its total limit answers the next client 503 with Retry-After, closes the ones after before TLS, and the other kinds still serve', async () => {
    await stack.patchSettings({ limits: { maxConnectionsPerClient: 100, maxConnectionsPerListener: 2 } }, 'few HTTPS connections');
    const held: tls.TLSSocket[] = [];
    try {
      // Two connections fill the listener (the change reaches the gateway through the bus: try until it shows).
      await waitFor(
        async () => {
          for (const socket of held.splice(0)) socket.destroy();
          try {
            for (const address of ['127.0.0.1', '127.0.0.2']) held.push(await openTls(stack, stack.ports.https, address));
          } catch {
            return false;
          }
          const busy = await curl(stack, ['--interface', '127.0.0.3', '-D', '-', '-o', '/dev/null', `https://127.0.0.1:${stack.ports.https}/`]);
          return busy.stdout.startsWith('HTTP/1.1 503');
        },
        10_000,
        'a third HTTPS client answered 503',
      );
      const busy = await curl(stack, ['--interface', '127.0.0.3', '-D', '-', `https://127.0.0.1:${stack.ports.https}/`]);
      expect(busy.stdout).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(busy.stdout).toMatch(/\r\nRetry-After: 5\r\n/);
      expect(busy.stdout).toContain('The server is at its connection limit. Try again in a few seconds.');
      // One over the limit is let in to be answered; with it taken, the next is closed before any TLS work.
      held.push(await openTls(stack, stack.ports.https, '127.0.0.3'));
      expect(await attemptTls(stack, stack.ports.https, '127.0.0.4')).toEqual({ outcome: 'closed', bytesReceived: 0 });
      expect((await attemptTls(stack, stack.ports.ftps, '127.0.0.3')).outcome).toBe('secured');
    } finally {
      for (const socket of held) socket.destroy();
      await stack.patchSettings({ limits: { maxConnectionsPerClient: 4, maxConnectionsPerListener: 10_000 } }, 'back');
    }
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).toMatch(/"setting":"limits.maxConnectionsPerListener".*"answered":"busy".*connection refused: too many connections on this kind of port/);
  });

  it('an address waiting on its limit of passive ports gets 425 for the next PASV/EPSV; a port given back makes room', async () => {
    const sessions = [await connectBasicFtp(stack), await connectBasicFtp(stack), await connectBasicFtp(stack)];
    try {
      expect((await sessions[0]!.send('EPSV')).code).toBe(229);
      expect((await sessions[1]!.send('PASV')).code).toBe(227);
      const refused = await sessions[2]!.send('EPSV').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(FTPError);
      expect((refused as FTPError).code).toBe(425);
      expect((refused as FTPError).message).toMatch(/too many passive ports are already waiting for connections from your address \(limit 2\)/);
      // The first session ends: its waiting port is given back, and the third session gets one.
      sessions[0]!.close();
      await waitFor(async () => (await sessions[2]!.send('EPSV').then((reply) => reply.code, () => 0)) === 229, 10_000, 'a passive port for the third session');
    } finally {
      for (const session of sessions) session.close();
    }
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'no lease and no per-address record left');
    expect(await readFile(stack.logFile, 'utf8')).toMatch(/passive lease refused: too many waiting from this client/);
  });

  it('an FTP session that sends command after command without a transfer is ended with 421, and the next session works', async () => {
    const client = await connectBasicFtp(stack);
    let refusal: FTPError | undefined;
    let sent = 0;
    try {
      for (; sent < 40 && !refusal; sent += 1) {
        try {
          await client.send('NOOP');
        } catch (error) {
          if (error instanceof FTPError) refusal = error;
          else throw error;
        }
      }
    } finally {
      client.close();
    }
    expect(refusal?.code).toBe(421);
    expect(refusal?.message).toMatch(/Too many commands without a transfer \(limit 20\)/);
    // The login commands count too: the limit is reached before 20 NOOPs.
    expect(sent).toBeLessThanOrEqual(20);

    const next = await connectBasicFtp(stack);
    try {
      expect(Array.isArray(await next.list())).toBe(true);
    } finally {
      next.close();
    }
    const log = await readFile(stack.logFile, 'utf8');
    expect(log).toMatch(/"limit":20.*too many commands without a transfer/i);
  });
});
