import tls from 'node:tls';

/** TLS connections that completed their handshake and then say nothing, held open by the bench. */
export interface IdleConnections {
  /** How many completed their handshake (some may fail on a loaded machine). */
  readonly open: number;
  readonly failed: number;
  /** The first failure, in words. */
  readonly problem: string | undefined;
  close(): void;
}

/**
 * Opens `count` TLS connections to 127.0.0.1:`port`, `parallel` handshakes at
 * a time, and keeps them idle: no request, so a web terminator holds only the
 * client side (no upstream connection), which is what an idle client costs.
 */
export async function openIdleTls(port: number, count: number, caPem: string, parallel = 50): Promise<IdleConnections> {
  const sockets: tls.TLSSocket[] = [];
  let failed = 0;
  let problem: string | undefined;
  let next = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: caPem, checkServerIdentity: () => undefined });
      socket.once('secureConnect', () => {
        sockets.push(socket);
        resolve();
      });
      socket.once('error', (error) => {
        failed += 1;
        problem ??= error.message;
        socket.destroy();
        resolve();
      });
    });
  const worker = async () => {
    while (next < count) {
      next += 1;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return {
    open: sockets.length,
    failed,
    problem,
    close: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
