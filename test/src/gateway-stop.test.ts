import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connectBasicFtp, curl, ftpsUrl, writeRandomFile } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

/**
 * A gateway that stops (a replica restarted, `docker restart`) gives back the
 * passive leases of the sessions and data connections it held before it lets
 * Redis go: none is left waiting for its TTL (minutes, for an active lease).
 */
describe('a stopping gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('leaves no lease in Redis: neither a running transfer’s nor one a client never used', async () => {
    await writeRandomFile(join(stack.filesDir, 'stop.bin'), 16 * 1024 * 1024);
    const output = join(stack.dir, 'stop.out');
    const download = curl(stack, ['--limit-rate', '2M', '-o', output, ftpsUrl(stack, 'stop.bin')]);
    await waitFor(async () => ((await stat(output).catch(() => null))?.size ?? 0) > 256 * 1024, 20_000, 'download under way');
    const idle = await connectBasicFtp(stack, 'EPSV');
    try {
      await idle.send('EPSV');
      // An active lease (the download's) with its claim marker, a pending one (the idle session's) and the set of ports its address waits on.
      const kinds = (keys: string[]) => keys.map((key) => /lease(-active|-claim|-client)?:/.exec(key)?.[0]).sort();
      await waitFor(async () => kinds(await stack.leaseKeys()).join() === 'lease-active:,lease-claim:,lease-client:,lease:', 10_000, 'an active and a pending lease');
      await stack.gateway.stop();
      expect(await stack.leaseKeys()).toEqual([]);
    } finally {
      idle.close();
    }
    expect((await download).code).not.toBe(0);
  });
});
