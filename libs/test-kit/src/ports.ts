import net from 'node:net';

const handedOut = new Set<number>();

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
