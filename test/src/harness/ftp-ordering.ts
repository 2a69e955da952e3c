import tls from 'node:tls';
import type { Client } from 'basic-ftp';

export interface OrderedTransfer {
  /**
   * What the client saw, in order: 'hold-over' (it starts reading the data
   * connection), 'data-end' (its close_notify and FIN) and 'reply <code>'.
   */
  order: string[];
  bytes: Buffer;
  code: number;
  message: string;
  /** Whether the data connection resumed the control connection's TLS session. */
  resumed: boolean;
}

/**
 * A download done by hand on a logged-in basic-ftp client, recording the
 * order of what arrives. The data connection goes to `dataHost` (the
 * balancer, or one replica's own address) on the port the passive reply
 * named. With `holdMs` the client reads nothing from it for that long: a
 * gateway that sends the final reply only once every byte is delivered
 * cannot send it meanwhile when the file is larger than the sockets' buffers
 * (once the bytes are in the client's buffers, which of two sockets the
 * client reads first is the client's affair, so that is the observable test).
 */
export async function orderedDownload(client: Client, name: string, options: { mode: 'PASV' | 'EPSV'; dataHost: string; ca: string; holdMs?: number }): Promise<OrderedTransfer> {
  const passive = await client.send(options.mode);
  const port = options.mode === 'EPSV' ? Number(/\|\|\|(\d+)\|/.exec(passive.message)?.[1]) : pasvPort(passive.message);
  const control = client.ftp.socket as tls.TLSSocket;
  const data = tls.connect({ host: options.dataHost, port, ca: options.ca, session: control.getSession(), checkServerIdentity: () => undefined });
  const order: string[] = [];
  const chunks: Buffer[] = [];
  data.on('data', (chunk: Buffer) => chunks.push(chunk));
  if (options.holdMs) {
    data.pause();
    setTimeout(() => {
      order.push('hold-over');
      data.resume();
    }, options.holdMs);
  }
  const ended = new Promise<void>((resolve, reject) => {
    data.once('end', () => {
      order.push('data-end');
      resolve();
    });
    data.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    data.once('secureConnect', resolve);
    data.once('error', reject);
  });
  const resumed = data.isSessionReused();
  const reply = await client.ftp.handle(`RETR ${name}`, (response, task) => {
    if (response instanceof Error) task.reject(response);
    else if (response.code >= 200) {
      order.push(`reply ${response.code}`);
      task.resolve(response);
    }
  });
  await ended.catch(() => undefined);
  data.destroy();
  return { order, bytes: Buffer.concat(chunks), code: reply.code, message: reply.message, resumed };
}

function pasvPort(message: string): number {
  const numbers = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(message);
  if (!numbers) throw new Error(`no address in the passive reply: ${message}`);
  return Number(numbers[5]) * 256 + Number(numbers[6]);
}
