import type { Socket } from 'node:net';

const busyBody = 'The server is at its connection limit. Try again in a few seconds.\n';
const busyResponse =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\n' +
  `Content-Length: ${Buffer.byteLength(busyBody)}\r\n\r\n${busyBody}`;
/** How long a connection over the limit may take to send its request and read the answer. */
const busyLingerMs = 2000;

/**
 * A web connection (HTTPS, or the plain HTTP port) over the total limit of web connections (one of the few let in
 * for this): it is told 503 with Retry-After once its request starts, and
 * closed. What it sends is read and dropped, so the close is clean (no reset
 * that would hide the answer from the client).
 */
export function answerBusy(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), busyLingerMs);
  socket.on('error', () => undefined);
  socket.once('close', () => clearTimeout(timer));
  socket.once('data', () => socket.end(busyResponse));
  socket.resume();
}
