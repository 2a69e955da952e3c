import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedSampleDirectory } from './sample-content.js';

describe('seedSampleDirectory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sample-content-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fills an empty directory', async () => {
    const result = await seedSampleDirectory(dir);
    expect(result.seeded).toBe(true);
    expect(await readFile(join(dir, 'README.txt'), 'utf8')).toMatch(/demo upstream/);
    expect((await stat(join(dir, 'random-1MiB.bin'))).size).toBe(1024 * 1024);
    expect((await stat(join(dir, 'reports'))).isDirectory()).toBe(true);
    expect((await readdir(join(dir, 'reports'))).length).toBeGreaterThan(0);
    expect((await readdir(dir)).length).toBeGreaterThanOrEqual(5);
  });

  it('creates a missing directory', async () => {
    const nested = join(dir, 'a', 'b');
    expect((await seedSampleDirectory(nested)).seeded).toBe(true);
    expect(await readdir(nested)).toContain('README.txt');
  });

  it('leaves a directory with content alone', async () => {
    await writeFile(join(dir, 'mine.txt'), 'keep');
    expect(await seedSampleDirectory(dir)).toEqual({ seeded: false, files: [] });
    expect(await readdir(dir)).toEqual(['mine.txt']);
  });
});
