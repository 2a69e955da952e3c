import type { ProcessRegistry, RunResult } from './processes.js';

/** One line of curl's --write-out. */
const curlWriteOut = '%{http_code} %{size_download} %{time_total}\\n';

export interface Download {
  ok: boolean;
  bytes: number;
  seconds: number;
  /** Why it failed, when it did. */
  problem?: string;
}

export function parseCurlWriteOut(stdout: string): { status: number; bytes: number; seconds: number } | undefined {
  const match = /(\d{3}) (\d+) ([\d.]+)\s*$/.exec(stdout.trim());
  if (!match) return undefined;
  return { status: Number(match[1]), bytes: Number(match[2]), seconds: Number(match[3]) };
}

function downloadFrom(result: RunResult, expectedBytes: number, okStatus: (status: number) => boolean): Download {
  const parsed = parseCurlWriteOut(result.stdout);
  const problem =
    result.timedOut ? 'timed out'
    : result.code !== 0 ? `curl exit ${result.code}: ${result.stderr.trim().slice(-300)}`
    : !parsed ? `unreadable curl output "${result.stdout.trim()}"`
    : !okStatus(parsed.status) ? `status ${parsed.status}`
    : parsed.bytes !== expectedBytes ? `got ${parsed.bytes} bytes, expected ${expectedBytes}`
    : undefined;
  if (problem || !parsed) return { ok: false, bytes: parsed?.bytes ?? 0, seconds: parsed?.seconds ?? 0, problem: problem ?? 'no output' };
  return { ok: true, bytes: parsed.bytes, seconds: parsed.seconds };
}

export async function curlHttps(registry: ProcessRegistry, url: string, caFile: string, expectedBytes: number, timeoutMs: number): Promise<Download> {
  const args = ['--silent', '--show-error', '--cacert', caFile, '--output', '/dev/null', '--write-out', curlWriteOut, '--max-time', String(Math.ceil(timeoutMs / 1000)), url];
  return downloadFrom(await registry.run('curl', args, timeoutMs + 5_000), expectedBytes, (status) => status === 200);
}

/** Implicit FTPS, passive (EPSV first, as curl does), protected data connection. */
export async function curlFtps(
  registry: ProcessRegistry,
  url: string,
  credentials: { user: string; password: string },
  caFile: string,
  expectedBytes: number,
  timeoutMs: number,
): Promise<Download> {
  const args = [
    '--silent', '--show-error', '--ssl-reqd', '--cacert', caFile,
    '--user', `${credentials.user}:${credentials.password}`,
    '--output', '/dev/null', '--write-out', curlWriteOut, '--max-time', String(Math.ceil(timeoutMs / 1000)), url,
  ];
  // curl reports the final FTP reply code (226) as its "http_code" for FTP.
  return downloadFrom(await registry.run('curl', args, timeoutMs + 5_000), expectedBytes, (status) => status === 226 || status === 250);
}

export interface WrkResult {
  ok: boolean;
  requestsPerSecond: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  problem?: string;
}

export function parseWrk(stdout: string): Omit<WrkResult, 'ok' | 'problem'> | undefined {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const total = /(\d+) requests in/.exec(stdout);
  if (!rps || !total) return undefined;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const socketErrors = errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { requestsPerSecond: Number(rps[1]), requests: Number(total[1]), non2xx: non2xx ? Number(non2xx[1]) : 0, socketErrors };
}

/** Keep-alive load: wrk's HTTP/1.1 connections stay open for the whole run. */
export async function wrk(registry: ProcessRegistry, url: string, options: { connections: number; threads: number; seconds: number; headers?: string[] }): Promise<WrkResult> {
  const headers = (options.headers ?? []).flatMap((header) => ['-H', header]);
  const args = ['-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`, '--timeout', '5s', ...headers, url];
  const result = await registry.run('wrk', args, (options.seconds + 30) * 1000);
  const parsed = parseWrk(result.stdout);
  if (result.code !== 0 || !parsed) {
    return { ok: false, requestsPerSecond: 0, requests: 0, non2xx: 0, socketErrors: 0, problem: `wrk exit ${result.code}: ${(result.stderr || result.stdout).trim().slice(-300)}` };
  }
  // A few errors at the very end (connections cut when the run stops) are normal; many mean the figure is not trustworthy.
  const bad = parsed.non2xx + parsed.socketErrors > Math.max(10, parsed.requests * 0.001);
  return { ok: !bad, ...parsed, ...(bad ? { problem: `${parsed.non2xx} non-2xx responses, ${parsed.socketErrors} socket errors` } : {}) };
}

export interface AbResult {
  ok: boolean;
  requestsPerSecond: number;
  complete: number;
  failed: number;
  problem?: string;
}

export function parseAb(stdout: string): Omit<AbResult, 'ok' | 'problem'> & { non2xx: number } | undefined {
  const rps = /Requests per second:\s+([\d.]+)/.exec(stdout);
  const complete = /Complete requests:\s+(\d+)/.exec(stdout);
  if (!rps || !complete) return undefined;
  const failed = /Failed requests:\s+(\d+)/.exec(stdout);
  const non2xx = /Non-2xx responses:\s+(\d+)/.exec(stdout);
  return { requestsPerSecond: Number(rps[1]), complete: Number(complete[1]), failed: failed ? Number(failed[1]) : 0, non2xx: non2xx ? Number(non2xx[1]) : 0 };
}

/**
 * One new TLS connection with a full handshake per request: ab (HTTP/1.0, no -k)
 * neither keeps connections nor resumes sessions. -t bounds the run in time; -n
 * after it sets the request count (ab stops at whichever comes first).
 */
export async function ab(registry: ProcessRegistry, url: string, options: { requests: number; concurrency: number; maxSeconds: number }): Promise<AbResult> {
  const args = ['-q', '-r', '-t', String(options.maxSeconds), '-n', String(options.requests), '-c', String(options.concurrency), url];
  const result = await registry.run('ab', args, (options.maxSeconds + 30) * 1000);
  const parsed = parseAb(result.stdout);
  if (!parsed) return { ok: false, requestsPerSecond: 0, complete: 0, failed: 0, problem: `ab exit ${result.code}: ${(result.stderr || result.stdout).trim().slice(-300)}` };
  const bad = parsed.failed + parsed.non2xx > Math.max(5, parsed.complete * 0.001);
  return { ok: !bad && result.code === 0, ...parsed, ...(bad || result.code !== 0 ? { problem: `ab exit ${result.code}, ${parsed.failed} failed, ${parsed.non2xx} non-2xx` } : {}) };
}

export interface NegotiatedTls {
  protocol: string;
  cipher: string;
  keyExchange: string;
  signature: string;
}

/** What `openssl s_client -brief` (the same OpenSSL and defaults as curl, wrk and ab) negotiates. */
export function parseSClientBrief(text: string): NegotiatedTls | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
  const protocol = field('Protocol version');
  const cipher = field('Ciphersuite');
  if (!protocol || !cipher) return undefined;
  return { protocol, cipher, keyExchange: field('(?:Server|Peer) Temp Key') ?? '?', signature: field('(?:Peer signature type|Signature type)') ?? '?' };
}

export async function probeTls(registry: ProcessRegistry, port: number, caFile: string): Promise<NegotiatedTls | undefined> {
  const result = await registry.run('openssl', ['s_client', '-brief', '-connect', `127.0.0.1:${port}`, '-CAfile', caFile, '-verify_return_error'], 10_000);
  return parseSClientBrief(`${result.stdout}\n${result.stderr}`);
}

export function describeTls(tls: NegotiatedTls | undefined): string {
  return tls ? `${tls.protocol} ${tls.cipher}, ${tls.keyExchange}, ${tls.signature}` : 'not probed';
}
