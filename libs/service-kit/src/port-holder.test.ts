import { createServer, type Server } from 'node:net';
import { findPortHolders, parseProcNetTcp } from './port-holder.js';

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

describe('parseProcNetTcp', () => {
  it.each([
    {
      desc: 'IPv4 loopback listener',
      line: '   0: 0100007F:1B59 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
      expected: [{ address: '127.0.0.1', port: 7001, inode: 4242 }],
    },
    {
      desc: 'IPv4 wildcard listener',
      line: '   1: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0',
      expected: [{ address: '0.0.0.0', port: 8443, inode: 77 }],
    },
    {
      desc: 'an established connection is not a listener',
      line: '   2: 0100007F:1B59 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 78 1 0000000000000000 100 0 0 10 0',
      expected: [],
    },
    {
      desc: 'IPv6 wildcard listener',
      line: '   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0',
      expected: [{ address: '::', port: 3000, inode: 99 }],
    },
    {
      desc: 'IPv6 loopback listener',
      line: '   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1 0000000000000000 100 0 0 10 0',
      expected: [{ address: '0:0:0:0:0:0:0:1', port: 3000, inode: 100 }],
    },
    {
      desc: 'IPv4-mapped IPv6 listener',
      line: '   0: 0000000000000000FFFF00000100007F:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0000000000000000 100 0 0 10 0',
      expected: [{ address: '::ffff:127.0.0.1', port: 3000, inode: 101 }],
    },
    { desc: 'a truncated line is skipped', line: '   0: 0100007F:1B59 00000000:0000 0A', expected: [] },
  ])('$desc', ({ line, expected }) => {
    expect(parseProcNetTcp(`${header}\n${line}\n`)).toEqual(expected);
  });
});

describe('findPortHolders', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('names this process as the holder of a port it listens on', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const found = await findPortHolders(port);
    expect(found.sockets).toEqual([expect.objectContaining({ address: '127.0.0.1', port })]);
    expect(found.holders).toEqual([expect.objectContaining({ pid: process.pid })]);
    expect(found.holders[0]!.command).toMatch(/node|jest/);
  });

  it('finds nothing on a port no one listens on', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await findPortHolders(port)).toEqual({ sockets: [], holders: [] });
  });
});
