import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connectBasicFtp } from './harness/clients.js';
import { loadTrustedCertificate, startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

async function readiness(stack: Stack): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
  const response = await fetch(`http://127.0.0.1:${stack.ports.health}/health/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; reasons: string[] } };
}

describe('gateway start-up', () => {
  let stack: Stack;
  afterEach(async () => {
    await stack?.stop();
  });

  it('with no cache and the services down it is not ready, and becomes ready once they come up', async () => {
    stack = await startStack({ withServices: false });
    await stack.gateway.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = await readiness(stack);
    expect(before.status).toBe(503);
    expect(before.body.reasons.join(' ')).toMatch(/no certificate yet/);
    expect(before.body.reasons.join(' ')).toMatch(/no port map yet/);

    await stack.startConfigService();
    await stack.startCertService();
    await waitFor(async () => (await readiness(stack)).status === 200, 20_000, 'gateway ready');
    await loadTrustedCertificate(stack);
    const client = await connectBasicFtp(stack);
    try {
      expect(Array.isArray(await client.list())).toBe(true);
    } finally {
      client.close();
    }
    // The cache holds the key: owner-only.
    expect((await stat(join(stack.cacheDir, 'bundle.json'))).mode & 0o777).toBe(0o600);
  });

  it('starts from its cache and serves while config-service and cert-service are down', async () => {
    stack = await startStack();
    await stack.gateway.stop();
    await stack.stopConfigService();
    await stack.stopCertService();

    stack.gateway = stack.newGateway();
    await stack.gateway.start();
    expect((await readiness(stack)).status).toBe(200);
    const client = await connectBasicFtp(stack);
    try {
      expect(Array.isArray(await client.list())).toBe(true);
    } finally {
      client.close();
    }
    const https = await fetch(`http://127.0.0.1:${stack.ports.health}/health/live`);
    expect(https.status).toBe(200);
  });
});
