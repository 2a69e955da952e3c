import { statusEvent } from './status-report.js';

describe('statusEvent', () => {
  const identity = { replica: 'gw-a-17', pid: 17, startedAt: '2026-01-01T00:00:00.000Z', heartbeatMs: 15_000 };
  it.each([
    {
      desc: 'serving, with its certificate (never key material)',
      state: {
        status: 'ready' as const,
        reasons: [],
        portMapVersion: 4,
        tunnelEnabled: true,
        portMapFailure: null,
        certificate: { id: 'cert-1', fingerprintSha256: 'AB:CD', notAfter: '2030-01-01T00:00:00.000Z', privateKeyPem: 'must not travel' },
      },
      expected: { status: 'ready', portMap: { applied: 4, tunnelEnabled: true, failed: null }, certificate: { id: 'cert-1', fingerprintSha256: 'AB:CD' } },
    },
    {
      desc: 'a refused map with its reason',
      state: {
        status: 'degraded' as const,
        reasons: ['port map version 5 not applied: taken'],
        portMapVersion: 4,
        tunnelEnabled: true,
        portMapFailure: { version: 5, reason: 'taken', at: '2026-01-01T00:01:00.000Z' },
        certificate: null,
      },
      expected: { status: 'degraded', portMap: { applied: 4, tunnelEnabled: true, failed: { version: 5, reason: 'taken', at: '2026-01-01T00:01:00.000Z' } }, certificate: null },
    },
  ])('$desc', ({ state, expected }) => {
    const event = statusEvent(state, identity, new Date('2026-01-01T00:02:00.000Z'));
    expect(event).toMatchObject({ ...identity, sentAt: '2026-01-01T00:02:00.000Z', reasons: state.reasons, ...expected });
    expect(JSON.stringify(event)).not.toContain('must not travel');
  });
});
