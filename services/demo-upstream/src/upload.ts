import { randomBytes } from 'node:crypto';
import { chown, lstat, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BrowserError } from './browser-error.js';

/** Temporary upload files; hidden from listings. */
export const uploadTempPattern = /^\.upload-[0-9a-f]{16}\.part$/;

function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new BrowserError(413, 'TOO_LARGE', `uploads are limited to ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
}

export interface StoredUpload {
  /** false when an existing file was replaced. */
  created: boolean;
  bytes: number;
}

/**
 * Streams `source` into `dir/name`: into a temporary file in the same directory
 * first, renamed over the target once complete, so readers (HTTP or FTP) see the
 * old file or the new one, never a part. pipeline() pauses the source while the
 * disk is behind. When the server runs as root the file is given to the owner of
 * the directory, so that the FTP account can still change what HTTP uploaded.
 */
export async function storeUpload(source: Readable, dir: string, name: string, maxBytes: number): Promise<StoredUpload> {
  const target = join(dir, name);
  const existing = await lstat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing?.isDirectory()) throw new BrowserError(409, 'IS_A_DIRECTORY', `"${name}" is a directory`);

  const temp = join(dir, `.upload-${randomBytes(8).toString('hex')}.part`);
  // Opened here rather than by the stream, so that 'wx' guarantees the name is ours.
  const handle = await open(temp, 'wx', 0o644);
  let bytes = 0;
  try {
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    // The write stream closes the handle when it finishes or fails.
    await pipeline(source, byteLimit(maxBytes), counter, handle.createWriteStream());
    if (process.getuid?.() === 0) {
      const owner = await stat(dir);
      if (owner.uid !== 0 || owner.gid !== 0) await chown(temp, owner.uid, owner.gid);
    }
    // Re-checked here: the target may have become a directory while we were receiving.
    const replaced = await lstat(target).then(
      (info) => {
        if (info.isDirectory()) throw new BrowserError(409, 'IS_A_DIRECTORY', `"${name}" is a directory`);
        return true;
      },
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    await rename(temp, target);
    return { created: !replaced, bytes };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
