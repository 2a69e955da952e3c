import http from 'node:http';
import type { Logger } from '@st/logging';
import { plainHttpAnswer } from '../http1/plain-http-answer.js';
import { normalizeAddress } from '../tls-listener.js';

export interface PlainHttpListenerOptions {
  host: string;
  port: number;
  /** The public HTTPS port clients are sent to; null while no HTTPS listener is open. */
  httpsPort: () => number | null;
  /** cert-service's answer for a pending ACME HTTP-01 token; null when there is none. */
  challengeAnswer: ((token: string) => Promise<string | null>) | null;
  logger: Logger;
}

export interface PlainHttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Connections the plain HTTP port holds at once; more are refused at accept. */
const maxConnections = 512;

function send(response: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...headers });
  response.end(body);
}

/**
 * The gateway's plain HTTP port (the classic "direct all web connections to
 * HTTPS" option): ACME HTTP-01 validations get their key authorization from
 * cert-service, every other request a 308 to the same path and query on
 * HTTPS. Nothing here reaches the file server. Node's HTTP server is enough
 * for a port that answers from memory; its header and request time limits are
 * set as tight as the HTTPS port's.
 */
export async function openPlainHttpListener(options: PlainHttpListenerOptions): Promise<PlainHttpListener> {
  const { logger } = options;
  const server = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (request, response) => {
    void answer(request, response).catch((error: Error) => {
      logger.error({ err: error }, 'plain HTTP request failed');
      if (!response.headersSent) send(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
  const answer = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    // A body is never needed: it is read and dropped so that the connection can serve the next request.
    request.resume();
    const httpsPort = options.httpsPort();
    const decided = plainHttpAnswer(request.method ?? 'GET', request.url ?? '', request.headers.host ?? null, httpsPort ?? 443);
    const client = normalizeAddress(request.socket.remoteAddress);
    switch (decided.kind) {
      case 'challenge': {
        let keyAuthorization: string | null = null;
        try {
          keyAuthorization = options.challengeAnswer ? await options.challengeAnswer(decided.token) : null;
        } catch (error) {
          logger.warn({ client, token: decided.token, reason: (error as Error).message }, 'ACME challenge request not answered: cert-service cannot be reached');
          return send(response, 503, 'cert-service cannot be reached; the CA will try again\n', { 'Retry-After': '5' });
        }
        if (keyAuthorization === null) {
          logger.info({ client, token: decided.token }, 'ACME challenge request for a token that is not pending');
          return send(response, 404, 'no such challenge\n');
        }
        // The token is public (the CA sends it in the clear); the answer is never logged.
        logger.info({ client, token: decided.token }, 'ACME HTTP-01 challenge answered');
        return send(response, 200, keyAuthorization, { 'Content-Type': 'application/octet-stream' });
      }
      case 'redirect':
        if (httpsPort === null) return send(response, 503, 'no HTTPS port is open yet\n', { 'Retry-After': '5' });
        return send(response, 308, `Moved to ${decided.location}\n`, { Location: decided.location });
      case 'refuse':
        return send(response, decided.status, `${decided.message}\n`);
    }
  };
  // It only ever answers from memory or one lookup: a few hundred clients at once are plenty, and a flood stops here.
  server.maxConnections = maxConnections;
  // After listening, an accept error (out of descriptors) is logged; without a listener it would end the process.
  server.on('error', (error) => logger.error({ err: error, port: options.port }, 'plain HTTP port error'));
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  logger.info({ host: options.host, port }, 'plain HTTP port open: ACME challenges answered, everything else redirected to HTTPS');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
