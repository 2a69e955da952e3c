import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lstat, open, readdir, realpath, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { BrowserError, toBrowserError } from './browser-error.js';
import { parseByteRange } from './byte-range.js';
import { contentTypeFor, isActiveContent } from './content-type.js';
import { renderListingHtml, sortEntries, type ListingEntry } from './listing-html.js';
import { formatRequestPath, parseRequestPath, uploadFileName, type RequestPath } from './request-path.js';
import { storeUpload, uploadTempPattern } from './upload.js';

export interface FileBrowserOptions {
  rootDir: string;
  /** Largest accepted upload, per file; default 1 GiB. */
  maxUploadBytes?: number;
}

export type { ListingEntry } from './listing-html.js';

const defaultMaxUploadBytes = 1024 ** 3;
const knownMethods = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'];
const directoryMethods = ['GET', 'HEAD', 'POST', 'OPTIONS'];
const fileMethods = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'];
/** What a missing path can still become. */
const missingMethods = ['PUT', 'OPTIONS'];

function methodNotAllowed(allowed: string[]): BrowserError {
  return new BrowserError(405, 'METHOD_NOT_ALLOWED', 'method not allowed here', { Allow: allowed.join(', ') });
}

function wantsJson(req: IncomingMessage): boolean {
  return /\bapplication\/json\b/i.test(req.headers.accept ?? '');
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of `path`, refusing anything that symlinks out of the root; undefined when it does not exist. */
async function resolveInside(rootReal: string, path: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  if (!isInside(rootReal, real)) throw new BrowserError(400, 'OUTSIDE_ROOT', 'the path leads outside the served directory');
  return real;
}

function etagFor(info: Stats): string {
  return `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
}

function notModified(req: IncomingMessage, etag: string, mtime: Date): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  return !Number.isNaN(since) && Math.floor(mtime.getTime() / 1000) * 1000 <= since;
}

/** Sends a file, whole or one byte range, from an open handle so that what we stat is what we send. */
async function sendFile(req: IncomingMessage, res: ServerResponse, path: string, name: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new BrowserError(403, 'NOT_A_FILE', 'not a regular file');
    const etag = etagFor(info);
    const lastModified = info.mtime.toUTCString();
    const contentType = contentTypeFor(name);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', lastModified);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Anyone who can upload could otherwise run scripts on this origin.
    if (isActiveContent(contentType)) res.setHeader('Content-Security-Policy', 'sandbox');
    if (notModified(req, etag, info.mtime)) {
      res.writeHead(304).end();
      return;
    }
    const ifRange = req.headers['if-range'];
    const rangeHeader = ifRange === undefined || ifRange === etag || ifRange === lastModified ? req.headers.range : undefined;
    const range = parseByteRange(rangeHeader, info.size);
    if (range.kind === 'unsatisfiable') {
      throw new BrowserError(416, 'RANGE_NOT_SATISFIABLE', 'range not satisfiable', { 'Content-Range': `bytes */${info.size}` });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, info.size - 1];
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', String(end - start + 1));
    if (range.kind === 'partial') {
      res.setHeader('Content-Range', `bytes ${start}-${end}/${info.size}`);
      res.statusCode = 206;
    } else {
      res.statusCode = 200;
    }
    if (req.method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    await pipeline(handle.createReadStream({ start, end, autoClose: false }), res);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function listDirectory(rootReal: string, dir: string): Promise<ListingEntry[]> {
  const dirents = await readdir(dir, { withFileTypes: true });
  const entries = await Promise.all(
    dirents.map(async (dirent): Promise<ListingEntry | undefined> => {
      if (uploadTempPattern.test(dirent.name)) return undefined;
      const path = join(dir, dirent.name);
      try {
        // Links that leave the root are not shown: their target's size and date are not ours to tell.
        if (dirent.isSymbolicLink() && !isInside(rootReal, await realpath(path))) return undefined;
        const info = await stat(path);
        if (!info.isFile() && !info.isDirectory()) return undefined;
        const type = info.isDirectory() ? 'directory' : 'file';
        return { name: dirent.name, type, size: type === 'file' ? info.size : 0, modified: info.mtime.toISOString() };
      } catch {
        return undefined; // Dangling link, or removed while we were listing.
      }
    }),
  );
  return sortEntries(entries.filter((entry): entry is ListingEntry => entry !== undefined));
}

async function sendListing(req: IncomingMessage, res: ServerResponse, rootReal: string, dir: string, path: RequestPath): Promise<void> {
  const entries = await listDirectory(rootReal, dir);
  const body = wantsJson(req)
    ? JSON.stringify(entries)
    : renderListingHtml(`/${path.segments.map((s) => `${s}/`).join('')}`, entries, path.segments.length === 0);
  res.writeHead(200, {
    'Content-Type': wantsJson(req) ? 'application/json' : 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    Vary: 'Accept',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function checkDeclaredLength(req: IncomingMessage, maxBytes: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new BrowserError(413, 'TOO_LARGE', `uploads are limited to ${maxBytes} bytes`);
  }
}

async function putFile(req: IncomingMessage, res: ServerResponse, rootReal: string, path: RequestPath, maxBytes: number): Promise<void> {
  const name = path.segments[path.segments.length - 1];
  if (name === undefined || path.trailingSlash) throw new BrowserError(400, 'BAD_PATH', 'PUT stores a file: the path must not end with "/"');
  checkDeclaredLength(req, maxBytes);
  const parent = await resolveInside(rootReal, join(rootReal, ...path.segments.slice(0, -1)));
  if (parent === undefined || !(await stat(parent)).isDirectory()) {
    throw new BrowserError(409, 'NO_PARENT', 'the parent directory does not exist');
  }
  const stored = await storeUpload(req, parent, name, maxBytes);
  if (stored.created) {
    res.writeHead(201, { Location: formatRequestPath(path.segments, false), 'Content-Length': 0 }).end();
  } else {
    res.writeHead(204).end();
  }
}

/** Receives a multipart form (the listing's upload form): every file part is streamed to disk in turn. */
function receiveForm(req: IncomingMessage, dir: string, maxBytes: number): Promise<string[]> {
  return new Promise((resolveForm, rejectForm) => {
    let parser: busboy.Busboy;
    try {
      // defParamCharset: browsers send UTF-8 file names; busboy assumes latin1 otherwise.
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 100, fields: 100, fieldSize: 64 * 1024, fileSize: maxBytes + 1 } });
    } catch {
      rejectForm(new BrowserError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data'));
      return;
    }
    const stores: Array<Promise<string>> = [];
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      rejectForm(error);
    };
    parser.on('file', (_field, stream, info) => {
      const name = uploadFileName(info.filename);
      if (failed || name === undefined) {
        stream.resume();
        if (name === undefined && info.filename) fail(new BrowserError(400, 'BAD_NAME', `not a usable file name: "${info.filename}"`));
        return;
      }
      const stored = storeUpload(stream, dir, name, maxBytes).then(() => name);
      stored.catch(fail);
      stores.push(stored);
    });
    parser.on('error', () => fail(new BrowserError(400, 'BAD_FORM', 'malformed multipart body')));
    parser.on('close', () => {
      Promise.all(stores).then((names) => {
        if (failed) return;
        if (names.length === 0) fail(new BrowserError(400, 'NO_FILE', 'the form contained no file'));
        else resolveForm(names);
      }, fail);
    });
    req.on('error', fail);
    req.pipe(parser);
  });
}

async function postForm(req: IncomingMessage, res: ServerResponse, dir: string, path: RequestPath, maxBytes: number): Promise<void> {
  checkDeclaredLength(req, maxBytes);
  const names = await receiveForm(req, dir, maxBytes);
  const location = formatRequestPath(path.segments, true);
  if (wantsJson(req)) {
    const body = JSON.stringify({ stored: names });
    res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  } else {
    res.writeHead(303, { Location: location, 'Content-Length': 0 }).end();
  }
}

function sendError(req: IncomingMessage, res: ServerResponse, failure: BrowserError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const json = wantsJson(req);
  const body = json ? JSON.stringify({ error: { code: failure.code, message: failure.message } }) : `${failure.status} ${failure.message}\n`;
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.writeHead(failure.status, {
    ...failure.headers,
    'Content-Type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    // The request body may still be arriving; do not try to reuse the connection after it.
    ...(req.complete ? {} : { Connection: 'close' }),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  if (!req.complete) req.resume();
}

async function route(req: IncomingMessage, res: ServerResponse, options: Required<FileBrowserOptions>): Promise<void> {
  const method = req.method ?? '';
  if (!knownMethods.includes(method)) throw methodNotAllowed(knownMethods);
  const parsed = parseRequestPath(req.url ?? '');
  if (!parsed.ok) throw new BrowserError(400, 'BAD_PATH', parsed.reason);
  const rootReal = await realpath(options.rootDir);
  const requested = join(rootReal, ...parsed.segments);
  const real = await resolveInside(rootReal, requested);

  if (real === undefined) {
    if (method === 'PUT') return putFile(req, res, rootReal, parsed, options.maxUploadBytes);
    if (method === 'OPTIONS') return void res.writeHead(204, { Allow: missingMethods.join(', ') }).end();
    throw new BrowserError(404, 'NOT_FOUND', 'not found');
  }

  const info = await stat(real);
  if (info.isDirectory()) {
    if (!directoryMethods.includes(method)) throw methodNotAllowed(directoryMethods);
    if (method === 'OPTIONS') return void res.writeHead(204, { Allow: directoryMethods.join(', ') }).end();
    if (!parsed.trailingSlash && method !== 'POST') {
      const query = (req.url ?? '').match(/\?.*$/)?.[0] ?? '';
      res.writeHead(301, { Location: formatRequestPath(parsed.segments, true) + query, 'Content-Length': 0 }).end();
      return;
    }
    if (method === 'POST') return postForm(req, res, real, parsed, options.maxUploadBytes);
    return sendListing(req, res, rootReal, real, parsed);
  }
  if (!info.isFile()) throw new BrowserError(403, 'NOT_A_FILE', 'not a regular file');
  if (parsed.trailingSlash) throw new BrowserError(404, 'NOT_FOUND', 'not a directory');
  if (!fileMethods.includes(method)) throw methodNotAllowed(fileMethods);
  switch (method) {
    case 'OPTIONS':
      res.writeHead(204, { Allow: fileMethods.join(', ') }).end();
      return;
    case 'PUT':
      return putFile(req, res, rootReal, parsed, options.maxUploadBytes);
    case 'DELETE':
      // The name itself goes: a link is removed, not the file it points to.
      if ((await lstat(requested)).isDirectory()) throw methodNotAllowed(directoryMethods);
      await unlink(requested);
      res.writeHead(204).end();
      return;
    default:
      return sendFile(req, res, real, parsed.segments[parsed.segments.length - 1] ?? '');
  }
}

/**
 * A plain HTTP file browser over one directory: listings (HTML or JSON),
 * downloads with ranges, uploads by PUT or by the listing's form, and DELETE.
 * The demo upstream serves it beside vsftpd over the same directory.
 */
export function createFileBrowser(options: FileBrowserOptions): Server {
  const settings: Required<FileBrowserOptions> = { rootDir: options.rootDir, maxUploadBytes: options.maxUploadBytes ?? defaultMaxUploadBytes };
  const server = createServer((req, res) => {
    route(req, res, settings).catch((error: unknown) => {
      try {
        sendError(req, res, toBrowserError(error));
      } catch {
        res.destroy();
      }
    });
  });
  // Uploads of large files may take long in total, but a silent connection is dropped.
  server.requestTimeout = 0;
  server.headersTimeout = 20_000;
  server.setTimeout(120_000);
  return server;
}
