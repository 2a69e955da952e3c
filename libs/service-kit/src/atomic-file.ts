import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/**
 * Writes a file so that readers see the old content or the new, never a part:
 * a temporary file in the same directory, fsync, rename, fsync of the directory.
 * The mode is set at creation, so a key is never readable by others even briefly.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const temp = await writeTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(dirname(path));
}

/**
 * Like writeFileAtomic, but refuses (EEXIST) when the file exists already,
 * in one step: the complete file is linked into place, so two writers can
 * never both believe they created it.
 */
export async function writeFileExclusive(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const temp = await writeTemp(path, data, mode);
  try {
    await link(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  await syncDir(dirname(path));
}

/** A complete, synced temporary file beside `path`; removed again if writing it fails. */
async function writeTemp(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

async function syncDir(dir: string): Promise<void> {
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
