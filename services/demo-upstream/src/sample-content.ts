import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const readme = `Secure Transfers demo upstream
==============================

This directory is served in plain text by two servers at once:

  - vsftpd (FTP, with a passive port range), and
  - a small HTTP file browser (listings, downloads, uploads).

Neither speaks TLS. The Secure Transfers gateway sits in front of them and
offers the same files as HTTPS and as implicit FTPS (with encrypted passive data
connections). Everything you upload through the gateway lands here, and
everything here can be downloaded through it.

Try it:
  - open the gateway's https:// address in a browser and upload a file;
  - connect an FTP client with "FTP over implicit TLS" (port 990 by default,
    PBSZ 0 / PROT P) and list, download and upload;
  - download random-1MiB.bin and compare it with the original (sha256sum);
  - read the gateway's logs through the log service.
`;

export interface SeedResult {
  seeded: boolean;
  files: string[];
}

/**
 * Fills an empty directory with something to look at and transfer. A directory
 * with content is left alone, so that a restart never overwrites a user's files.
 */
export async function seedSampleDirectory(rootDir: string): Promise<SeedResult> {
  await mkdir(rootDir, { recursive: true });
  if ((await readdir(rootDir)).length > 0) return { seeded: false, files: [] };
  const files: Array<[string, string | Buffer]> = [
    ['README.txt', readme],
    ['hello.txt', 'Hello from the Secure Transfers demo upstream.\n'],
    ['notes.md', '# Notes\n\n- FTP and HTTP serve this same directory.\n- Uploads by either show up in both.\n'],
    ['data.csv', 'id,name,size\n1,alpha,10\n2,beta,20\n3,gamma,30\n'],
    ['reports/quarterly-summary.txt', 'Q1: 12 transfers\nQ2: 34 transfers\nQ3: 56 transfers\nQ4: 78 transfers\n'],
    // Random bytes: a corrupted transfer cannot pass for a correct one.
    ['random-1MiB.bin', randomBytes(1024 * 1024)],
  ];
  await mkdir(join(rootDir, 'reports'), { recursive: true });
  for (const [name, content] of files) await writeFile(join(rootDir, name), content, { mode: 0o644 });
  return { seeded: true, files: files.map(([name]) => name) };
}
