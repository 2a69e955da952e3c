import type { GatewayStatus } from './health.js';
import { combineWorkerStatuses } from './worker-status.js';

const worker = (index: number, overrides: Partial<GatewayStatus> = {}): { index: number; running: boolean; status: GatewayStatus } => ({
  index,
  running: true,
  status: {
    ready: true,
    status: 'ready',
    reasons: [],
    replica: `gw-w${index}`,
    pid: 1000 + index,
    portMapVersion: 7,
    tunnelEnabled: true,
    portMapFailure: null,
    certificate: { id: 'cert-1', fingerprintSha256: 'AA', notAfter: '2027-01-01T00:00:00Z' },
    listeners: [
      { id: 'https', protocol: 'https', tlsMode: 'implicit', ports: '443-443', openConnections: index, idleUpstreamConnections: 1 },
      { id: 'ftps-control', protocol: 'ftp-control', tlsMode: 'implicit', ports: '990-990', openConnections: 2 },
    ],
    listenerErrors: [],
    controlSessions: index,
    ...overrides,
  },
});

describe('one status for a gateway of several worker processes', () => {
  it('every worker ready: ready, connections and sessions summed per listener, each worker listed', () => {
    const combined = combineWorkerStatuses('gw', 999, 2, [worker(1), worker(2)]);
    expect(combined).toMatchObject({ ready: true, status: 'ready', reasons: [], replica: 'gw', pid: 999, portMapVersion: 7, controlSessions: 3 });
    expect(combined.listeners).toEqual([
      { id: 'https', protocol: 'https', tlsMode: 'implicit', ports: '443-443', openConnections: 3, idleUpstreamConnections: 2 },
      { id: 'ftps-control', protocol: 'ftp-control', tlsMode: 'implicit', ports: '990-990', openConnections: 4 },
    ]);
    expect(combined.workers).toEqual([
      { index: 1, replica: 'gw-w1', pid: 1001, status: 'ready' },
      { index: 2, replica: 'gw-w2', pid: 1002, status: 'ready' },
    ]);
  });

  it.each([
    {
      desc: 'a worker that does not answer: not ready, saying which',
      views: [worker(1), { index: 2, running: true, status: null }],
      expected: { ready: false, status: 'not-ready', reasons: ['worker 2: not answering'] },
    },
    {
      desc: 'a worker missing (being replaced): not ready, saying how many',
      views: [worker(1), { index: 2, running: false, status: null }],
      expected: { ready: false, status: 'not-ready', reasons: ['worker 2: not running (being started again)'], workers: [{ index: 1, status: 'ready' }, { index: 2, status: 'not-running' }] },
    },
    {
      desc: 'a worker degraded: the whole is degraded (still serving), its reason named',
      views: [worker(1), worker(2, { status: 'degraded', reasons: ['port map version 8 not applied: port 990 taken'] })],
      expected: { ready: true, status: 'degraded', reasons: ['worker 2: port map version 8 not applied: port 990 taken'] },
    },
    {
      desc: 'a worker not ready: the whole is not ready',
      views: [worker(1), worker(2, { ready: false, status: 'not-ready', reasons: ['no certificate yet'] })],
      expected: { ready: false, status: 'not-ready', reasons: ['worker 2: no certificate yet'] },
    },
    {
      desc: 'workers on different versions: the oldest is the one every worker runs',
      views: [worker(1, { portMapVersion: 8 }), worker(2)],
      expected: { ready: true, portMapVersion: 7 },
    },
    {
      desc: 'a worker without a port map: no version all of them run',
      views: [worker(1, { portMapVersion: null }), worker(2)],
      expected: { portMapVersion: null },
    },
    {
      desc: 'different certificates (a change under way): said',
      views: [worker(1), worker(2, { certificate: { id: 'cert-2', fingerprintSha256: 'BB', notAfter: '2027-06-01T00:00:00Z' } })],
      expected: { ready: true, reasons: ['worker processes serve different certificates (a change is being applied)'] },
    },
  ])('$desc', ({ views, expected }) => {
    expect(combineWorkerStatuses('gw', 999, 2, views)).toMatchObject(expected);
  });
});
