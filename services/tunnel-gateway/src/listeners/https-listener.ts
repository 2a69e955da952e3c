import tls, { type TLSSocket } from 'node:tls';
import type { Listener } from '@st/contracts';
import { logDeferred } from '@st/logging';
import type { GatewayContext } from '../gateway-context.js';
import { HttpsProxy } from '../https-proxy.js';
import { upstreamProxyHeader } from '../proxy-header.js';
import { TlsListener, admitAll, type TlsListenerOptions } from '../tls-listener.js';
import type { RunningListener } from './running-listener.js';

/** The HTTPS port: TLS, then the HTTP/1.1 relay to the upstream web port. */
export async function openHttpsListener(spec: Listener, context: GatewayContext): Promise<RunningListener> {
  const logger = context.logger.child({ listener: spec.id });
  const handshakeTimeoutMs = () => context.portMap?.timeouts.handshakeMs ?? 10_000;
  const running: RunningListener = {
    spec,
    close: async (drainMs) => {
      await tlsListener.close(drainMs);
      proxy.close();
    },
    openConnections: () => tlsListener.openConnections,
    idleUpstreamConnections: () => proxy.idleUpstreamConnections,
  };
  const proxy = new HttpsProxy({
    listener: () => running.spec,
    logger,
    idleTimeoutMs: () => context.portMap?.timeouts.controlIdleMs ?? 300_000,
    // The time a client gets to say who it is (TLS) is also the time it gets to say what it wants.
    headTimeoutMs: handshakeTimeoutMs,
    upstreamKeepAliveMs: () => context.portMap?.timeouts.upstreamKeepAliveMs ?? 0,
  });
  const tlsListener = new TlsListener({
    host: spec.bindHost,
    port: spec.ports.from,
    contexts: context.contexts,
    handshakeTimeoutMs,
    logger,
    limits: { counter: context.connectionLimits, kind: spec.protocol, answerOverLimit: true },
    trustedProxies: context.trustedProxies,
    allowHalfOpen: true,
    ...acmeTlsAlpn(context),
    handlers: {
      admit: admitAll,
      onSecure: (socket, connection) => {
        if (connection.overLimit) return answerBusy(socket);
        // One record per handshake: written in a batch a moment later (see logDeferred), which
        // is a few percent of the full-handshake rate.
        const conn = `web_${context.nextWebConnectionId()}`;
        logDeferred(
          logger,
          'info',
          {
            conn,
            client: connection.remoteAddress,
            clientPort: connection.remotePort,
            ...(connection.via ? { via: connection.via } : {}),
            port: connection.localPort,
            tls: socket.getProtocol(),
            cipher: socket.getCipher()?.name,
            sni: socket.servername || null,
            resumed: socket.isSessionReused(),
          },
          'HTTPS connection opened',
        );
        // A web server that wants to know the client (nginx `listen … proxy_protocol`) hears it first on every upstream connection.
        const version = context.portMap?.proxyProtocol.toUpstream.web ?? 'off';
        const preface = version === 'off' ? null : upstreamProxyHeader(version, connection);
        proxy.handle(socket, { clientAddress: connection.remoteAddress, port: connection.localPort }, conn, preface);
      },
    },
  });
  try {
    await tlsListener.listen();
  } catch (error) {
    proxy.close();
    throw error;
  }
  logger.info({ ports: spec.ports, protocol: spec.protocol, upstream: spec.upstream }, 'listener started');
  return running;
}

/**
 * ACME TLS-ALPN-01 (the default challenge: it needs nothing but this port)
 * when the certificates come from cert-service, which publishes the challenge
 * certificate while its order waits.
 */
function acmeTlsAlpn(context: GatewayContext): Pick<TlsListenerOptions<undefined>, 'acmeTlsAlpn'> {
  const source = context.config.source;
  if (!source.fetchAlpnChallenge) return {};
  return {
    acmeTlsAlpn: {
      wanted: () => context.acmeTlsAlpn,
      context: async (serverName) => {
        const answer = await source.fetchAlpnChallenge!(serverName);
        return answer ? tls.createSecureContext({ cert: answer.certificatePem, key: answer.privateKeyPem }) : null;
      },
    },
  };
}

const busyBody = 'The server is at its connection limit. Try again in a few seconds.\n';
const busyResponse =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\n' +
  `Content-Length: ${Buffer.byteLength(busyBody)}\r\n\r\n${busyBody}`;
/** How long a connection over the limit may take to send its request and read the answer. */
const busyLingerMs = 2000;

/**
 * A connection over the HTTPS listener's total limit (one of the few let in
 * for this): it is told 503 with Retry-After once its request starts, and
 * closed. What it sends is read and dropped, so the close is clean (no reset
 * that would hide the answer from the client).
 */
function answerBusy(socket: TLSSocket): void {
  const timer = setTimeout(() => socket.destroy(), busyLingerMs);
  socket.on('error', () => undefined);
  socket.once('close', () => clearTimeout(timer));
  socket.once('data', () => socket.end(busyResponse));
  socket.resume();
}
