import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@st/logging';

/** A logger whose JSON lines the test can read back. */
export function capturingLogger(service: string): { logger: Logger; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).trim().split('\n'));
      done();
    },
  });
  return { logger: createLogger({ service, level: 'debug', destination }), lines, records: () => lines.map((line) => JSON.parse(line)) };
}

export interface ApiReply {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface ApiRequestOptions {
  headers?: Record<string, string>;
  contentType?: string;
}

/** A JSON API client with a default bearer token; `token: null` sends none. */
export function apiClient(url: () => string, defaultToken: string) {
  return async (method: string, path: string, body?: unknown, token: string | null = defaultToken, options: ApiRequestOptions = {}): Promise<ApiReply> => {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
        ...options.headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Downloads (PEM, rendered configuration) are not JSON.
    }
    return { status: response.status, headers: response.headers, text, json };
  };
}

/** Every file under a directory with its content hash and mode: "stored state" made comparable. */
export async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else result[path.slice(dir.length)] = `${createHash('sha256').update(await readFile(path)).digest('hex')} ${((await stat(path)).mode & 0o777).toString(8)}`;
    }
  }
  await walk(dir);
  return result;
}
export { BrokerRelay } from './broker-relay.js';
export { canConnect, freePort, freePortBlock, type FreePortOptions } from './ports.js';
