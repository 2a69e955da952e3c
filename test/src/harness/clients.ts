import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { Client, enterPassiveModeIPv4, enterPassiveModeIPv6 } from 'basic-ftp';
import { ftpPassword, ftpUser, type Stack } from './stack.js';

export type PassiveCommand = 'PASV' | 'EPSV';

/** Implicit FTPS (TLS from the first byte, the FTPS port) or explicit (AUTH TLS on the explicit FTPS port). */
export type FtpsKind = 'implicit' | 'explicit';

function controlPort(stack: Stack, kind: FtpsKind): number {
  if (kind === 'implicit') return stack.ports.ftps;
  if (stack.ports.explicitFtps === null) throw new Error('this stack has no explicit FTPS port: start it with { explicitFtps: true }');
  return stack.ports.explicitFtps;
}

/** A basic-ftp client logged in over FTPS, using only PASV or only EPSV. */
export async function connectBasicFtp(stack: Stack, mode: PassiveCommand = 'EPSV', timeoutMs = 30_000, kind: FtpsKind = 'implicit'): Promise<Client> {
  const client = new Client(timeoutMs);
  await client.access({
    host: '127.0.0.1',
    port: controlPort(stack, kind),
    user: ftpUser,
    password: ftpPassword,
    secure: kind === 'implicit' ? 'implicit' : true,
    secureOptions: { ca: stack.caPem, minVersion: 'TLSv1.2' },
  });
  client.prepareTransfer = mode === 'PASV' ? enterPassiveModeIPv4 : enterPassiveModeIPv6;
  return client;
}

export interface CurlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs Debian's curl against the gateway, trusting the stack's certificate. */
export function curl(stack: Stack, args: string[], timeoutMs = 120_000): Promise<CurlResult> & { kill(): void } {
  const child = spawn('curl', ['--silent', '--show-error', '--cacert', stack.caFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const promise = new Promise<CurlResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  ) as Promise<CurlResult> & { kill(): void };
  promise.kill = () => child.kill('SIGKILL');
  return promise;
}

/** A URL curl takes: ftps:// (implicit) or ftp:// to the explicit port (with --ssl-reqd). */
export function ftpsUrl(stack: Stack, path: string, kind: FtpsKind = 'implicit'): string {
  const scheme = kind === 'implicit' ? 'ftps' : 'ftp';
  return `${scheme}://${ftpUser}:${encodeURIComponent(ftpPassword)}@127.0.0.1:${controlPort(stack, kind)}/${path.replace(/^\//, '')}`;
}

/** `size` random bytes in 1 MiB chunks (never all in memory); `sha256()` is valid once the stream ended. */
export function randomStream(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let left = size;
  const stream = Readable.from(
    (function* () {
      while (left > 0) {
        const chunk = randomBytes(Math.min(left, 1 << 20));
        left -= chunk.length;
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  return { stream, sha256: () => hash.digest('hex') };
}

/** Writes `size` random bytes to a file and returns their SHA-256. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const source = randomStream(size);
  await pipeline(source.stream, createWriteStream(path));
  return source.sha256();
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Runs Debian's lftp (GnuTLS) against the gateway with a script of commands
 * (explicit: AUTH TLS, forced); `host`: another address to reach it at (a
 * balancer), the certificate's name then not checked.
 */
export function lftp(stack: Stack, commands: string[], settings: string[] = [], timeoutMs = 60_000, kind: FtpsKind = 'implicit', host = '127.0.0.1'): Promise<CurlResult> {
  const forceTls = kind === 'explicit' ? ['set ftp:ssl-force true', 'set ftp:ssl-protect-data true'] : [];
  const hostSettings = host === '127.0.0.1' ? [] : ['set ssl:check-hostname false'];
  const script = [...(process.env.LFTP_DEBUG ? ['debug -t 5'] : []), `set ssl:ca-file ${stack.caFile}`, 'set net:max-retries 1', 'set net:timeout 20', ...forceTls, ...hostSettings, ...settings, ...commands, 'bye'].join('; ');
  const url = ftpsUrl(stack, '', kind).replace(/\/$/, '').replace('@127.0.0.1:', `@${host}:`);
  const child = spawn('lftp', ['-e', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise<CurlResult>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/**
 * Sends `pieces` over one TLS connection to the stack's HTTPS port (a short
 * pause between pieces, so they arrive as separate records) and returns
 * everything received until the gateway closes the connection, or until
 * `enough` says so. `localAddress`: the client's address (127.0.0.2 for a
 * second client).
 */
export function tlsExchange(
  stack: Stack,
  pieces: string[],
  enough: (received: string) => boolean = () => false,
  gapMs = 20,
  localAddress?: string,
): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.ports.https, ca: stack.caPem, servername: 'localhost', checkServerIdentity: () => undefined, ...(localAddress ? { localAddress } : {}) });
    let received = '';
    let settled = false;
    const settle = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closed });
    };
    const timer = setTimeout(() => settle(false), 5000);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (enough(received)) settle(false);
    });
    socket.on('close', () => settle(true));
    socket.on('error', (error) => (settled ? undefined : reject(error)));
    socket.once('secureConnect', async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** cert-service's API as the operator calls it (admin token): status and JSON body (null when there is none). */
export async function certAdmin(stack: Stack, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${stack.certServiceUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: await response.json().catch(() => null) };
}

/** What a client that trusts only `caPem` and checks the host name `serverName` sees on a TLS port of 127.0.0.1. */
export function verifyTlsPeer(port: number, serverName: string, caPem: string): Promise<{ authorized: boolean; error: string | null; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: serverName, ca: caPem, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
      const error = socket.authorizationError ? String(socket.authorizationError) : null;
      socket.destroy();
      resolve({ authorized: socket.authorized, error, fingerprint });
    });
    socket.on('error', reject);
  });
}
