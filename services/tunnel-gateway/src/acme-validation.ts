import type net from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '@st/logging';
import { acmeTlsAlpnProtocol, type ClientHelloSummary } from './client-hello.js';

/** A CA that does not close after its validation handshake is let go after this long. */
const lingerMs = 10_000;

/** An ACME CA's TLS-ALPN-01 validation (RFC 8737 §3): SNI names the identifier, "acme-tls/1" is the only protocol offered. */
export function isAcmeValidation(hello: ClientHelloSummary | null): hello is ClientHelloSummary & { serverName: string } {
  return hello !== null && hello.serverName !== null && hello.alpn.length === 1 && hello.alpn[0] === acmeTlsAlpnProtocol;
}

/**
 * Answers a validation on a raw socket: the challenge certificate for the
 * name (null: none pending, the connection is closed), "acme-tls/1"
 * negotiated, and the connection ends after the handshake. `finished` is
 * called once the handshake is done or refused; TLS errors go to `failed`.
 */
export function answerAcmeValidation(options: {
  raw: net.Socket;
  context: SecureContext | null;
  serverName: string;
  client: string;
  logger: Logger;
  finished: () => void;
  failed: (error: Error & { code?: string }) => void;
}): void {
  const { raw, context, serverName, client, logger } = options;
  if (!context) {
    logger.info({ client, sni: serverName }, 'ACME TLS-ALPN-01 validation for a name with no pending challenge; connection closed');
    options.finished();
    raw.destroy();
    return;
  }
  const socket = new TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: [acmeTlsAlpnProtocol], requestCert: false, rejectUnauthorized: false });
  socket.on('error', options.failed);
  socket.once('secure', () => {
    options.finished();
    logger.info({ client, sni: serverName }, 'ACME TLS-ALPN-01 validation answered');
    socket.end();
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  raw.resume();
}
