import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const handedOut = new Set<number>();

/**
 * Ports handed out to any jest worker of this run, one empty file each in a
 * directory named after the run (the workers' common parent): a port another
 * worker chose is free until its server binds it, seconds later, and must not
 * be chosen again meanwhile (two test files once got the same gateway port).
 */
const runReservations = join(tmpdir(), `st-test-ports-${process.env.JEST_WORKER_ID !== undefined ? process.ppid : process.pid}`);

/** False when another worker of this run has the port already. */
function reserve(port: number): boolean {
  try {
    mkdirSync(runReservations, { recursive: true });
    closeSync(openSync(join(runReservations, String(port)), 'wx'));
    return true;
  } catch (error) {
    // Only a reservation of another worker counts; a directory that cannot be written leaves the bind check alone.
    return (error as NodeJS.ErrnoException).code !== 'EEXIST';
  }
}

function unreserve(port: number): void {
  rmSync(join(runReservations, String(port)), { force: true });
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export interface FreePortOptions {
  /** Every address the ports must be free on (a server may bind the wildcard, another loopback). */
  hosts?: readonly string[];
  low?: number;
  high?: number;
}

/**
 * The first of `count` consecutive free ports. Random bases keep parallel jest
 * workers apart. The block stays below Linux's ephemeral range (32768+): a port
 * there can be taken at any moment as the source port of an outgoing
 * connection, and vsftpd or the gateway would then fail to bind it.
 */
export async function freePortBlock(count: number, options: FreePortOptions = {}): Promise<number> {
  const { hosts = ['0.0.0.0', '127.0.0.1'], low = 10_000, high = 32_000 } = options;
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low - count));
    // A port is free until someone binds it: never hand the same one out twice in this process.
    let ok = true;
    for (let port = base; port < base + count && ok; port++) ok = !handedOut.has(port);
    for (let port = base; port < base + count && ok; port++) {
      for (const host of hosts) ok = ok && (await canBind(port, host));
    }
    if (ok) {
      const reserved: number[] = [];
      for (let port = base; port < base + count && ok; port++) {
        if (reserve(port)) reserved.push(port);
        else ok = false;
      }
      if (!ok) {
        for (const port of reserved) unreserve(port);
        continue;
      }
      for (let port = base; port < base + count; port++) handedOut.add(port);
      return base;
    }
  }
  throw new Error(`no block of ${count} free ports found between ${low} and ${high}`);
}

export async function freePort(host?: string): Promise<number> {
  return freePortBlock(1, host ? { hosts: [host] } : {});
}

/** True when a TCP connection is accepted (something listens), false when refused. */
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
