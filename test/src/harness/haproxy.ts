import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startForeground } from './foreground.js';

/** Debian's haproxy, when installed (scripts/bootstrap.sh installs it). */
export const haproxyBinary = ['/usr/sbin/haproxy', 'haproxy'].find((name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) ?? null;

export interface HaproxyForward {
  name: string;
  /** Where clients connect: one port or a range (`from-to`), on `bindAddress`. */
  listen: { from: number; to: number };
  /** The gateway's address; with a range, each port forwards to the same port there. */
  target: { host: string; port: number | null };
  /** PROXY protocol version HAProxy sends first. */
  proxyVersion: 1 | 2;
}

/**
 * HAProxy in TCP mode in front of a gateway, as operators run it: each
 * frontend forwards to the gateway with a PROXY protocol header naming the
 * client, from `sourceAddress` (the address the gateway trusts).
 */
export function haproxyConfig(options: { bindAddress: string; sourceAddress: string; forwards: HaproxyForward[] }): string {
  const sections = options.forwards.map(
    (forward) => `frontend ${forward.name}
  bind ${options.bindAddress}:${forward.listen.from === forward.listen.to ? forward.listen.from : `${forward.listen.from}-${forward.listen.to}`}
  default_backend ${forward.name}-gateways
backend ${forward.name}-gateways
  server gateway ${forward.target.host}${forward.target.port === null ? '' : `:${forward.target.port}`} ${forward.proxyVersion === 2 ? 'send-proxy-v2' : 'send-proxy'} source ${options.sourceAddress}
`,
  );
  return `# Written by the Secure Transfers tests for one run.
global
  maxconn 1000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
${sections.join('')}`;
}

/** Starts haproxy in the foreground on a written configuration; resolves once the first frontend accepts. */
export async function startHaproxy(dir: string, options: Parameters<typeof haproxyConfig>[0]): Promise<{ process: ChildProcess; stop(): Promise<void> }> {
  if (!haproxyBinary) throw new Error('haproxy is not installed (Debian package haproxy; scripts/bootstrap.sh installs it)');
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'haproxy.cfg');
  await writeFile(configFile, haproxyConfig(options));
  const check = spawnSync(haproxyBinary, ['-c', '-f', configFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refused its configuration: ${check.stderr || check.stdout}`);
  const first = options.forwards[0]!;
  return startForeground('haproxy', haproxyBinary, ['-db', '-f', configFile], { host: options.bindAddress, port: first.listen.from });
}
