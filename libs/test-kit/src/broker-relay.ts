import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay to the broker that a test can cut and restore, to make the
 * broker "go away" for one client without disturbing the shared broker
 * other test files use.
 */
export class BrokerRelay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly brokerUrl: string) {}

  private get target(): { host: string; port: number } {
    const url = new URL(this.brokerUrl);
    return { host: url.hostname, port: Number(url.port || 5672) };
  }

  /** Listens (again on the same port when given one). */
  async open(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Client connections relayed right now. */
  get connections(): number {
    return this.sockets.size / 2;
  }

  /** Stops accepting and drops every relayed connection. */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** The broker URL (credentials, vhost) pointing at the relay. */
  url(): string {
    const url = new URL(this.brokerUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }
}
