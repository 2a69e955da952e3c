import { createServer } from 'node:net';

/**
 * Ports handed out here sit below Linux's default ephemeral range (32768-60999).
 * A port in that range can be taken at any moment as the source port of some
 * outgoing connection, and vsftpd then fails to bind it: for a passive port that
 * kills the session after 9 tries ("500 OOPS: vsf_sysutil_bind").
 */
const band = { min: 20_000, max: 32_000 };

function tryListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolveListen) => {
    const server = createServer();
    server.once('error', () => resolveListen(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolveListen(true)));
  });
}

/** A run of `count` consecutive ports that are free right now, from a random base (for servers that must be told their ports). */
export async function freePortRange(count: number, host = '127.0.0.1', min = band.min, max = band.max): Promise<{ from: number; to: number }> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const from = min + Math.floor(Math.random() * (max - min - count));
    let ok = true;
    for (let port = from; port < from + count && ok; port++) ok = await tryListen(port, host);
    if (ok) return { from, to: from + count - 1 };
  }
  throw new Error(`no ${count} consecutive free ports in ${min}-${max}`);
}

/** One port that is free right now, outside the ephemeral range. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePortRange(1, host)).from;
}
