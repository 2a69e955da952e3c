import type net from 'node:net';
import { firstRecordLength, readClientHello, type ClientHelloSummary } from './client-hello.js';

/**
 * Reads a raw socket's first TLS record before any TLS work, joined across
 * reads (a ClientHello with post-quantum key shares, ~1.5 KB, often spans
 * two segments on real networks), puts the bytes back for the TLS layer and
 * says what the ClientHello offered (null: not a complete ClientHello). The
 * caller's handshake deadline bounds the wait; the socket may close meanwhile.
 */
export function readHelloFirst(raw: net.Socket, done: (hello: ClientHelloSummary | null) => void): void {
  let received: Buffer | null = null;
  const onData = (chunk: Buffer) => {
    received = received ? Buffer.concat([received, chunk]) : chunk;
    const wanted = firstRecordLength(received);
    if (wanted === null || (wanted > 0 && received.length < wanted)) return;
    raw.off('data', onData);
    raw.pause();
    const bytes = received;
    raw.unshift(bytes);
    // Not from inside this 'data' event: the stream would go on emitting the bytes just put back to no one.
    process.nextTick(() => done(readClientHello(bytes)));
  };
  raw.on('data', onData);
  raw.resume();
}
