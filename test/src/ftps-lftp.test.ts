import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lftp, sha256File, writeRandomFile } from './harness/clients.js';
import { startStack, waitFor, type Stack } from './harness/stack.js';

jest.setTimeout(120_000);

// lftp (GnuTLS) starts a data connection's TLS handshake only after the 150
// reply, which the upstream sends only once its data connection is accepted:
// the gateway must connect the upstream before the client's handshake ends.
let stack: Stack;
let localDir: string;

beforeAll(async () => {
  stack = await startStack();
  localDir = join(stack.dir, 'local');
  await mkdir(localDir);
});

afterAll(async () => {
  await stack?.stop();
});

describe.each([
  { mode: 'PASV', settings: ['set ftp:prefer-epsv no'] },
  { mode: 'EPSV', settings: ['set ftp:prefer-epsv yes'] },
])('lftp over implicit FTPS with $mode', ({ mode, settings }) => {
  it('lists, uploads and downloads byte for byte, quickly', async () => {
    await writeFile(join(stack.filesDir, `lftp-listed-${mode}.txt`), 'listed');
    const upload = join(localDir, `lftp-up-${mode}.bin`);
    const hash = await writeRandomFile(upload, 5 * 1024 * 1024 + 3);
    const started = Date.now();
    const result = await lftp(stack, ['ls', `put ${upload} -o lftp-${mode}.bin`, `get lftp-${mode}.bin -o ${join(localDir, `lftp-back-${mode}.bin`)}`], settings);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`lftp-listed-${mode}.txt`);
    expect(await sha256File(join(stack.filesDir, `lftp-${mode}.bin`))).toBe(hash);
    expect(await sha256File(join(localDir, `lftp-back-${mode}.bin`))).toBe(hash);
    // Three data connections; a handshake deadlock would cost seconds each.
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

it('keeps the session usable when lftp aborts a download it does not want (ABOR right after RETR)', async () => {
  await writeFile(join(stack.filesDir, 'exists.txt'), 'remote');
  await writeFile(join(localDir, 'exists.txt'), 'local');
  const started = Date.now();
  const result = await lftp(stack, [`get exists.txt -o ${join(localDir, 'exists.txt')}`, 'ls'], ['set xfer:clobber no']);
  // A stuck ABOR would make lftp wait for its 15 s+ timeout and reconnect.
  if (process.env.LFTP_DEBUG) console.log(result.stderr);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(result.stdout).toContain('exists.txt');
  expect(await readFile(join(localDir, 'exists.txt'), 'utf8')).toBe('local');
  await waitFor(async () => (await stack.leaseKeys()).length === 0, 10_000, 'no leases left');
});
