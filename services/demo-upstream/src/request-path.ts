/** A request path split into decoded names, safe to join under the served root. */
export interface RequestPath {
  segments: string[];
  /** The URL ends with "/": the client asks for a directory. */
  trailingSlash: boolean;
}

export type ParsedRequestPath = ({ ok: true } & RequestPath) | { ok: false; reason: string };

const maxPathLength = 4096;
const maxNameBytes = 255;

/**
 * Decodes and normalises the path of a request target. Empty and "." segments
 * are dropped; ".." is refused rather than resolved, whether written plainly or
 * percent-encoded, so a request never names anything above the root. A segment
 * that decodes to a "/" or a NUL is refused too: it would split into two names
 * or truncate the path in a system call.
 */
export function parseRequestPath(target: string): ParsedRequestPath {
  const end = target.search(/[?#]/);
  const raw = end === -1 ? target : target.slice(0, end);
  if (!raw.startsWith('/')) return { ok: false, reason: 'the path must start with "/"' };
  if (raw.length > maxPathLength) return { ok: false, reason: 'the path is too long' };
  const segments: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(part);
    } catch {
      return { ok: false, reason: `malformed percent-encoding in "${part}"` };
    }
    if (name === '.') continue;
    if (name === '..') return { ok: false, reason: 'the path may not contain ".."' };
    if (name.includes('/') || name.includes('\0')) return { ok: false, reason: 'a path segment contains "/" or NUL' };
    if (Buffer.byteLength(name) > maxNameBytes) return { ok: false, reason: 'a name is longer than 255 bytes' };
    segments.push(name);
  }
  return { ok: true, segments, trailingSlash: raw.endsWith('/') || segments.length === 0 };
}

/** The URL path for a list of names; directories get a trailing slash. */
export function formatRequestPath(segments: readonly string[], directory: boolean): string {
  const path = `/${segments.map((name) => encodeURIComponent(name)).join('/')}`;
  return directory && segments.length > 0 ? `${path}/` : path;
}

/** A file name from an upload form, as a single safe name, or undefined. Browsers on Windows may send a full path. */
export function uploadFileName(filename: string | undefined): string | undefined {
  if (!filename) return undefined;
  const name = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1).trim();
  if (!name || name === '.' || name === '..' || name.includes('\0') || Buffer.byteLength(name) > maxNameBytes) return undefined;
  return name;
}
