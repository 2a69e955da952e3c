import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tls12ForwardSecretCiphers, tls13CipherSuites } from '@st/contracts';
import type { CertificateFiles } from './certificates.js';
import { waitForPort, type ManagedProcess, type ProcessRegistry } from './processes.js';

/**
 * nginx and HAProxy as TLS terminators in front of the same upstream, for the
 * side-by-side figures operators compare with: the gateway's suites in its
 * order with server preference (so every terminator negotiates the same
 * suite), session tickets and a session cache on, keep-alive to the upstream.
 */

export interface TerminatorOptions {
  dir: string;
  name: string;
  port: number;
  upstreamPort: number;
  cert: CertificateFiles;
}

/**
 * nginx `proxy_pass` with TLS; `workers` as nginx's worker_processes ("auto": one per CPU).
 * With `answerFrom` it serves that directory itself instead (no upstream): TLS and HTTP alone.
 */
export async function startNginxTls(registry: ProcessRegistry, options: TerminatorOptions & { workers: string; answerFrom?: string }): Promise<ManagedProcess> {
  const dir = join(options.dir, options.name);
  await mkdir(join(dir, 'temp'), { recursive: true });
  const config = `# Written by the benchmark for one run.
daemon off;
master_process on;
worker_processes ${options.workers};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'temp')};
  proxy_temp_path ${join(dir, 'temp')};
  keepalive_requests 10000000;
${options.answerFrom ? '' : `  upstream files { server 127.0.0.1:${options.upstreamPort}; keepalive 64; }`}
  server {
    listen 127.0.0.1:${options.port} ssl backlog=4096;
    ssl_certificate ${options.cert.certFile};
    ssl_certificate_key ${options.cert.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${tls12ForwardSecretCiphers.join(':')};
    ssl_conf_command Ciphersuites ${tls13CipherSuites.join(':')};
    ssl_prefer_server_ciphers on;
    ssl_session_cache shared:bench:10m;
    ssl_session_timeout 10m;
    ssl_session_tickets on;
    location / {
${options.answerFrom
    ? `      root ${options.answerFrom};`
    : `      proxy_pass http://files;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;`}
    }
  }
}
`;
  const configFile = join(dir, 'nginx.conf');
  await writeFile(configFile, config);
  const server = registry.start({
    name: options.name,
    command: 'nginx',
    args: ['-e', join(dir, 'error.log'), '-p', dir, '-c', configFile],
    logFile: join(dir, 'nginx.out'),
    gracefulSignal: 'SIGTERM',
  });
  await waitForPort(options.port, 10_000, server);
  return server;
}

/** Debian's haproxy, when installed. */
export const haproxyInstalled = spawnSync('sh', ['-c', 'command -v haproxy']).status === 0;

/** HAProxy `mode http` with TLS; `threads`: nbthread (its default is one per CPU). */
export async function startHaproxyTls(registry: ProcessRegistry, options: TerminatorOptions & { threads: number | null }): Promise<ManagedProcess> {
  const dir = join(options.dir, options.name);
  await mkdir(dir, { recursive: true });
  // HAProxy takes the certificate and its key in one file.
  const pem = join(dir, 'cert-and-key.pem');
  await writeFile(pem, `${await readFile(options.cert.certFile, 'utf8')}\n${await readFile(options.cert.keyFile, 'utf8')}`, { mode: 0o600 });
  const config = `# Written by the benchmark for one run.
global
  # Within the FD limit a bench shell has (20000): two descriptors per relayed connection.
  maxconn 8000
${options.threads ? `  nbthread ${options.threads}\n` : ''}  ssl-default-bind-ciphers ${tls12ForwardSecretCiphers.join(':')}
  ssl-default-bind-ciphersuites ${tls13CipherSuites.join(':')}
  ssl-default-bind-options ssl-min-ver TLSv1.2
  tune.ssl.cachesize 100000
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 10s
frontend https
  bind 127.0.0.1:${options.port} ssl crt ${pem}
  default_backend files
backend files
  http-reuse always
  server nginx 127.0.0.1:${options.upstreamPort}
`;
  const configFile = join(dir, 'haproxy.cfg');
  await writeFile(configFile, config);
  const check = spawnSync('haproxy', ['-c', '-f', configFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refused the bench configuration: ${check.stderr || check.stdout}`);
  const server = registry.start({
    name: options.name,
    command: 'haproxy',
    args: ['-db', '-f', configFile],
    logFile: join(dir, 'haproxy.out'),
    gracefulSignal: 'SIGTERM',
  });
  await waitForPort(options.port, 10_000, server);
  return server;
}

/**
 * Whether a terminator resumes sessions for a client that offers one: two
 * `openssl s_client` connections (the OpenSSL wrk uses), the second offering
 * the first's session.
 */
/**
 * How a terminator resumes sessions, as OpenSSL clients (curl, wrk, ab) meet it: each connection offers the
 * session the connection before it ended with. 'every connection': a resumed connection got a new ticket
 * and the next one resumed too; 'every other connection': the ticket was used once and no new one came
 * (a TLS 1.3 client then starts over with a full handshake); 'no'.
 */
export type Resumption = 'every connection' | 'every other connection' | 'no';

export async function resumes(registry: ProcessRegistry, port: number, caFile: string, dir: string): Promise<Resumption> {
  const base = ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', caFile];
  const outcomes: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const sessionIn = i > 0 ? ['-sess_in', join(dir, `session-${port}-${i - 1}.pem`)] : [];
    // TLS 1.3 tickets come after the handshake: each connection waits a moment for them before it quits.
    const result = await registry.run('sh', ['-c', `(sleep 0.3; echo Q) | openssl ${[...base, ...sessionIn, '-sess_out', join(dir, `session-${port}-${i}.pem`)].join(' ')}`], 10_000);
    outcomes.push(/^Reused,/m.test(result.stdout));
  }
  return outcomes[1] && outcomes[2] ? 'every connection' : outcomes[1] ? 'every other connection' : 'no';
}
