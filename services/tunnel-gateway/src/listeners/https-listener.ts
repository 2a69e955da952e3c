import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Listener } from '@st/contracts';
import { logDeferred, type Logger } from '@st/logging';
import type { GatewayContext } from '../gateway-context.js';
import { HttpsProxy, type HttpsProxyOptions } from '../https-proxy.js';
import { upstreamProxyHeader } from '../proxy-header.js';
import { TlsListener, admitAll, type AcceptedConnection, type TlsListenerOptions } from '../tls-listener.js';
import { answerBusy } from './busy-answer.js';
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
  const proxy = new HttpsProxy(webRelayOptions(context, () => running.spec, logger));
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
        relayWebConnection(proxy, socket, connection, conn, 'https', context);
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

/** The web relay's limits, read from the port map as connections need them. */
export function webRelayOptions(context: GatewayContext, listener: () => Listener, logger: Logger): HttpsProxyOptions {
  return {
    listener,
    logger,
    idleTimeoutMs: () => context.portMap?.timeouts.controlIdleMs ?? 300_000,
    // The time a client gets to say who it is (TLS) is also the time it gets to say what it wants.
    headTimeoutMs: () => context.portMap?.timeouts.handshakeMs ?? 10_000,
    upstreamKeepAliveMs: () => context.portMap?.timeouts.upstreamKeepAliveMs ?? 0,
  };
}

/** Hands a web client's connection (`scheme` as it reached us) to the relay towards the file server's web port. */
export function relayWebConnection(proxy: HttpsProxy, socket: Socket, connection: AcceptedConnection, conn: string, scheme: 'https' | 'http', context: GatewayContext): void {
  // A web server that wants to know the client (nginx `listen … proxy_protocol`) hears it first on every upstream connection.
  const version = context.portMap?.proxyProtocol.toUpstream.web ?? 'off';
  const preface = version === 'off' ? null : upstreamProxyHeader(version, connection);
  proxy.handle(socket, { clientAddress: connection.remoteAddress, port: connection.localPort, scheme }, conn, preface);
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
