import http from 'node:http';
import type { Socket } from 'node:net';
import type { Listener } from '@st/contracts';
import { logDeferred, type Logger } from '@st/logging';
import type { GatewayContext, PlainHttpSettings } from '../gateway-context.js';
import { plainConnectionRoute, plainHttpAnswer } from '../http1/plain-http-answer.js';
import { HttpsProxy } from '../https-proxy.js';
import { TlsListener, type AcceptedConnection } from '../tls-listener.js';
import { answerBusy } from './busy-answer.js';
import { relayWebConnection, webRelayOptions } from './https-listener.js';

export interface PlainHttpListenerOptions {
  host: string;
  settings: PlainHttpSettings;
  /** The running web listener (its public HTTPS port, its upstream); null while none runs (tunnel disabled, FTP only, no certificate yet). */
  webListener: () => Listener | null;
  /** cert-service's answer for a pending ACME HTTP-01 token; null when there is none. */
  challengeAnswer: ((token: string) => Promise<string | null>) | null;
  context: GatewayContext;
}

export interface PlainHttpListener {
  readonly port: number;
  close(drainMs: number): Promise<void>;
}

/** How long a connection to the gateway's own answers may stay: they come from memory or one lookup, so a client that lingers is gone. */
const answerConnectionMaxMs = 30_000;

function send(response: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...headers });
  response.end(body);
}

/**
 * The gateway's plain HTTP port (GATEWAY_HTTP): ACME HTTP-01 validations get
 * their key authorization from cert-service; every other request gets a 308
 * to the same path and query on HTTPS (`redirect`, the classic "direct all
 * web connections to HTTPS" option) or goes to the file server's web port
 * through the same relay as HTTPS requests (`pass`, with X-Forwarded-Proto:
 * http, so the file server knows the request came in the clear).
 *
 * Connections are accepted like those of the TLS ports (TlsListener, admitted
 * as plain): a trusted balancer's PROXY header names the client, and they
 * count against the web connection limits. Answers from the gateway itself
 * come from a Node HTTP server that never listens (enough for a port that
 * answers from memory or one lookup); in `pass` mode a connection whose first
 * request is a validation gets its answer and is closed, so whatever else the
 * client asks comes on a new connection, which may go to the file server.
 */
export async function openPlainHttpListener(options: PlainHttpListenerOptions): Promise<PlainHttpListener> {
  const { context, settings } = options;
  const logger = context.logger.child({ listener: 'plain-http' });
  const pass = settings.mode === 'pass';
  const headTimeoutMs = () => context.portMap?.timeouts.handshakeMs ?? 10_000;
  /** The client each socket handed to the answering server came from (its PROXY header may have named it). */
  const clients = new WeakMap<Socket, string>();
  const answers = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (request, response) => {
    void answer(request, response).catch((error: Error) => {
      logger.error({ err: error }, 'plain HTTP request failed');
      if (!response.headersSent) send(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
  /** Passing: sockets whose one request was taken (a request pipelined behind it is never answered). */
  const answered = new WeakSet<Socket>();
  const answer = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    // A body is never needed: it is read and dropped so that the connection can serve the next request.
    request.resume();
    const socket = request.socket;
    if (pass) {
      if (answered.has(socket)) return;
      answered.add(socket);
    }
    // Node's server stops timing a connection once a request head is parsed: a body that never ends is timed here.
    socket.setTimeout(headTimeoutMs());
    // Passing: a connection the gateway answers serves that one request; whatever the client asks next comes on a
    // new connection, which may go to the file server.
    if (pass) response.shouldKeepAlive = false;
    const httpsPort = options.webListener()?.ports.from ?? null;
    const decided = plainHttpAnswer(request.method ?? 'GET', request.url ?? '', request.headers.host ?? null, httpsPort ?? 443);
    const client = clients.get(socket) ?? '';
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
        // Passing, a request gets here only while no web port runs (the tunnel is disabled, or starting).
        if (pass) return send(response, 503, 'the file server cannot be reached through this gateway now; try again later\n', { 'Retry-After': '5' });
        if (httpsPort === null) return send(response, 503, 'no HTTPS port is open yet\n', { 'Retry-After': '5' });
        return send(response, 308, `Moved to ${decided.location}\n`, { Location: decided.location });
      case 'refuse':
        return send(response, decided.status, `${decided.message}\n`);
    }
  };
  answers.on('clientError', (_error, socket) => {
    // The connection's time limit (toAnswers) ends it if the client never closes its side.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  const toAnswers = (socket: Socket, connection: AcceptedConnection) => {
    clients.set(socket, connection.remoteAddress);
    // A server that never listens enforces none of its own head and request timeouts: a client silent for the
    // head time, or still connected after half a minute (one that trickles bytes), is closed here.
    if (socket.destroyed) return;
    const idleMs = headTimeoutMs();
    socket.setTimeout(idleMs);
    socket.on('timeout', () => socket.destroy());
    const cap = setTimeout(() => socket.destroy(), Math.max(answerConnectionMaxMs, idleMs));
    cap.unref();
    socket.once('close', () => clearTimeout(cap));
    answers.emit('connection', socket);
    // Accepted paused (and maybe with bytes put back): the HTTP server reads only once the socket flows.
    socket.resume();
  };

  // Connections passed on keep relaying to the last web port known (its upstream) if it stops meanwhile; new ones are
  // passed only while a web port runs.
  let lastWebListener: Listener | null = null;
  const relay = pass ? new HttpsProxy(webRelayOptions(context, () => (lastWebListener = options.webListener() ?? lastWebListener)!, logger)) : null;
  const toFileServer = (socket: Socket, connection: AcceptedConnection) => {
    const web = options.webListener();
    // No web port runs (the tunnel is disabled, FTP only, or starting): nothing is passed; the answering server says so.
    if (!relay || !web) return toAnswers(socket, connection);
    lastWebListener = web;
    const conn = `web_${context.nextWebConnectionId()}`;
    logDeferred(
      logger,
      'info',
      { conn, client: connection.remoteAddress, clientPort: connection.remotePort, ...(connection.via ? { via: connection.via } : {}), port: connection.localPort },
      'plain HTTP connection passed to the file server',
    );
    relayWebConnection(relay, socket, connection, conn, 'http', context);
    socket.resume();
  };

  const listener = new TlsListener({
    host: options.host,
    port: settings.port,
    contexts: context.contexts,
    handshakeTimeoutMs: headTimeoutMs,
    logger,
    limits: { counter: context.connectionLimits, kind: 'http', answerOverLimit: true },
    trustedProxies: context.trustedProxies,
    allowHalfOpen: true,
    handlers: {
      admit: () => ({ plain: true, state: undefined }),
      // Never called: every connection is admitted plain.
      onSecure: (socket) => socket.destroy(),
      onPlain: (socket, connection) => {
        if (connection.overLimit) return answerBusy(socket);
        if (!pass) return toAnswers(socket, connection);
        readRequestLine(socket, headTimeoutMs(), (route) => (route === 'answer' ? toAnswers(socket, connection) : toFileServer(socket, connection)));
      },
    },
  });
  await listener.listen();
  const port = listener.boundPort;
  logger.info(
    { host: options.host, port, mode: settings.mode },
    pass ? 'plain HTTP port open: ACME challenges answered, everything else passed to the file server' : 'plain HTTP port open: ACME challenges answered, everything else redirected to HTTPS',
  );
  return {
    port,
    close: async (drainMs) => {
      await listener.close(drainMs);
      relay?.close();
    },
  };
}

/**
 * Reads until the first request line is complete (plainConnectionRoute), puts
 * the bytes back and tells who takes the connection. A client that sends no
 * complete line within the head time, or leaves, is closed.
 */
function readRequestLine(socket: Socket, limitMs: number, decided: (route: 'answer' | 'pass') => void): void {
  let received: Buffer = Buffer.alloc(0);
  const stop = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', stop);
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const route = plainConnectionRoute(received);
    if (route === 'need-more') return;
    stop();
    socket.pause();
    socket.unshift(received);
    // Not from inside this 'data' event: the stream would go on emitting the bytes just put back to no one.
    process.nextTick(() => decided(route));
  };
  const onEnd = () => {
    stop();
    socket.destroy();
  };
  const timer = setTimeout(onEnd, limitMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', stop);
  socket.resume();
}
