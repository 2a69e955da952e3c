import net from 'node:net';

const handedOut = new Set<number>();

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A block of `count` consecutive free ports. Random bases keep parallel jest
 * workers apart; each port is checked on the wildcard and loopback addresses.
 * The block stays below Linux's ephemeral range (32768+), so an outgoing
 * connection can never sit on a port vsftpd or the gateway wants to listen on.
 */
export async function freePortBlock(count: number, low = 10_000, high = 32_000): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low - count));
    // A port is free until someone binds it: never hand the same one out twice in this process.
    let ok = true;
    for (let port = base; port < base + count && ok; port++) ok = !handedOut.has(port);
    for (let port = base; port < base + count && ok; port++) {
      ok = (await canBind(port, '0.0.0.0')) && (await canBind(port, '127.0.0.1'));
    }
    if (ok) {
      for (let port = base; port < base + count; port++) handedOut.add(port);
      return base;
    }
  }
  throw new Error(`no block of ${count} free ports found`);
}

export async function freePort(): Promise<number> {
  return freePortBlock(1);
}
