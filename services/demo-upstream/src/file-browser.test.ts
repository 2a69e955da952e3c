import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createFileBrowser } from './file-browser.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** fetch() normalises "..", even percent-encoded; a raw request sends the path as written. */
function rawRequest(port: number, method: string, path: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createFileBrowser', () => {
  let rootDir: string;
  let outsideDir: string;
  let server: Server;
  let base: string;
  let port: number;
  const oneMiB = randomBytes(1024 * 1024);

  beforeAll(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'file-browser-root-'));
    outsideDir = await mkdtemp(join(tmpdir(), 'file-browser-outside-'));
    await writeFile(join(rootDir, 'hello.txt'), 'hello world\n');
    await writeFile(join(rootDir, 'blob.bin'), oneMiB);
    await writeFile(join(rootDir, '<b>&"quotes".txt'), 'x');
    await mkdir(join(rootDir, 'sub dir'));
    await writeFile(join(rootDir, 'sub dir', 'inner.txt'), 'inner');
    await writeFile(join(outsideDir, 'secret.txt'), 'secret');
    await symlink(join(outsideDir, 'secret.txt'), join(rootDir, 'escape-link'));
    await symlink(outsideDir, join(rootDir, 'escape-dir'));
    await symlink(join(rootDir, 'hello.txt'), join(rootDir, 'inside-link.txt'));
    server = createFileBrowser({ rootDir, maxUploadBytes: 32 * 1024 * 1024 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await rm(rootDir, { recursive: true, force: true });
    await rm(outsideDir, { recursive: true, force: true });
  });

  describe('listings', () => {
    it('renders HTML with escaped names, links, sizes and the upload form', async () => {
      const res = await fetch(`${base}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain('&lt;b&gt;&amp;&quot;quotes&quot;.txt');
      expect(html).not.toContain('<b>&"quotes"');
      expect(html).toContain('href="./hello.txt"');
      expect(html).toContain('href="./sub%20dir/"');
      expect(html).toContain('1.0 MiB');
      expect(html).toMatch(/<form method="post" enctype="multipart\/form-data"/);
      expect(html).not.toContain('href="../"');
    });

    it('answers JSON when asked, directories first, without links that leave the root', async () => {
      const res = await fetch(`${base}/`, { headers: { Accept: 'application/json' } });
      expect(res.headers.get('content-type')).toBe('application/json');
      const entries = (await res.json()) as Array<{ name: string; type: string; size: number; modified: string }>;
      expect(entries[0]).toMatchObject({ name: 'sub dir', type: 'directory' });
      expect(entries.find((e) => e.name === 'blob.bin')).toMatchObject({ type: 'file', size: oneMiB.length });
      expect(Number.isNaN(Date.parse(entries[0]!.modified))).toBe(false);
      const names = entries.map((e) => e.name);
      expect(names).toContain('inside-link.txt');
      expect(names).not.toContain('escape-link');
      expect(names).not.toContain('escape-dir');
    });

    it('lists a subdirectory with a parent link', async () => {
      const res = await fetch(`${base}/sub%20dir/`);
      const html = await res.text();
      expect(html).toContain('href="../"');
      expect(html).toContain('href="./inner.txt"');
    });

    it('redirects a directory without its trailing slash', async () => {
      const res = await fetch(`${base}/sub%20dir?x=1`, { redirect: 'manual' });
      expect(res.status).toBe(301);
      expect(res.headers.get('location')).toBe('/sub%20dir/?x=1');
    });
  });

  describe('downloads', () => {
    it('streams a file with length, type, validators and range support', async () => {
      const res = await fetch(`${base}/blob.bin`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(oneMiB.length));
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
      expect(Date.parse(res.headers.get('last-modified') ?? '')).not.toBeNaN();
      expect(Buffer.from(await res.arrayBuffer()).equals(oneMiB)).toBe(true);
    });

    it('answers HEAD with the headers only', async () => {
      const res = await fetch(`${base}/hello.txt`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe('12');
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('');
    });

    it('follows a link that stays inside the root', async () => {
      const res = await fetch(`${base}/inside-link.txt`);
      expect(await res.text()).toBe('hello world\n');
    });

    it.each([
      { desc: 'first bytes', range: 'bytes=0-9', status: 206, contentRange: 'bytes 0-9/1048576', slice: [0, 10] },
      { desc: 'open end', range: 'bytes=1048570-', status: 206, contentRange: 'bytes 1048570-1048575/1048576', slice: [1048570, 1048576] },
      { desc: 'suffix', range: 'bytes=-4', status: 206, contentRange: 'bytes 1048572-1048575/1048576', slice: [1048572, 1048576] },
      { desc: 'end past the size is clamped', range: 'bytes=1048000-9999999', status: 206, contentRange: 'bytes 1048000-1048575/1048576', slice: [1048000, 1048576] },
      { desc: 'start past the end', range: 'bytes=2000000-', status: 416, contentRange: 'bytes */1048576', slice: undefined },
      { desc: 'several ranges are ignored', range: 'bytes=0-1,5-6', status: 200, contentRange: null, slice: [0, 1048576] },
    ])('Range: $desc', async ({ range, status, contentRange, slice }) => {
      const res = await fetch(`${base}/blob.bin`, { headers: { Range: range } });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-range')).toBe(contentRange);
      const body = Buffer.from(await res.arrayBuffer());
      if (slice) {
        expect(res.headers.get('content-length')).toBe(String(slice[1]! - slice[0]!));
        expect(body.equals(oneMiB.subarray(slice[0], slice[1]))).toBe(true);
      }
    });

    it('ignores Range when If-Range names another version', async () => {
      const res = await fetch(`${base}/blob.bin`, { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    });

    it('answers 304 to a matching If-None-Match', async () => {
      const first = await fetch(`${base}/hello.txt`);
      await first.text();
      const res = await fetch(`${base}/hello.txt`, { headers: { 'If-None-Match': first.headers.get('etag')! } });
      expect(res.status).toBe(304);
    });

    it('serves HTML files sandboxed', async () => {
      await writeFile(join(rootDir, 'page.html'), '<script>alert(1)</script>');
      const res = await fetch(`${base}/page.html`);
      expect(res.headers.get('content-security-policy')).toBe('sandbox');
      await res.text();
    });
  });

  describe('uploads', () => {
    it('stores a 20 MiB PUT byte for byte, then replaces it', async () => {
      const data = randomBytes(20 * 1024 * 1024);
      // Sent in chunks, as a stream: the server must not need the whole body at once.
      const chunks = Array.from({ length: 20 }, (_, i) => data.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      const created = await fetch(`${base}/big.bin`, {
        method: 'PUT',
        body: Readable.toWeb(Readable.from(chunks)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe('/big.bin');

      const res = await fetch(`${base}/big.bin`);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(data.length);
      expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));

      const replaced = await fetch(`${base}/big.bin`, { method: 'PUT', body: 'small now' });
      expect(replaced.status).toBe(204);
      expect(await readFile(join(rootDir, 'big.bin'), 'utf8')).toBe('small now');
      // No temporary files are left behind.
      expect((await readdir(rootDir)).filter((name) => name.startsWith('.upload-'))).toEqual([]);
    }, 30_000);

    it('stores a PUT into a subdirectory with an encoded name', async () => {
      const res = await fetch(`${base}/sub%20dir/caf%C3%A9%20menu.txt`, { method: 'PUT', body: 'croissant' });
      expect(res.status).toBe(201);
      expect(await readFile(join(rootDir, 'sub dir', 'café menu.txt'), 'utf8')).toBe('croissant');
    });

    it.each([
      { desc: 'onto a directory', path: '/sub%20dir', status: 405 },
      { desc: 'with a trailing slash', path: '/new-dir/', status: 400 },
      { desc: 'into a missing directory', path: '/missing/file.txt', status: 409 },
      { desc: 'through a link out of the root', path: '/escape-dir/planted.txt', status: 400 },
    ])('refuses a PUT $desc', async ({ path, status }) => {
      const res = await fetch(`${base}${path}`, { method: 'PUT', body: 'x' });
      expect(res.status).toBe(status);
      await res.text();
      expect(await readdir(outsideDir)).toEqual(['secret.txt']);
    });

    it('refuses a PUT larger than the limit without storing anything', async () => {
      const res = await fetch(`${base}/too-big.bin`, { method: 'PUT', body: Buffer.alloc(33 * 1024 * 1024) });
      expect(res.status).toBe(413);
      await res.text();
      expect((await readdir(rootDir)).filter((name) => name === 'too-big.bin' || name.startsWith('.upload-'))).toEqual([]);
    });

    it('stops a streamed PUT at the limit and removes the partial file', async () => {
      // No Content-Length: the limit is only known to be exceeded while receiving.
      const chunks = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024));
      const outcome = await fetch(`${base}/streamed-too-big.bin`, {
        method: 'PUT',
        body: Readable.toWeb(Readable.from(chunks)) as ReadableStream,
        duplex: 'half',
      } as RequestInit).then(
        async (res) => {
          await res.arrayBuffer();
          return res.status;
        },
        // The server may close the connection before the client has sent everything.
        () => 'connection closed',
      );
      expect([413, 'connection closed']).toContain(outcome);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await readdir(rootDir)).filter((name) => name === 'streamed-too-big.bin' || name.startsWith('.upload-'))).toEqual([]);
    });

    it('stores files from the multipart form and redirects to the listing', async () => {
      const form = new FormData();
      form.append('file', new Blob([oneMiB]), 'from-form.bin');
      form.append('file', new Blob(['second']), 'C:\\Users\\me\\second.txt');
      const res = await fetch(`${base}/sub%20dir/`, { method: 'POST', body: form, redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/sub%20dir/');
      expect((await readFile(join(rootDir, 'sub dir', 'from-form.bin'))).equals(oneMiB)).toBe(true);
      expect(await readFile(join(rootDir, 'sub dir', 'second.txt'), 'utf8')).toBe('second');
    });

    it('refuses a form without a file, and a body that is not a form', async () => {
      const empty = new FormData();
      empty.append('note', 'no file here');
      const noFile = await fetch(`${base}/`, { method: 'POST', body: empty });
      expect(noFile.status).toBe(400);
      await noFile.text();
      const notForm = await fetch(`${base}/`, { method: 'POST', body: 'plain', headers: { 'Content-Type': 'text/plain' } });
      expect(notForm.status).toBe(415);
      await notForm.text();
    });
  });

  describe('DELETE', () => {
    it('deletes a file, then 404', async () => {
      await writeFile(join(rootDir, 'doomed.txt'), 'bye');
      const res = await fetch(`${base}/doomed.txt`, { method: 'DELETE' });
      expect(res.status).toBe(204);
      const again = await fetch(`${base}/doomed.txt`, { method: 'DELETE' });
      expect(again.status).toBe(404);
    });
  });

  describe('refusals', () => {
    it.each([
      { desc: 'plain ..', path: '/../etc/passwd', status: 400 },
      { desc: 'encoded ..', path: '/%2e%2e/etc/passwd', status: 400 },
      { desc: 'mixed-case encoded ..', path: '/%2E%2e/%2E%2E/etc/passwd', status: 400 },
      { desc: '.. inside the path', path: '/sub%20dir/../../etc/passwd', status: 400 },
      { desc: 'encoded slash', path: '/..%2f..%2fetc%2fpasswd', status: 400 },
      { desc: 'encoded NUL', path: '/hello.txt%00.png', status: 400 },
      { desc: 'malformed encoding', path: '/%E0%A4%A', status: 400 },
      { desc: 'a link to a file outside', path: '/escape-link', status: 400 },
      { desc: 'a file behind a linked directory outside', path: '/escape-dir/secret.txt', status: 400 },
      { desc: 'absolute-form target', path: 'http://evil/etc/passwd', status: 400 },
    ])('$desc', async ({ path, status }) => {
      const res = await rawRequest(port, 'GET', path);
      expect(res.status).toBe(status);
      expect(res.body).not.toContain('root:');
      expect(res.body).not.toContain('secret');
    });

    it('404 for a missing file, and for a file addressed as a directory', async () => {
      expect((await fetch(`${base}/nope.txt`)).status).toBe(404);
      expect((await fetch(`${base}/hello.txt/`)).status).toBe(404);
    });

    it.each([
      { desc: 'unknown method', method: 'PATCH', path: '/hello.txt', allow: 'GET, HEAD, PUT, POST, DELETE, OPTIONS' },
      { desc: 'POST on a file', method: 'POST', path: '/hello.txt', allow: 'GET, HEAD, PUT, DELETE, OPTIONS' },
      { desc: 'DELETE on a directory', method: 'DELETE', path: '/sub%20dir/', allow: 'GET, HEAD, POST, OPTIONS' },
    ])('405 with Allow: $desc', async ({ method, path, allow }) => {
      const res = await rawRequest(port, method, path);
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe(allow);
    });

    it('keeps serving after a client drops mid-download', async () => {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/blob.bin' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.end();
      });
      const res = await fetch(`${base}/hello.txt`);
      expect(await res.text()).toBe('hello world\n');
    });

    it('explains errors in JSON to JSON clients', async () => {
      const res = await fetch(`${base}/nope.txt`, { headers: { Accept: 'application/json' } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'not found' } });
    });
  });
});
