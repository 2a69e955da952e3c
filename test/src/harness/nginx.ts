import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startForeground } from './foreground.js';

export interface NginxOptions {
  /** Holds the configuration, pid, temp and log files. */
  dir: string;
  rootDir: string;
  port: number;
  workers?: string;
  /** Where the access log goes (with the forwarding headers); none when absent. */
  accessLog?: string;
  /** Accept WebDAV PUT, DELETE and MKCOL under the root (uploads through the gateway). */
  webdav?: boolean;
  /** Every connection starts with a PROXY protocol header (v1 or v2); the access log adds the client it names. */
  proxyProtocol?: boolean;
}

/**
 * nginx as a plain HTTP file server: static files with sendfile and
 * keep-alive, directory listings, optionally WebDAV uploads. The benchmark and
 * the integration tests run it from this one configuration.
 */
export function nginxConfig(options: NginxOptions): string {
  const proxied = options.proxyProtocol ? '|$proxy_protocol_addr|$proxy_protocol_port|$proxy_protocol_server_port' : '';
  const accessLog = options.accessLog
    ? `log_format forwarded '$request|$status|$http_x_forwarded_for|$http_x_forwarded_proto|$http_x_forwarded_port|$http_forwarded${proxied}';
  access_log ${options.accessLog} forwarded;`
    : 'access_log off;';
  const webdav = options.webdav ? 'dav_methods PUT DELETE MKCOL; create_full_put_path on; dav_access user:rw group:r all:r;' : '';
  return `# Written by the Secure Transfers tests or benchmark for one run.
daemon off;
master_process on;
worker_processes ${options.workers ?? '1'};
pid ${join(options.dir, 'nginx.pid')};
error_log ${join(options.dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  ${accessLog}
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  # The default (1000) would close wrk's connections mid-run; stunnel and the relay pass the close on to the client.
  keepalive_requests 10000000;
  client_max_body_size 0;
  client_body_temp_path ${join(options.dir, 'temp')};
  server {
    listen 127.0.0.1:${options.port} backlog=4096${options.proxyProtocol ? ' proxy_protocol' : ''};
    root ${options.rootDir};
    autoindex on;
    location / { ${webdav} }
  }
}
`;
}

/** Writes the configuration; returns the arguments that start nginx on it in the foreground. */
export async function prepareNginx(options: NginxOptions): Promise<string[]> {
  await mkdir(join(options.dir, 'temp'), { recursive: true });
  const configFile = join(options.dir, 'nginx.conf');
  await writeFile(configFile, nginxConfig(options));
  return ['-e', join(options.dir, 'error.log'), '-p', options.dir, '-c', configFile];
}

/** Debian's nginx in the foreground, for a test; resolves once it accepts connections. */
export async function startNginx(options: NginxOptions): Promise<{ process: ChildProcess; stop(): Promise<void> }> {
  return startForeground('nginx', 'nginx', await prepareNginx(options), { host: '127.0.0.1', port: options.port });
}
