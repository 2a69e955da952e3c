import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canConnect, freePortBlock } from '@st/test-kit';
import { connectBasicFtp, curl, ftpsUrl, sha256File, writeRandomFile } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(180_000);

/** Which of the ports from..to accept a TCP connection. */
async function accepting(from: number, to: number): Promise<number[]> {
  const open: number[] = [];
  for (let port = from; port <= to; port++) if (await canConnect('127.0.0.1', port)) open.push(port);
  return open;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * An operator widens, moves and narrows the public passive range through
 * config-service (PATCH, as in the README) while a download runs. Each change
 * keeps the ports the old and new ranges share, opens only the new ones and
 * drains only the removed ones: the gateway stays ready on every version (a
 * range that grew used to collide with itself, EADDRINUSE), and the download
 * that started before the first change completes intact.
 */
describe('live reconcile: growing, shifting and shrinking the passive range', () => {
  let stack: Stack;
  /** The public block: the passive range starts at its first port and moves within it. */
  let block: number;
  let upstreamFrom: number;

  beforeAll(async () => {
    block = await freePortBlock(16);
    stack = await startStack({
      passivePorts: 9,
      settings: (settings) => ({
        ...settings,
        public: { ...settings.public, passiveOffset: block - settings.upstream.ftp.passiveRange.from },
        // A long drain, so the running download is never cut by the bound on it.
        timeouts: { ...settings.timeouts, drainMs: 120_000 },
      }),
    });
    upstreamFrom = stack.settings.upstream.ftp.passiveRange.from;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function apply(patch: unknown, comment: string): Promise<void> {
    const change = await stack.patchSettings(patch, comment);
    expect(change.outcome).toBe('created');
    await waitFor(() => stack.gateway.status().portMapVersion === change.version || stack.gateway.status().listenerErrors.length > 0, 15_000, `version ${change.version}`);
    const status = stack.gateway.status();
    expect({ ready: status.ready, listenerErrors: status.listenerErrors, version: status.portMapVersion }).toEqual({ ready: true, listenerErrors: [], version: change.version });
  }

  /** A new session lists the directory (its passive port comes from the range in force). */
  async function listWorks(): Promise<void> {
    const client = await connectBasicFtp(stack, 'EPSV');
    try {
      expect((await client.list()).map((entry) => entry.name)).toContain('range.bin');
    } finally {
      client.close();
    }
  }

  it('a download keeps running; each range opens only its new ports and drains only its removed ones', async () => {
    const size = 32 * 1024 * 1024;
    const sha256 = await writeRandomFile(join(stack.filesDir, 'range.bin'), size);
    const output = join(stack.dir, 'range.out');
    expect(await accepting(block, block + 15)).toEqual(range(block, block + 8));

    // 4 MB/s: about 8 s, so every change lands mid-transfer.
    const download = curl(stack, ['--limit-rate', '4M', '-o', output, ftpsUrl(stack, 'range.bin')]);
    await waitFor(async () => ((await stat(output).catch(() => null))?.size ?? 0) > 1024 * 1024, 20_000, 'download under way');
    const dataListener = () => stack.gateway.status().listeners.find((listener) => listener.protocol === 'ftp-data');
    expect(dataListener()?.openConnections).toBe(1);

    // Grow: 9 ports become 12; the 9 it shares stay open (the download's among them).
    await apply({ upstream: { ftp: { passiveRange: { from: upstreamFrom, to: upstreamFrom + 11 } } } }, 'grow the passive range');
    expect(dataListener()).toMatchObject({ ports: `${block}-${block + 11}`, openConnections: 1 });
    expect(await accepting(block, block + 15)).toEqual(range(block, block + 11));
    await listWorks();

    // Shift by 3: the first three ports drain, three new ones open past the end.
    await apply({ public: { passiveOffset: block + 3 - upstreamFrom } }, 'shift the passive range');
    expect(dataListener()?.ports).toBe(`${block + 3}-${block + 14}`);
    expect(await accepting(block, block + 15)).toEqual(range(block + 3, block + 14));
    await listWorks();

    // Shrink back to 9 ports: the last three drain.
    await apply({ upstream: { ftp: { passiveRange: { from: upstreamFrom, to: upstreamFrom + 8 } } } }, 'shrink the passive range');
    expect(dataListener()?.ports).toBe(`${block + 3}-${block + 11}`);
    expect(await accepting(block, block + 15)).toEqual(range(block + 3, block + 11));
    await listWorks();

    expect((await stat(output)).size).toBeLessThan(size);
    const result = await download;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(await sha256File(output)).toBe(sha256);
    await waitFor(async () => (await stack.leaseKeys()).length === 0, 15_000, 'no leases left');
  });
});
