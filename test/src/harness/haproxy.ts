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
  /** The gateways (round-robin between them); with a range, each port forwards to the same port there. */
  targets: Array<{ host: string; port: number | null }>;
  /** PROXY protocol version HAProxy sends first. */
  proxyVersion: 1 | 2;
}

/**
 * HAProxy in TCP mode in front of gateways, as operators run it: each
 * frontend forwards round-robin to the gateways with a PROXY protocol header
 * naming the client, from `sourceAddress` (the address the gateways trust).
 */
export function haproxyConfig(options: { bindAddress: string; sourceAddress: string; forwards: HaproxyForward[] }): string {
  const sections = options.forwards.map(
    (forward) => `frontend ${forward.name}
  bind ${options.bindAddress}:${forward.listen.from === forward.listen.to ? forward.listen.from : `${forward.listen.from}-${forward.listen.to}`}
  default_backend ${forward.name}-gateways
backend ${forward.name}-gateways
  balance roundrobin
${forward.targets
  .map((target, index) => `  server gateway${index + 1} ${target.host}${target.port === null ? '' : `:${target.port}`} ${forward.proxyVersion === 2 ? 'send-proxy-v2' : 'send-proxy'} source ${options.sourceAddress}\n`)
  .join('')}`,
  );
  return `# Written by the Secure Transfers tests for one run.
global
  maxconn 1000
defaults
  mode tcp
  # A gateway that stopped accepting (draining, restarting): the connection goes to another.
  retries 3
  option redispatch
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
