import type { Listener } from '@st/contracts';
import { FtpControlSession } from '../ftp/control-session.js';
import type { GatewayContext } from '../gateway-context.js';
import { TlsListener, admitAll } from '../tls-listener.js';
import type { RunningListener } from './running-listener.js';

/** The implicit FTPS control port: TLS, then one control session per connection. */
export async function openFtpControlListener(spec: Listener, context: GatewayContext): Promise<RunningListener> {
  const logger = context.logger.child({ listener: spec.id });
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
    handlers: {
      admit: admitAll,
      onSecure: (socket, connection) => {
        new FtpControlSession(socket, connection, {
          listener: running.spec,
          portMap: () => context.portMap!,
          passivePorts: context.passivePorts,
          registry: context.registry,
          replica: context.config.replica,
          logger,
        });
      },
    },
  });
  await tlsListener.listen();
  logger.info({ ports: spec.ports, protocol: spec.protocol, upstream: spec.upstream }, 'listener started');
  return running;
}
