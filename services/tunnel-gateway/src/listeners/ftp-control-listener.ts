import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { Listener } from '@st/contracts';
import { FtpControlSession } from '../ftp/control-session.js';
import type { GatewayContext } from '../gateway-context.js';
import { TlsListener, admitAll, type AcceptedConnection, type Admission } from '../tls-listener.js';
import type { RunningListener } from './running-listener.js';

/**
 * An FTPS control port: implicit (TLS from the first byte) or explicit (plain
 * until AUTH TLS, which the session itself upgrades), then one control session
 * per connection.
 */
export async function openFtpControlListener(spec: Listener, context: GatewayContext): Promise<RunningListener> {
  const logger = context.logger.child({ listener: spec.id });
  const startSession = (socket: net.Socket, connection: AcceptedConnection) => {
    new FtpControlSession(socket, connection, {
      listener: running.spec,
      portMap: () => context.portMap!,
      passivePorts: context.passivePorts,
      registry: context.registry,
      replica: context.config.replica,
      logger,
      contexts: context.contexts,
      loginGuard: context.loginGuard,
      linkExchange: context.linkExchange,
      sessionCache: context.sessionCache,
    });
  };
  const running: RunningListener = {
    spec,
    close: (drainMs) => tlsListener.close(drainMs),
    openConnections: () => tlsListener.openConnections,
  };
  const tlsListener = new TlsListener({
    host: spec.bindHost,
    port: spec.ports.from,
    contexts: context.contexts,
    handshakeTimeoutMs: () => context.portMap?.timeouts.handshakeMs ?? 10_000,
    logger,
    limits: { counter: context.connectionLimits, kind: spec.protocol },
    trustedProxies: context.trustedProxies,
    sessionCache: { cache: context.sessionCache, role: 'store' },
    handlers: {
      admit: spec.tlsMode === 'explicit' ? admitPlain : () => (context.portMap?.tls.requireSessionReuse ? admitBound() : admitAll()),
      onSecure: startSession,
      onPlain: startSession,
    },
  });
  await tlsListener.listen();
  logger.info({ ports: spec.ports, protocol: spec.protocol, upstream: spec.upstream }, 'listener started');
  return running;
}

/**
 * Session reuse required: the control connection gets ticket keys of its own,
 * so only its data connections can resume its TLS session (another session
 * from the same address cannot hand in its own ticket and take a data port).
 */
function admitBound(): Admission<undefined> {
  return { tls: true, state: undefined, ticketBinding: randomBytes(16).toString('hex') };
}

/** Explicit FTPS: the connection starts in clear text; TLS comes with AUTH TLS. */
function admitPlain(): Admission<undefined> {
  return { plain: true, state: undefined };
}
