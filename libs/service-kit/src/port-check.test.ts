import { createServer, type Server } from 'node:net';
import { checkPorts, describePortProblem, parsePortNeed } from './port-check.js';

describe('parsePortNeed', () => {
  it.each([
    { text: 'config-service API (CONFIG_PORT)=127.0.0.1:7001', expected: { what: 'config-service API (CONFIG_PORT)', host: '127.0.0.1', from: 7001, to: 7001 } },
    { text: 'passive data=0.0.0.0:4000-4008', expected: { what: 'passive data', host: '0.0.0.0', from: 4000, to: 4008 } },
    { text: 'https=[::1]:8443', expected: { what: 'https', host: '::1', from: 8443, to: 8443 } },
  ])('$text', ({ text, expected }) => {
    expect(parsePortNeed(text)).toEqual(expected);
  });

  it.each(['7001', 'api=127.0.0.1', 'api=127.0.0.1:0', 'api=127.0.0.1:70000', 'api=127.0.0.1:9-3'])('refuses "%s"', (text) => {
    expect(() => parsePortNeed(text)).toThrow(/"/);
  });
});

describe('describePortProblem', () => {
  const need = { what: 'gateway health (GATEWAY_HEALTH_PORT)', host: '127.0.0.1', from: 7003, to: 7003 };
  it.each([
    {
      desc: 'taken, holder known',
      problem: { need, port: 7003, code: 'EADDRINUSE', holders: [{ pid: 42, command: 'node services/tunnel-gateway/dist/main.js' }] },
      expected: 'port 7003 on 127.0.0.1, needed for the gateway health (GATEWAY_HEALTH_PORT), is already in use by pid 42 (node services/tunnel-gateway/dist/main.js)',
    },
    {
      desc: 'taken, holder unknown',
      problem: { need, port: 7003, code: 'EADDRINUSE', holders: [] },
      expected: 'port 7003 on 127.0.0.1, needed for the gateway health (GATEWAY_HEALTH_PORT), is already in use (by a process this user cannot see)',
    },
    {
      desc: 'privileged port',
      problem: { need: { ...need, from: 443, to: 443 }, port: 443, code: 'EACCES', holders: [] },
      expected: 'port 443 on 127.0.0.1, needed for the gateway health (GATEWAY_HEALTH_PORT), may not be opened by this user (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
    },
    {
      desc: 'IPv6 address not on this machine',
      problem: { need: { ...need, host: '2001:db8::1' }, port: 7003, code: 'EADDRNOTAVAIL', holders: [] },
      expected: 'port 7003 on [2001:db8::1], needed for the gateway health (GATEWAY_HEALTH_PORT), cannot be opened: this machine has no address 2001:db8::1',
    },
  ])('$desc', ({ problem, expected }) => {
    expect(describePortProblem(problem)).toBe(expected);
  });
});

describe('checkPorts', () => {
  let server: Server;
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reports the one taken port of a range, with this process as its holder, and nothing for free ones', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const taken = (server.address() as { port: number }).port;
    const problems = await checkPorts([{ what: 'test range', host: '127.0.0.1', from: taken - 1, to: taken }]);
    // The port below may be anyone's; only the one we hold is certain.
    const ours = problems.filter((problem) => problem.port === taken);
    expect(ours).toEqual([{ need: expect.objectContaining({ what: 'test range' }), port: taken, code: 'EADDRINUSE', holders: [expect.objectContaining({ pid: process.pid })] }]);
    expect(describePortProblem(ours[0]!)).toContain(`port ${taken} on 127.0.0.1, needed for the test range, is already in use by pid ${process.pid}`);
  });

  it('a port held on loopback blocks the wildcard address too', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const taken = (server.address() as { port: number }).port;
    expect(await checkPorts([{ what: 'wildcard', host: '0.0.0.0', from: taken, to: taken }])).toHaveLength(1);
  });
});
