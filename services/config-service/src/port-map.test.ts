import { portMapSchema, type Listener, type ServerSettings } from '@st/contracts';
import { derivePortMap } from './port-map.js';
import { settingsWith } from './test-settings.js';
import { validateSettings } from './validate-settings.js';

const generatedAt = '2025-01-01T00:00:00.000Z';

function summary(listeners: Listener[]): string[] {
  return listeners.map(
    (l) => `${l.id} ${l.protocol}/${l.tlsMode} ${l.bindHost}:${l.ports.from}-${l.ports.to} -> ${l.upstream.host}:${l.upstream.ports.from}-${l.upstream.ports.to}`,
  );
}

describe('derivePortMap', () => {
  it.each<{ desc: string; change: (s: ServerSettings) => void; listeners: string[]; passive: unknown }>([
    {
      desc: 'seed-compatible defaults: web 80, FTP 21, passive 3000-3008 give 443, 990, 4000-4008',
      change: () => {},
      listeners: [
        'https http/implicit 0.0.0.0:443-443 -> 127.0.0.1:80-80',
        'ftps-control ftp-control/implicit 0.0.0.0:990-990 -> 127.0.0.1:21-21',
        'ftps-data ftp-data/implicit 0.0.0.0:4000-4008 -> 127.0.0.1:3000-3008',
      ],
      passive: { mode: 'offset', offset: 1000 },
    },
    {
      desc: 'web disabled: FTP listeners only',
      change: (s) => void (s.upstream.web.enabled = false),
      listeners: [
        'ftps-control ftp-control/implicit 0.0.0.0:990-990 -> 127.0.0.1:21-21',
        'ftps-data ftp-data/implicit 0.0.0.0:4000-4008 -> 127.0.0.1:3000-3008',
      ],
      passive: { mode: 'offset', offset: 1000 },
    },
    {
      desc: 'FTP disabled: HTTPS only',
      change: (s) => void (s.upstream.ftp.enabled = false),
      listeners: ['https http/implicit 0.0.0.0:443-443 -> 127.0.0.1:80-80'],
      passive: { mode: 'offset', offset: 1000 },
    },
    {
      desc: 'both disabled: no listener',
      change: (s) => {
        s.upstream.web.enabled = false;
        s.upstream.ftp.enabled = false;
      },
      listeners: [],
      passive: { mode: 'offset', offset: 1000 },
    },
    {
      desc: 'explicit public pool: pool mode over the whole pool',
      change: (s) => void (s.public.passiveRange = { from: 5000, to: 5099 }),
      listeners: [
        'https http/implicit 0.0.0.0:443-443 -> 127.0.0.1:80-80',
        'ftps-control ftp-control/implicit 0.0.0.0:990-990 -> 127.0.0.1:21-21',
        'ftps-data ftp-data/implicit 0.0.0.0:5000-5099 -> 127.0.0.1:3000-3008',
      ],
      passive: { mode: 'pool' },
    },
    {
      desc: 'explicit FTPS: a second control listener, plain until AUTH TLS, same upstream',
      change: (s) => void (s.public.explicitFtpsPort = 2121),
      listeners: [
        'https http/implicit 0.0.0.0:443-443 -> 127.0.0.1:80-80',
        'ftps-control ftp-control/implicit 0.0.0.0:990-990 -> 127.0.0.1:21-21',
        'ftps-explicit ftp-control/explicit 0.0.0.0:2121-2121 -> 127.0.0.1:21-21',
        'ftps-data ftp-data/implicit 0.0.0.0:4000-4008 -> 127.0.0.1:3000-3008',
      ],
      passive: { mode: 'offset', offset: 1000 },
    },
    {
      desc: 'an explicit FTPS port with FTP disabled opens nothing',
      change: (s) => {
        s.public.explicitFtpsPort = 2121;
        s.upstream.ftp.enabled = false;
      },
      listeners: ['https http/implicit 0.0.0.0:443-443 -> 127.0.0.1:80-80'],
      passive: { mode: 'offset', offset: 1000 },
    },
    {
      desc: 'local unprivileged ports, negative offset, another upstream and bind host',
      change: (s) => {
        s.upstream.host = 'files.internal';
        s.upstream.web.port = 8080;
        s.upstream.ftp.port = 2121;
        s.upstream.ftp.passiveRange = { from: 30000, to: 30009 };
        s.public.bindHost = '127.0.0.1';
        s.public.httpsPort = 8443;
        s.public.ftpsPort = 9990;
        s.public.passiveOffset = -10000;
      },
      listeners: [
        'https http/implicit 127.0.0.1:8443-8443 -> files.internal:8080-8080',
        'ftps-control ftp-control/implicit 127.0.0.1:9990-9990 -> files.internal:2121-2121',
        'ftps-data ftp-data/implicit 127.0.0.1:20000-20009 -> files.internal:30000-30009',
      ],
      passive: { mode: 'offset', offset: -10000 },
    },
  ])('$desc', ({ change, listeners, passive }) => {
    const settings = settingsWith(change);
    expect(validateSettings(settings).errors).toEqual([]);
    const portMap = derivePortMap(settings, 1, generatedAt);
    expect(portMapSchema.safeParse(portMap).success).toBe(true);
    expect(summary(portMap.listeners)).toEqual(listeners);
    expect(portMap.passive).toEqual(passive);
  });

  it('copies the policy sections, the public address and the tunnel switch', () => {
    const settings = settingsWith((s) => {
      s.public.address = '203.0.113.7';
      s.tunnelEnabled = false;
      s.tls = { minVersion: 'TLSv1.3', allowClearData: true, requireSessionReuse: true };
      s.timeouts.handshakeMs = 2500;
      s.limits.maxCommandLength = 1024;
    });
    const portMap = derivePortMap(settings, 7, generatedAt);
    expect(portMap).toMatchObject({
      version: 7,
      generatedAt,
      tunnelEnabled: false,
      publicAddress: '203.0.113.7',
      tls: settings.tls,
      timeouts: settings.timeouts,
      limits: settings.limits,
    });
  });

  it('shares no objects with the settings, so later edits of one cannot change the other', () => {
    const settings = settingsWith();
    const portMap = derivePortMap(settings, 1, generatedAt);
    settings.upstream.ftp.passiveRange.from = 1;
    settings.tls.minVersion = 'TLSv1.3';
    expect(portMap.listeners[2]?.upstream.ports.from).toBe(3000);
    expect(portMap.tls.minVersion).toBe('TLSv1.2');
  });
});

describe('port maps from a config-service older than upstreamKeepAliveMs', () => {
  it('read as the default on the gateway (its disk cache, or a gateway upgraded first)', () => {
    const current = derivePortMap(settingsWith(), 3, generatedAt);
    const { upstreamKeepAliveMs: _added, ...olderTimeouts } = current.timeouts;
    expect(portMapSchema.parse({ ...current, timeouts: olderTimeouts }).timeouts.upstreamKeepAliveMs).toBe(2000);
    expect(portMapSchema.parse(current).timeouts.upstreamKeepAliveMs).toBe(current.timeouts.upstreamKeepAliveMs);
  });
});
