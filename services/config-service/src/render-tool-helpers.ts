import { spawnSync } from 'node:child_process';
import net from 'node:net';

/**
 * Helpers for the tests that feed rendered files to the real tools (stunnel4,
 * nft, iptables-restore, ufw). Test-only; kept out of the renderers so those stay pure.
 */

const handedOut = new Set<number>();

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports on `host`, between 10000 and 32000 so that
 * they stay below Linux's ephemeral range (32768+) where outgoing connections
 * would take them. Never hands out the same port twice in one process.
 */
export async function freePortRange(host: string, count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const from = 10_000 + Math.floor(Math.random() * (32_000 - 10_000 - count));
    const ports = Array.from({ length: count }, (_, i) => from + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    const free = await Promise.all(ports.map((port) => canBind(host, port)));
    if (free.every(Boolean)) {
      for (const port of ports) handedOut.add(port);
      return from;
    }
  }
  throw new Error(`no ${count} consecutive free ports on ${host} between 10000 and 32000`);
}

/** The path of a command, or null; tests use it to tell a missing tool from a failing one. */
export function commandPath(command: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
