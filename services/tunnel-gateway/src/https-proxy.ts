import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import httpProxy from 'http-proxy';
import type { Listener } from '@st/contracts';
import type { Logger } from '@st/logging';

/** Hop-by-hop and client-supplied forwarding headers: at the edge, only what we saw is true. */
const untrustedForwardingHeaders = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded', 'x-real-ip'];

export interface HttpsProxyOptions {
  /** The current http listener: its upstream may change while connections stay open. */
  listener: () => Listener;
  logger: Logger;
  idleTimeoutMs: () => number;
}

/**
 * Reverse proxy from decrypted HTTPS connections to the upstream web port.
 * Bodies stream both ways through http-proxy; upstream connections are kept
 * alive and reused. The TLS sockets are handed in by a TlsListener, so this
 * server never listens itself.
 */
export class HttpsProxy {
  private readonly server: http.Server;
  private readonly proxy: httpProxy;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' });

  constructor(private readonly options: HttpsProxyOptions) {
    this.server = http.createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 30_000 });
    this.proxy = httpProxy.createProxyServer({ agent: this.agent, ws: true, xfwd: false, proxyTimeout: 0 });
    this.proxy.on('error', (error, req, target) => this.onProxyError(error, req, target));
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
      options.logger.debug({ err: error }, 'bad HTTP request');
    });
  }

  handle(socket: TLSSocket): void {
    socket.setTimeout(this.options.idleTimeoutMs(), () => socket.destroy());
    this.server.emit('connection', socket);
  }

  close(): void {
    this.server.closeAllConnections();
    this.agent.destroy();
  }

  private target(): string {
    const { host, ports } = this.options.listener().upstream;
    return `http://${host.includes(':') ? `[${host}]` : host}:${ports.from}`;
  }

  private setForwardedHeaders(req: http.IncomingMessage): void {
    for (const name of untrustedForwardingHeaders) delete req.headers[name];
    const socket = req.socket as TLSSocket;
    const clientAddress = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
    req.headers['x-forwarded-for'] = clientAddress;
    req.headers['x-forwarded-proto'] = 'https';
    if (req.headers.host) req.headers['x-forwarded-host'] = req.headers.host;
    req.headers['x-forwarded-port'] = String(socket.localPort ?? '');
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.setForwardedHeaders(req);
    this.proxy.web(req, res, { target: this.target() });
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.setForwardedHeaders(req);
    this.proxy.ws(req, socket, head, { target: this.target() });
  }

  private onProxyError(error: Error, req: http.IncomingMessage, target: http.ServerResponse | Duplex | unknown): void {
    this.options.logger.warn({ err: error, method: req.method, url: req.url, upstream: this.target() }, 'upstream web request failed');
    if (target instanceof http.ServerResponse) {
      if (!target.headersSent) {
        const body = `Bad Gateway: the file server's web port did not answer (${(error as NodeJS.ErrnoException).code ?? error.message}).\n`;
        target.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
        target.end(body);
      } else {
        target.destroy();
      }
      return;
    }
    (target as Duplex | undefined)?.destroy?.();
  }
}
