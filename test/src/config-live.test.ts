import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BrokerRelay, canConnect, freePort, freePortBlock } from '@st/test-kit';
import { connectBasicFtp, curl, ftpsUrl, sha256File, writeRandomFile } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(180_000);

const accepts = (port: number) => canConnect('127.0.0.1', port);

async function acceptsAny(from: number, to: number): Promise<boolean> {
  for (let port = from; port <= to; port++) if (await accepts(port)) return true;
  return false;
}

const applied = (stack: Stack, version: number) => waitFor(() => stack.gateway.status().portMapVersion === version, 15_000, `gateway on version ${version}`);

/** Points the harness clients (basic-ftp, curl URLs) at the ports the settings now name. */
function followPorts(stack: Stack, ports: { ftps?: number; https?: number; passiveFrom?: number }): void {
  if (ports.ftps !== undefined) stack.ports.ftps = ports.ftps;
  if (ports.https !== undefined) stack.ports.https = ports.https;
  if (ports.passiveFrom !== undefined) {
    stack.ports.passiveTo = ports.passiveFrom + (stack.ports.passiveTo - stack.ports.passiveFrom);
    stack.ports.passiveFrom = ports.passiveFrom;
  }
}

describe('live reconcile: moving the FTPS port and the passive range', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A long drain, so the running download is never cut by the bound on it.
    stack = await startStack({ settings: (settings) => ({ ...settings, timeouts: { ...settings.timeouts, drainMs: 120_000 } }) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a download on the old ports completes, a new session works on the new ports, the old ports stop accepting', async () => {
    const size = 24 * 1024 * 1024;
    const sha256 = await writeRandomFile(join(stack.filesDir, 'moving.bin'), size);
    const output = join(stack.dir, 'moving.out');
    const old = { ...stack.ports };
    // 4 MB/s: about 6 s, so the change lands mid-transfer.
    const download = curl(stack, ['--limit-rate', '4M', '-o', output, ftpsUrl(stack, 'moving.bin')]);
    await waitFor(async () => ((await stat(output).catch(() => null))?.size ?? 0) > 1024 * 1024, 20_000, 'download under way');

    const newFtps = await freePort();
    const newPassiveFrom = await freePortBlock(old.passiveTo - old.passiveFrom + 1);
    const upstreamPassiveFrom = stack.settings.upstream.ftp.passiveRange.from;
    const change = await stack.patchSettings({ public: { ftpsPort: newFtps, passiveOffset: newPassiveFrom - upstreamPassiveFrom } }, 'move FTPS and passive');
    expect(change.outcome).toBe('created');
    await applied(stack, change.version);
    const sizeWhenApplied = (await stat(output)).size;
    expect(sizeWhenApplied).toBeLessThan(size);

    expect(await accepts(old.ftps)).toBe(false);
    expect(await acceptsAny(old.passiveFrom, old.passiveTo)).toBe(false);
    expect(await accepts(newFtps)).toBe(true);

    followPorts(stack, { ftps: newFtps, passiveFrom: newPassiveFrom });
    const client = await connectBasicFtp(stack, 'PASV');
    try {
      const pasv = await client.send('PASV');
      const [p1, p2] = /\(\d+,\d+,\d+,\d+,(\d+),(\d+)\)/.exec(pasv.message)!.slice(1).map(Number);
      const announced = p1! * 256 + p2!;
      expect(announced).toBeGreaterThanOrEqual(newPassiveFrom);
      expect(announced).toBeLessThanOrEqual(stack.ports.passiveTo);
      const list = await client.list();
      expect(list.map((entry) => entry.name)).toContain('moving.bin');
    } finally {
      client.close();
    }

    const result = await download;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(output)).toBe(sha256);
  });
});

describe('live reconcile: a changed upstream target', () => {
  const named = (name: string): Server =>
    createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(name);
    });
  const first = named('upstream A');
  const second = named('upstream B');
  let stack: Stack;
  beforeAll(async () => {
    await new Promise<void>((resolve) => second.listen(0, '127.0.0.1', resolve));
    stack = await startStack({ webUpstream: first });
  });
  afterAll(async () => {
    await stack?.stop();
    second.closeAllConnections();
    await new Promise((resolve) => second.close(resolve));
  });

  /** GET / over the given agent; says which upstream answered and on which client socket. */
  function get(agent: https.Agent): Promise<{ body: string; clientPort: number }> {
    return new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: stack.ports.https, path: '/', agent, ca: stack.caPem }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ body, clientPort: req.socket!.localPort! }));
      });
      req.on('error', reject);
    });
  }

  it('new connections go to the new upstream; an open connection is left alone', async () => {
    const kept = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(kept);
      expect(before.body).toBe('upstream A');
      const change = await stack.patchSettings({ upstream: { web: { port: (second.address() as AddressInfo).port } } }, 'new web upstream');
      await applied(stack, change.version);
      // The HTTPS listener itself is unchanged: same port, same socket.
      expect(stack.gateway.status().listeners.find((listener) => listener.id === 'https')?.openConnections).toBe(1);
      const fresh = new https.Agent({ keepAlive: false });
      expect((await get(fresh)).body).toBe('upstream B');
      const again = await get(kept);
      expect(again.clientPort).toBe(before.clientPort);
      expect(['upstream A', 'upstream B']).toContain(again.body);
    } finally {
      kept.destroy();
    }
  });
});

describe('live reconcile: tunnel stop and start through the API', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
    await writeRandomFile(join(stack.filesDir, 'hello.bin'), 64 * 1024);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const httpsGet = () => curl(stack, ['-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${stack.ports.https}/hello.bin`]);
  const ftpsList = () => curl(stack, ['--list-only', ftpsUrl(stack, '/')]);

  it('stop closes every public listener for real clients; start opens them again', async () => {
    expect(await httpsGet()).toMatchObject({ code: 0, stdout: '200' });
    expect((await ftpsList()).stdout).toContain('hello.bin');

    const stop = await stack.patchSettings({ tunnelEnabled: false }, 'stop');
    await applied(stack, stop.version);
    expect(stack.gateway.status().listeners).toEqual([]);
    // curl exit 7: could not connect.
    expect((await httpsGet()).code).toBe(7);
    expect((await ftpsList()).code).toBe(7);
    expect(await acceptsAny(stack.ports.passiveFrom, stack.ports.passiveTo)).toBe(false);

    const start = await stack.patchSettings({ tunnelEnabled: true }, 'start');
    await applied(stack, start.version);
    expect(await httpsGet()).toMatchObject({ code: 0, stdout: '200' });
    expect((await ftpsList()).stdout).toContain('hello.bin');
  });
});

describe('live reconcile: a gateway that missed changes catches up', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('stopped during two changes, it starts from its cache and ends on the latest version', async () => {
    const old = { ...stack.ports };
    await stack.gateway.stop();
    const newHttps = await freePort();
    const newFtps = await freePort();
    await stack.patchSettings({ public: { httpsPort: newHttps } }, 'first change while the gateway is down');
    const second = await stack.patchSettings({ public: { ftpsPort: newFtps } }, 'second change while the gateway is down');

    stack.gateway = stack.newGateway();
    await stack.gateway.start();
    await applied(stack, second.version);
    followPorts(stack, { https: newHttps, ftps: newFtps });
    expect(await accepts(old.https)).toBe(false);
    expect(await accepts(old.ftps)).toBe(false);
    expect((await curl(stack, ['-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${newHttps}/`])).stdout).toBe('200');
    expect((await curl(stack, ['--list-only', ftpsUrl(stack, '/')])).code).toBe(0);
  });

  it('follows a change while cert-service is down (the two documents are fetched independently)', async () => {
    await stack.stopCertService();
    try {
      const newHttps = await freePort();
      const change = await stack.patchSettings({ public: { httpsPort: newHttps } }, 'while cert-service is down');
      await applied(stack, change.version);
      followPorts(stack, { https: newHttps });
      expect((await curl(stack, ['-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${newHttps}/`])).stdout).toBe('200');
    } finally {
      await stack.startCertService();
    }
  });

  it('cut off from the broker during two changes, it ends on the latest version when the link is back', async () => {
    const relay = new BrokerRelay(stack.amqpUrl);
    await relay.open();
    await stack.gateway.stop();
    stack.gateway = stack.newGateway({ amqpUrl: relay.url() });
    try {
      await stack.gateway.start();
      await waitFor(() => stack.gateway.status().ready && relay.connections > 0, 15_000, 'gateway ready and on the bus');
      // The bus link is up once the subscriber has fetched after connecting (it does on every connection).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const before = stack.gateway.status().portMapVersion!;

      await relay.cut();
      const newHttps = await freePort();
      await stack.patchSettings({ public: { httpsPort: newHttps } });
      const second = await stack.patchSettings({ timeouts: { dataIdleMs: 20_000 } });
      expect(second.version).toBe(before + 2);
      // Missed both events; the periodic refresh (60 s here) has not come round.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(stack.gateway.status().portMapVersion).toBe(before);

      await relay.open(relay.port);
      await applied(stack, second.version);
      expect(await accepts(newHttps)).toBe(true);
    } finally {
      await relay.cut();
    }
  });
});
