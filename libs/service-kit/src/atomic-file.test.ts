import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileExclusive } from './atomic-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces a file with the given mode and leaves no temporary file', async () => {
    const path = join(dir, 'state.json');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new', 0o600);
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });
});

describe('writeFileExclusive', () => {
  it('creates a missing file, private to its owner', async () => {
    const path = join(dir, 'sub', 'v1.json');
    await writeFileExclusive(path, '{"v":1}');
    expect(await readFile(path, 'utf8')).toBe('{"v":1}');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'sub'))).toEqual(['v1.json']);
  });

  it('refuses an existing file with EEXIST, keeps it unchanged and leaves no temporary file', async () => {
    const path = join(dir, 'v1.json');
    await writeFile(path, 'first');
    await expect(writeFileExclusive(path, 'second')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['v1.json']);
  });

  it('lets exactly one of two simultaneous writers create the file', async () => {
    const path = join(dir, 'v2.json');
    const results = await Promise.allSettled([writeFileExclusive(path, 'a'), writeFileExclusive(path, 'b')]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const winner = results.findIndex((result) => result.status === 'fulfilled');
    expect(await readFile(path, 'utf8')).toBe(winner === 0 ? 'a' : 'b');
  });
});
