import type { GatewayReplicaReport } from '@st/contracts';
import { mergeReplicas, type ReplicaView } from './overview.js';

const report: GatewayReplicaReport = {
  replica: 'gw-1',
  pid: 7,
  status: 'ready',
  reasons: [],
  portMapVersion: 4,
  tunnelEnabled: true,
  failed: null,
  certificate: { id: 'crt_1', fingerprintSha256: 'ab:cd' },
  startedAt: '2026-12-03T08:00:00.000Z',
  lastReportAt: '2026-12-03T08:05:00.000Z',
  stale: false,
};
const probed: ReplicaView = {
  replica: 'gw-1',
  state: 'ready',
  reasons: [],
  settingsVersion: 4,
  certificateId: 'crt_1',
  fingerprintSha256: 'ab:cd',
  openConnections: 3,
  controlSessions: 1,
  lastSeen: null,
  source: 'http://gw-1:7003',
};

describe('mergeReplicas', () => {
  it.each([
    {
      desc: 'a reported replica becomes a row with its version, certificate and report time',
      probed: [],
      reported: [report],
      expected: [{ replica: 'gw-1', state: 'ready', reasons: [], settingsVersion: 4, certificateId: 'crt_1', lastSeen: '2026-12-03T08:05:00.000Z', source: 'config-service' }],
    },
    {
      desc: 'a refused version is a reason beside the one still served',
      probed: [],
      reported: [{ ...report, status: 'degraded' as const, failed: { version: 5, reason: 'port 4000 is taken', at: 'x' } }],
      expected: [{ state: 'degraded', settingsVersion: 4, reasons: ['could not apply settings version 5: port 4000 is taken'] }],
    },
    {
      desc: 'a stale report says so',
      probed: [],
      reported: [{ ...report, stale: true }],
      expected: [{ state: 'stale', reasons: ['no report for a while'] }],
    },
    {
      desc: 'a replica also probed keeps its open connections',
      probed: [probed],
      reported: [report],
      expected: [{ replica: 'gw-1', openConnections: 3, controlSessions: 1, source: 'http://gw-1:7003, config-service' }],
    },
  ])('$desc', ({ probed: rows, reported, expected }) => {
    const merged = mergeReplicas(rows, reported);
    expect(merged).toHaveLength(expected.length);
    expected.forEach((row, index) => expect(merged[index]).toMatchObject(row));
  });
});
