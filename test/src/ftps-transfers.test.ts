import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Client } from 'basic-ftp';
import { connectBasicFtp, curl, ftpsUrl, sha256File, writeRandomFile, type PassiveCommand } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(180_000);

const sizes = [
  { name: '0B', bytes: 0 },
  { name: '1KiB', bytes: 1024 },
  { name: '10MiB', bytes: 10 * 1024 * 1024 },
  { name: '100MiB', bytes: 100 * 1024 * 1024 },
];

let stack: Stack;
let localDir: string;
const hashes = new Map<string, string>();

beforeAll(async () => {
  stack = await startStack();
  localDir = join(stack.dir, 'local');
  await mkdir(localDir);
  for (const size of sizes) hashes.set(size.name, await writeRandomFile(join(localDir, `${size.name}.bin`), size.bytes));
});

afterAll(async () => {
  await stack?.stop();
});

async function expectNoLeftovers(): Promise<void> {
  await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'no leases left in Redis');
  await waitFor(() => stack.gateway.status().controlSessions === 0, 10_000, 'no control sessions left');
}

describe.each<PassiveCommand>(['PASV', 'EPSV'])('basic-ftp over implicit FTPS with %s', (mode) => {
  let client: Client;
  beforeAll(async () => {
    client = await connectBasicFtp(stack, mode);
  });
  afterAll(() => client?.close());

  it('lists the directory', async () => {
    await writeFile(join(stack.filesDir, `listed-${mode}.txt`), 'hello');
    const entries = await client.list();
    expect(entries.map((entry) => entry.name)).toContain(`listed-${mode}.txt`);
  });

  it.each(sizes)('uploads and downloads $name byte for byte', async ({ name, bytes }) => {
    const remote = `bf-${mode}-${name}.bin`;
    await client.uploadFrom(join(localDir, `${name}.bin`), remote);
    expect((await stat(join(stack.filesDir, remote))).size).toBe(bytes);
    expect(await sha256File(join(stack.filesDir, remote))).toBe(hashes.get(name));
    const back = join(localDir, `back-${remote}`);
    await client.downloadTo(back, remote);
    expect(await sha256File(back)).toBe(hashes.get(name));
  });
});

describe.each<PassiveCommand>(['PASV', 'EPSV'])('curl over implicit FTPS with %s', (mode) => {
  const modeArgs = mode === 'PASV' ? ['--disable-epsv'] : ['--ftp-pasv'];

  it('lists the directory', async () => {
    await writeFile(join(stack.filesDir, `curl-listed-${mode}.txt`), 'hello');
    const result = await curl(stack, ['--ssl-reqd', ...modeArgs, ftpsUrl(stack, '/')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`curl-listed-${mode}.txt`);
  });

  it.each(sizes)('uploads and downloads $name byte for byte', async ({ name, bytes }) => {
    const remote = `curl-${mode}-${name}.bin`;
    const up = await curl(stack, ['--ssl-reqd', ...modeArgs, '-T', join(localDir, `${name}.bin`), ftpsUrl(stack, remote)]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect((await stat(join(stack.filesDir, remote))).size).toBe(bytes);
    expect(await sha256File(join(stack.filesDir, remote))).toBe(hashes.get(name));
    const back = join(localDir, `curl-back-${remote}`);
    const down = await curl(stack, ['--ssl-reqd', ...modeArgs, '-o', back, ftpsUrl(stack, remote)]);
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    expect(await sha256File(back)).toBe(hashes.get(name));
  });
});

it('leaves no lease and no session behind', async () => {
  await expectNoLeftovers();
});

it('advertises PBSZ and PROT in FEAT and hides what cannot work through the gateway', async () => {
  const client = await connectBasicFtp(stack);
  try {
    const feat = await client.send('FEAT');
    expect(feat.message).toMatch(/^ PBSZ$/m);
    expect(feat.message).toMatch(/^ PROT$/m);
    expect(feat.message).not.toMatch(/^ EPRT$/m);
    expect(feat.message).toMatch(/^ EPSV$/m);
  } finally {
    client.close();
  }
});

it('answers PROT C with 534 and refuses active mode', async () => {
  const client = await connectBasicFtp(stack);
  try {
    await expect(client.send('PROT C')).rejects.toThrow(/534/);
    await expect(client.send('PORT 127,0,0,1,200,10')).rejects.toThrow(/502.*passive/);
    await expect(client.send('EPRT |1|127.0.0.1|51210|')).rejects.toThrow(/502.*passive/);
    // The refusals changed nothing: PROT P is still in force and a transfer works.
    await client.uploadFrom(Readable.from([Buffer.from('still protected')]), 'prot.txt');
  } finally {
    client.close();
  }
  expect(await readFile(join(stack.filesDir, 'prot.txt'), 'utf8')).toBe('still protected');
});
