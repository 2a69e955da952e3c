import { gatewayStatus, type StatusInputs } from './health.js';
import type { RunningListener } from './listeners/index.js';
import { testPortMap } from './test-support/port-maps.js';

const certificate = { id: 'crt_1', fingerprintSha256: 'ab', notAfter: '2030-01-01T00:00:00.000Z' };
const portMap = testPortMap();
const https: RunningListener = { spec: portMap.listeners[0]!, close: async () => undefined, openConnections: () => 3, idleUpstreamConnections: () => 1 };
const data: RunningListener = { spec: portMap.listeners[2]!, close: async () => undefined, openConnections: () => 0 };
const running: StatusInputs = { certificate, portMap, appliedPortMap: portMap, listeners: [https, data], listenerErrors: [], controlSessions: 2 };

describe('gatewayStatus', () => {
  it.each<{ desc: string; inputs: StatusInputs; ready: boolean; reasons: string[] }>([
    { desc: 'certificate, port map and listeners in force', inputs: running, ready: true, reasons: [] },
    {
      desc: 'nothing yet',
      inputs: { ...running, certificate: null, portMap: null, appliedPortMap: null, listeners: [] },
      ready: false,
      reasons: ['no certificate yet (cert-service not reached and no cache)', 'no port map yet (config-service not reached and no cache)'],
    },
    { desc: 'a port map waiting for a certificate', inputs: { ...running, certificate: null, appliedPortMap: null, listeners: [] }, ready: false, reasons: ['no certificate yet (cert-service not reached and no cache)', 'listeners not opened yet'] },
    {
      desc: 'a map whose ports could not be opened',
      inputs: { ...running, listenerErrors: ['port map version 2 not applied: listen EADDRINUSE: address already in use 0.0.0.0:4000'] },
      ready: false,
      reasons: ['port map version 2 not applied: listen EADDRINUSE: address already in use 0.0.0.0:4000'],
    },
  ])('$desc', ({ inputs, ready, reasons }) => {
    expect(gatewayStatus(inputs)).toMatchObject({ ready, reasons });
  });

  it('lists listeners with their connections and the applied version', () => {
    expect(gatewayStatus(running)).toEqual({
      ready: true,
      reasons: [],
      portMapVersion: 1,
      certificate,
      listeners: [
        { id: 'https', protocol: 'http', ports: '443-443', openConnections: 3, idleUpstreamConnections: 1 },
        { id: 'ftp-data', protocol: 'ftp-data', ports: '4000-4008', openConnections: 0 },
      ],
      listenerErrors: [],
      controlSessions: 2,
    });
  });
});
