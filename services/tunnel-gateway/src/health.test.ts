import { gatewayStatus, type StatusInputs } from './health.js';
import type { RunningListener } from './listeners/index.js';
import { testPortMap } from './test-support/port-maps.js';

const certificate = { id: 'crt_1', fingerprintSha256: 'ab', notAfter: '2030-01-01T00:00:00.000Z' };
const portMap = testPortMap();
const https: RunningListener = { spec: portMap.listeners[0]!, close: async () => undefined, openConnections: () => 3, idleUpstreamConnections: () => 1 };
const data: RunningListener = { spec: portMap.listeners[2]!, close: async () => undefined, openConnections: () => 0 };
const running: StatusInputs = { replica: 'gw-1', pid: 42, certificate, portMap, appliedPortMap: portMap, portMapFailure: null, listeners: [https, data], controlSessions: 2 };
const failed = { version: 2, reason: 'listen EADDRINUSE: address already in use 0.0.0.0:4000', at: '2026-01-01T00:00:00.000Z' };

describe('gatewayStatus', () => {
  it.each<{ desc: string; inputs: StatusInputs; ready: boolean; reasons: string[] }>([
    { desc: 'certificate, port map and listeners in force', inputs: running, ready: true, reasons: [] },
    {
      desc: 'nothing yet',
      inputs: { ...running, certificate: null, portMap: null, appliedPortMap: null, listeners: [] },
      ready: false,
      reasons: ['no certificate yet (cert-service not reached and no cache)', 'no port map yet (config-service not reached and no cache)'],
    },
    { desc: 'a port map waiting for a certificate', inputs: { ...running, certificate: null, appliedPortMap: null, listeners: [] }, ready: false, reasons: ['no certificate yet (cert-service not reached and no cache)'] },
    {
      desc: 'a newer map whose ports could not be opened: still serving the previous one (degraded)',
      inputs: { ...running, portMapFailure: failed },
      ready: true,
      reasons: ['port map version 2 not applied: listen EADDRINUSE: address already in use 0.0.0.0:4000; serving version 1'],
    },
    {
      desc: 'the first map could not be applied',
      inputs: { ...running, appliedPortMap: null, listeners: [], portMapFailure: failed },
      ready: false,
      reasons: ['port map version 2 not applied: listen EADDRINUSE: address already in use 0.0.0.0:4000'],
    },
  ])('$desc', ({ inputs, ready, reasons }) => {
    expect(gatewayStatus(inputs)).toMatchObject({ ready, reasons });
  });

  it('a failed map is listed as a listener error, in the catalogue’s words', () => {
    expect(gatewayStatus({ ...running, portMapFailure: failed })).toMatchObject({ status: 'degraded', portMapFailure: failed, listenerErrors: ['port map version 2 not applied: listen EADDRINUSE: address already in use 0.0.0.0:4000'] });
  });

  it('lists listeners with their connections and the applied version', () => {
    expect(gatewayStatus(running)).toEqual({
      ready: true,
      status: 'ready',
      reasons: [],
      replica: 'gw-1',
      pid: 42,
      portMapVersion: 1,
      tunnelEnabled: true,
      portMapFailure: null,
      certificate,
      listeners: [
        { id: 'https', protocol: 'http', tlsMode: 'implicit', ports: '443-443', openConnections: 3, idleUpstreamConnections: 1 },
        { id: 'ftp-data', protocol: 'ftp-data', tlsMode: 'implicit', ports: '4000-4008', openConnections: 0 },
      ],
      listenerErrors: [],
      controlSessions: 2,
    });
  });
});
