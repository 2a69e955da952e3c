import { portMapSchema, type PortMap } from '@st/contracts';

/**
 * A port map as config-service derives it for the defaults (HTTPS 443, FTPS
 * 990, upstream passive 3000-3008 on 4000-4008), for unit tests of the
 * gateway's pure logic. `change` edits a copy.
 */
export function testPortMap(change: (portMap: PortMap) => void = () => {}): PortMap {
  const portMap: PortMap = portMapSchema.parse({
    version: 1,
    generatedAt: '2025-01-01T00:00:00.000Z',
    tunnelEnabled: true,
    publicAddress: null,
    passive: { mode: 'offset', offset: 1000 },
    tls: { minVersion: 'TLSv1.2', allowClearData: false, requireSessionReuse: false },
    timeouts: { handshakeMs: 10_000, controlIdleMs: 300_000, dataIdleMs: 120_000, passiveLeaseMs: 60_000, drainMs: 600_000, upstreamKeepAliveMs: 2000 },
    limits: { maxCommandLength: 4096, maxConnectionsPerClient: 200, maxConnectionsPerListener: 10_000, maxPassiveLeasesPerClient: 16, maxCommandsWithoutTransfer: 5_000 },
    listeners: [
      { id: 'https', protocol: 'http', tlsMode: 'implicit', bindHost: '0.0.0.0', ports: { from: 443, to: 443 }, upstream: { host: '10.0.0.5', ports: { from: 80, to: 80 } } },
      { id: 'ftps', protocol: 'ftp-control', tlsMode: 'implicit', bindHost: '0.0.0.0', ports: { from: 990, to: 990 }, upstream: { host: '10.0.0.5', ports: { from: 21, to: 21 } } },
      { id: 'ftp-data', protocol: 'ftp-data', tlsMode: 'implicit', bindHost: '0.0.0.0', ports: { from: 4000, to: 4008 }, upstream: { host: '10.0.0.5', ports: { from: 3000, to: 3008 } } },
    ],
  });
  change(portMap);
  return portMap;
}
