import { gatewayHealth, type HealthInputs } from './health-state.js';

const running = { version: 4, tunnelEnabled: true };
const base: HealthInputs = { certificate: true, known: { version: 4 }, applied: running, failure: null };

describe('gatewayHealth', () => {
  it.each([
    { desc: 'serving the latest map', inputs: base, expected: { status: 'ready', serving: true, reasons: [] } },
    {
      desc: 'a newer map could not be applied: still serving the previous one, degraded with the reason',
      inputs: { ...base, known: { version: 5 }, failure: { version: 5, reason: 'port 9991 is already in use' } },
      expected: { status: 'degraded', serving: true, reasons: ['port map version 5 not applied: port 9991 is already in use; serving version 4'] },
    },
    {
      desc: 'the tunnel is stopped: nothing is served',
      inputs: { ...base, applied: { version: 6, tunnelEnabled: false } },
      expected: { status: 'stopped', serving: false, reasons: ['the tunnel is stopped (tunnelEnabled is false in port map version 6): no public port is open'] },
    },
    {
      desc: 'stopped, and a newer map failed',
      inputs: { ...base, applied: { version: 6, tunnelEnabled: false }, failure: { version: 7, reason: 'port 80 may not be opened' } },
      expected: {
        status: 'stopped',
        serving: false,
        reasons: [
          'the tunnel is stopped (tunnelEnabled is false in port map version 6): no public port is open',
          'port map version 7 not applied: port 80 may not be opened; staying on version 6',
        ],
      },
    },
    {
      desc: 'nothing yet',
      inputs: { certificate: false, known: null, applied: null, failure: null },
      expected: {
        status: 'not-ready',
        serving: false,
        reasons: ['no certificate yet (cert-service not reached and no cache)', 'no port map yet (config-service not reached and no cache)'],
      },
    },
    {
      desc: 'a map but no certificate: the map waits for one',
      inputs: { certificate: false, known: { version: 1 }, applied: null, failure: null },
      expected: { status: 'not-ready', serving: false, reasons: ['no certificate yet (cert-service not reached and no cache)'] },
    },
    {
      desc: 'both, listeners opening',
      inputs: { certificate: true, known: { version: 1 }, applied: null, failure: null },
      expected: { status: 'not-ready', serving: false, reasons: ['listeners not opened yet'] },
    },
    {
      desc: 'the first map could not be applied: nothing to fall back on',
      inputs: { certificate: true, known: { version: 1 }, applied: null, failure: { version: 1, reason: 'port 443 is already in use' } },
      expected: { status: 'not-ready', serving: false, reasons: ['port map version 1 not applied: port 443 is already in use'] },
    },
  ] as Array<{ desc: string; inputs: HealthInputs; expected: ReturnType<typeof gatewayHealth> }>)('$desc', ({ inputs, expected }) => {
    expect(gatewayHealth(inputs)).toEqual(expected);
  });
});
