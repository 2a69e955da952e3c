import { createServer, type AddressInfo, type Server } from 'node:net';
import { connectWithPooledReads, ReadBufferPool, upstreamReadBuffers } from './read-buffer-pool.js';

describe('ReadBufferPool', () => {
  it('hands back released buffers before allocating, and keeps at most maxFree', () => {
    const pool = new ReadBufferPool(16, 1);
    const first = pool.take();
    pool.release(first);
    expect(pool.take()).toBe(first);
    pool.release(first);
    pool.release(Buffer.alloc(16));
    expect(pool.available).toBe(1);
  });
});

describe('connectWithPooledReads', () => {
  let server: Server;
  beforeAll(async () => {
    server = createServer((socket) => {
      socket.write('one');
      setTimeout(() => socket.end('two'), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('delivers the bytes and, once closed, leaves every buffer it took back in the pool', async () => {
    for (let i = 0; i < 3; i++) {
      const before = upstreamReadBuffers.available;
      let text = '';
      const socket = connectWithPooledReads({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }, (buffer, bytes) => {
        text += buffer.toString('latin1', 0, bytes);
        upstreamReadBuffers.release(buffer);
      });
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
      expect(text).toBe('onetwo');
      // The buffer installed for the read that never came is returned on close, so connections do not drain the pool.
      expect(upstreamReadBuffers.available).toBe(Math.max(before, 1));
    }
  });
});
