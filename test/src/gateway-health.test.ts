import { access, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { configApi, type CertificateBundle } from '@st/contracts';
import { StateCache } from '@st/tunnel-gateway';
import { freePort } from '@st/test-kit';
import { connectBasicFtp } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

interface Readiness {
  status: number;
  body: { status: string; reasons: string[]; portMapVersion: number | null; pid: number; replica: string };
}

async function readiness(stack: Stack): Promise<Readiness> {
  const response = await fetch(`http://127.0.0.1:${stack.ports.health}/health/ready`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
}

/** A change through the settings API, with config-service's whole answer (the gateways' outcome included). */
async function change(stack: Stack, patch: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.configServiceUrl}${configApi.settings}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(patch),
  });
  return { status: response.status, body: await response.json() };
}

async function adminGet(stack: Stack, path: string): Promise<any> {
  const response = await fetch(`${stack.configServiceUrl}${path}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  expect(response.status).toBe(200);
  return response.json();
}

async function listFiles(stack: Stack): Promise<unknown[]> {
  const client = await connectBasicFtp(stack);
  try {
    return await client.list();
  } finally {
    client.close();
  }
}

describe('health that tells the truth', () => {
  let stack: Stack;
  let busy: Server | null = null;
  beforeAll(async () => {
    // Heartbeats a minute apart: whatever config-service hears sooner was sent because something asked for it.
    stack = await startStack({ heartbeatMs: 60_000 });
  });
  afterAll(async () => {
    busy?.close();
    await stack?.stop();
  });

  it('a map that cannot be applied: the gateway keeps serving the previous one, says degraded with the reason, and config-service says which gateway refused it', async () => {
    const before = await readiness(stack);
    expect(before).toMatchObject({ status: 200, body: { status: 'ready', reasons: [], replica: 'test-gw', pid: process.pid } });
    const servedVersion = before.body.portMapVersion!;

    const taken = await freePort();
    busy = createServer();
    await new Promise<void>((resolve) => busy!.listen(taken, '127.0.0.1', resolve));
    const answer = await change(stack, { public: { ftpsPort: taken } });
    expect(answer.status).toBe(201);
    const version = answer.body.version as number;
    // The answer waited for the gateway's report: it names the gateway that did not apply the change, and why.
    expect(answer.body.gateways).toMatchObject({ version, applied: [], pending: [], failed: [{ replica: 'test-gw', portMapVersion: servedVersion }] });
    expect(answer.body.gateways.failed[0].reason).toContain(String(taken));
    expect(answer.body.warnings).toEqual(
      expect.arrayContaining([{ field: 'gateways', message: expect.stringMatching(new RegExp(`^gateway test-gw could not apply version ${version}: .*${taken}.*; it keeps serving version ${servedVersion}$`)) }]),
    );

    const after = await readiness(stack);
    // Still serving: 200, so a load balancer keeps it.
    expect(after.status).toBe(200);
    expect(after.body.status).toBe('degraded');
    expect(after.body.portMapVersion).toBe(servedVersion);
    expect(after.body.reasons).toEqual([expect.stringMatching(new RegExp(`^port map version ${version} not applied: .*${taken}.*; serving version ${servedVersion}$`))]);
    expect(Array.isArray(await listFiles(stack))).toBe(true);

    // The operator sees the same in config-service's status.
    const gateways = await adminGet(stack, configApi.gateways);
    expect(gateways).toMatchObject({ settingsVersion: version, bus: 'connected', summary: { failed: [{ replica: 'test-gw' }] } });
    expect(gateways.replicas).toEqual([
      expect.objectContaining({ replica: 'test-gw', status: 'degraded', portMapVersion: servedVersion, stale: false, failed: expect.objectContaining({ version }) }),
    ]);
    expect((await adminGet(stack, configApi.settings)).gateways).toMatchObject({ version, failed: [{ replica: 'test-gw' }] });

    // Freed and asked again (any later change), it applies and is ready again.
    busy.close();
    busy = null;
    const next = await change(stack, { public: { ftpsPort: taken } });
    expect(next.body.outcome).toBe('unchanged');
    const retry = await change(stack, { timeouts: { dataIdleMs: 16_000 } });
    expect(retry.body.gateways).toMatchObject({ applied: [{ replica: 'test-gw', portMapVersion: retry.body.version }], failed: [], pending: [] });
    stack.ports.ftps = taken;
    expect(await readiness(stack)).toMatchObject({ status: 200, body: { status: 'ready', reasons: [] } });
  });

  it('a stopped tunnel is reported as stopped (503), and as ready again once started', async () => {
    const stop = await change(stack, { tunnelEnabled: false });
    expect(stop.body.gateways).toMatchObject({ applied: [{ replica: 'test-gw' }], failed: [] });
    const stopped = await readiness(stack);
    expect(stopped.status).toBe(503);
    expect(stopped.body.status).toBe('stopped');
    expect(stopped.body.reasons).toEqual([`the tunnel is stopped (tunnelEnabled is false in port map version ${stop.body.version}): no public port is open`]);

    await change(stack, { tunnelEnabled: true });
    expect(await readiness(stack)).toMatchObject({ status: 200, body: { status: 'ready' } });
  });

  it('a restarted config-service knows the running gateways at once, not a heartbeat later, and waits for them again', async () => {
    await stack.stopConfigService();
    await stack.startConfigService();
    // The gateway's heartbeat is a minute here: hearing of it within 5 s means it answered config-service's announcement.
    await waitFor(async () => (await adminGet(stack, configApi.gateways)).replicas.some((r: { replica: string; status: string }) => r.replica === 'test-gw' && r.status === 'ready'), 5000, 'the gateway known again');
    const answer = await change(stack, { timeouts: { dataIdleMs: 18_000 } });
    expect(answer.body.gateways).toMatchObject({ applied: [{ replica: 'test-gw', portMapVersion: answer.body.version }], failed: [], pending: [] });
  });

  it('puts a certificate in force (and so reports ready) only once it is in its cache; a stopped gateway reports itself offline', async () => {
    await waitFor(async () => (await adminGet(stack, configApi.gateways)).replicas.some((r: { status: string }) => r.status === 'ready'), 10_000, 'the gateway known');
    await stack.gateway.stop();
    // Its last word: config-service no longer waits for it.
    await waitFor(async () => (await adminGet(stack, configApi.gateways)).replicas.some((r: { status: string }) => r.status === 'offline'), 10_000, 'offline report');
    const started = Date.now();
    const quiet = await change(stack, { timeouts: { dataIdleMs: 17_000 } });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(quiet.body.gateways).toEqual({ version: quiet.body.version, applied: [], failed: [], pending: [] });

    await rm(stack.cacheDir, { recursive: true, force: true });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let saving = false;
    const real = new StateCache(stack.cacheDir);
    const slowCache = {
      load: () => real.load(),
      savePortMap: (portMap: Parameters<StateCache['savePortMap']>[0]) => real.savePortMap(portMap),
      saveBundle: async (bundle: CertificateBundle) => {
        saving = true;
        await gate;
        await real.saveBundle(bundle);
      },
    };
    stack.gateway = stack.newGateway({ cache: slowCache });
    await stack.gateway.start();
    await waitFor(() => saving, 10_000, 'the certificate being cached');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whileSaving = await readiness(stack);
    expect(whileSaving.status).toBe(503);
    // Fetched, checked, but not in force before it is on disk.
    expect(whileSaving.body.reasons).toContain('no certificate yet (cert-service not reached and no cache)');
    await expect(access(join(stack.cacheDir, 'bundle.json'))).rejects.toMatchObject({ code: 'ENOENT' });

    release();
    await waitFor(async () => (await readiness(stack)).status === 200, 10_000, 'ready');
    await access(join(stack.cacheDir, 'bundle.json'));
  });
});
