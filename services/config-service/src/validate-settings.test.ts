import type { ServerSettings } from '@st/contracts';
import { settingsWith, unprivileged } from './test-settings.js';
import { isLoopbackHost, validateSettings, type SettingsProblem } from './validate-settings.js';

type Change = (settings: ServerSettings) => void;

function fields(problems: SettingsProblem[]): string[] {
  return problems.map((problem) => problem.field);
}

describe('validateSettings: schema violations', () => {
  it.each<{ desc: string; input: unknown; field: string; message: RegExp }>([
    { desc: 'port above 65535', input: settingsWith((s) => void (s.public.httpsPort = 70000)), field: 'public.httpsPort', message: /port from 1 to 65535/ },
    { desc: 'port zero', input: settingsWith((s) => void (s.upstream.web.port = 0)), field: 'upstream.web.port', message: /port from 1 to 65535/ },
    { desc: 'fractional port', input: settingsWith((s) => void (s.public.ftpsPort = 990.5)), field: 'public.ftpsPort', message: /whole number/ },
    { desc: 'port as a string', input: settingsWith((s) => void ((s.public as Record<string, unknown>).ftpsPort = '990')), field: 'public.ftpsPort', message: /must be a number \(got string\)/ },
    { desc: 'reversed upstream range', input: settingsWith((s) => void (s.upstream.ftp.passiveRange = { from: 3008, to: 3000 })), field: 'upstream.ftp.passiveRange', message: /reversed/ },
    { desc: 'empty upstream host', input: settingsWith((s) => void (s.upstream.host = '')), field: 'upstream.host', message: /file server host/ },
    { desc: 'unknown TLS version', input: settingsWith((s) => void ((s.tls as Record<string, unknown>).minVersion = 'TLSv1.0')), field: 'tls.minVersion', message: /one of "TLSv1.2", "TLSv1.3"/ },
    { desc: 'handshake timeout too short', input: settingsWith((s) => void (s.timeouts.handshakeMs = 5)), field: 'timeouts.handshakeMs', message: /100/ },
    { desc: 'missing section', input: { ...settingsWith(), limits: undefined }, field: 'limits', message: /is required/ },
    { desc: 'not an object at all', input: 'settings', field: '(settings)', message: /object/ },
    { desc: 'a prototype name as a field', input: JSON.parse(`{"tunnelEnabled": true, "constructor": 1}`), field: 'constructor', message: /not a setting/ },
    { desc: 'login defender threshold of zero', input: settingsWith((s) => void (s.loginDefender.maxFailures = 0)), field: 'loginDefender.maxFailures', message: /1/ },
    { desc: 'allow-list that is not a list', input: settingsWith((s) => void ((s.loginDefender as Record<string, unknown>).allowList = '10.0.0.0/8')), field: 'loginDefender.allowList', message: /must be an array \(got string\)/ },
    { desc: 'misspelt top-level setting', input: { ...settingsWith(), tunnelEnable: false }, field: 'tunnelEnable', message: /not a setting/ },
    { desc: 'misspelt nested setting', input: settingsWith((s) => void ((s.upstream.ftp as Record<string, unknown>).pasvRange = { from: 1, to: 2 })), field: 'upstream.ftp.pasvRange', message: /not a setting/ },
  ])('$desc', ({ input, field, message }) => {
    const report = validateSettings(input);
    const problem = report.errors.find((candidate) => candidate.field === field);
    expect(problem?.message).toMatch(message);
  });

  it('reports every schema violation, not only the first', () => {
    const report = validateSettings(settingsWith((s) => {
      s.public.httpsPort = 0;
      s.public.ftpsPort = 70000;
    }));
    expect(fields(report.errors)).toEqual(['public.httpsPort', 'public.ftpsPort']);
  });
});

describe('validateSettings: cross-field rules', () => {
  it.each<{ desc: string; change: Change; errors: Array<{ field: string; message: RegExp }> }>([
    { desc: 'defaults', change: () => {}, errors: [] },
    {
      desc: 'HTTPS and FTPS on one port',
      change: (s) => void (s.public.ftpsPort = 443),
      errors: [{ field: 'public.ftpsPort', message: /FTPS control port 443 collides with public\.httpsPort \(HTTPS port 443\)/ }],
    },
    {
      desc: 'explicit and implicit FTPS on one port',
      change: (s) => void (s.public.explicitFtpsPort = 990),
      errors: [{ field: 'public.explicitFtpsPort', message: /explicit FTPS \(AUTH TLS\) port 990 collides with public\.ftpsPort/ }],
    },
    {
      desc: 'explicit FTPS port inside the public passive range',
      change: (s) => void (s.public.explicitFtpsPort = 4004),
      errors: [{ field: 'public.passiveOffset', message: /public passive range 4000-4008 collides with public\.explicitFtpsPort/ }],
    },
    {
      desc: 'explicit FTPS port with FTP disabled: nothing listens there, no conflict',
      change: (s) => {
        s.public.explicitFtpsPort = 443;
        s.upstream.ftp.enabled = false;
      },
      errors: [],
    },
    {
      desc: 'HTTPS and FTPS on one port, web disabled: no HTTPS listener, no conflict',
      change: (s) => {
        s.public.ftpsPort = 443;
        s.upstream.web.enabled = false;
      },
      errors: [],
    },
    {
      desc: 'offset-derived passive range covering the HTTPS port',
      change: (s) => void (s.public.httpsPort = 4004),
      errors: [{ field: 'public.passiveOffset', message: /public passive range 4000-4008 collides with public\.httpsPort/ }],
    },
    {
      desc: 'explicit passive range covering the FTPS port',
      change: (s) => void (s.public.passiveRange = { from: 900, to: 1000 }),
      errors: [{ field: 'public.passiveRange', message: /public passive range 900-1000 collides with public\.ftpsPort/ }],
    },
    {
      desc: 'offset 0 with a loopback upstream: public passive = upstream passive',
      change: (s) => void (s.public.passiveOffset = 0),
      errors: [{ field: 'public.passiveOffset', message: /overlaps upstream\.ftp\.passiveRange \(upstream passive range 3000-3008\).*this machine/ }],
    },
    {
      desc: 'explicit pool overlapping the upstream passive range on localhost',
      change: (s) => {
        s.upstream.host = 'localhost';
        s.public.passiveRange = { from: 3005, to: 3020 };
      },
      errors: [{ field: 'public.passiveRange', message: /overlaps upstream\.ftp\.passiveRange/ }],
    },
    {
      desc: 'public passive range over the upstream FTP port when upstream.host equals bindHost',
      change: (s) => {
        s.upstream.host = '10.0.0.5';
        s.public.bindHost = '10.0.0.5';
        s.upstream.ftp.port = 4002;
      },
      errors: [{ field: 'public.passiveOffset', message: /overlaps upstream\.ftp\.port/ }],
    },
    {
      desc: 'HTTPS port equal to the upstream web port on loopback',
      change: (s) => {
        s.upstream.web.port = 8443;
        s.public.httpsPort = 8443;
      },
      errors: [{ field: 'public.httpsPort', message: /overlaps upstream\.web\.port/ }],
    },
    {
      desc: 'overlap with upstream ports on another host is fine',
      change: (s) => {
        s.upstream.host = 'files.internal';
        s.public.passiveOffset = 0;
      },
      errors: [],
    },
    {
      desc: 'offset pushing the passive range past 65535',
      change: (s) => {
        s.upstream.ftp.passiveRange = { from: 65000, to: 65010 };
        s.public.passiveOffset = 1000;
      },
      errors: [{ field: 'public.passiveOffset', message: /offset 1000 moves upstream passive port 65010 to 66010, past 65535/ }],
    },
    {
      desc: 'negative offset pushing the passive range below 1',
      change: (s) => void (s.public.passiveOffset = -3000),
      errors: [{ field: 'public.passiveOffset', message: /moves upstream passive port 3000 to 0, below 1/ }],
    },
    {
      desc: 'offset out of range is ignored when an explicit pool is set',
      change: (s) => {
        s.public.passiveOffset = 100_000;
        s.public.passiveRange = { from: 5000, to: 5099 };
      },
      errors: [],
    },
    {
      desc: 'offset out of range is ignored when FTP is disabled',
      change: (s) => {
        s.public.passiveOffset = 100_000;
        s.upstream.ftp.enabled = false;
      },
      errors: [],
    },
    {
      desc: 'public pool smaller than the upstream range',
      change: (s) => void (s.public.passiveRange = { from: 5000, to: 5004 }),
      errors: [{ field: 'public.passiveRange', message: /5000-5004 has 5 ports but the upstream passive range 3000-3008 has 9/ }],
    },
    { desc: 'public pool exactly as large as the upstream range', change: (s) => void (s.public.passiveRange = { from: 5000, to: 5008 }), errors: [] },
    {
      desc: 'IPv6 public address',
      change: (s) => void (s.public.address = '2001:db8::1'),
      errors: [{ field: 'public.address', message: /IPv6/ }],
    },
    {
      desc: 'public address that is no host name',
      change: (s) => void (s.public.address = 'files example'),
      errors: [{ field: 'public.address', message: /neither an IPv4 address nor a host name/ }],
    },
    { desc: 'public address as a host name', change: (s) => void (s.public.address = 'files.example.test'), errors: [] },
    { desc: 'public address as IPv4', change: (s) => void (s.public.address = '203.0.113.7'), errors: [] },
    {
      desc: 'login allow-list with addresses and ranges of both families',
      change: (s) => void (s.loginDefender.allowList = ['192.0.2.7', '10.0.0.0/8', '2001:db8::/32', '::1']),
      errors: [],
    },
    {
      desc: 'login allow-list entries that are no address or range',
      change: (s) => void (s.loginDefender.allowList = ['10.0.0.0/8', 'office.example.com', '10.0.0.0/40']),
      errors: [
        { field: 'loginDefender.allowList.1', message: /"office.example.com" is not an IP address or a range/ },
        { field: 'loginDefender.allowList.2', message: /prefix length after "\/" must be a whole number from 0 to 32/ },
      ],
    },
    {
      desc: 'a trusted balancer that is no address or range',
      change: (s) => void (s.proxyProtocol.trustedProxies = ['haproxy']),
      errors: [{ field: 'proxyProtocol.trustedProxies.0', message: /"haproxy" is not an IP address or a range/ }],
    },
    {
      desc: 'a PROXY protocol version to the file server that does not exist',
      change: (s) => void (s.proxyProtocol.toUpstream.web = 'v3' as never),
      errors: [{ field: 'proxyProtocol.toUpstream.web', message: /must be one of "off", "v1", "v2" \(got "v3"\)/ }],
    },
    {
      desc: 'longest login ban shorter than the first',
      change: (s) => void ((s.loginDefender.banMs = 60_000), (s.loginDefender.maxBanMs = 30_000)),
      errors: [{ field: 'loginDefender.maxBanMs', message: /shorter than the first ban/ }],
    },
    {
      desc: 'upstream host with a line break (would inject into rendered files)',
      change: (s) => void (s.upstream.host = 'files\n[evil]'),
      errors: [{ field: 'upstream.host', message: /neither an IP address nor a host name/ }],
    },
    {
      desc: 'bind host with spaces',
      change: (s) => void (s.public.bindHost = 'a b;c'),
      errors: [{ field: 'public.bindHost', message: /neither an IP address nor a host name/ }],
    },
    { desc: 'upstream host as a bracketed IPv6 address', change: (s) => void (s.upstream.host = '[2001:db8::10]'), errors: [] },
    { desc: 'upstream host as a name', change: (s) => void (s.upstream.host = 'files.internal'), errors: [] },
    { desc: 'bind host as IPv6 wildcard', change: (s) => void (s.public.bindHost = '::'), errors: [] },
    {
      desc: 'several problems are all reported',
      change: (s) => {
        s.public.ftpsPort = 443;
        s.public.passiveRange = { from: 5000, to: 5001 };
      },
      errors: [
        { field: 'public.passiveRange', message: /has 2 ports/ },
        { field: 'public.ftpsPort', message: /collides/ },
      ],
    },
  ])('$desc', ({ change, errors }) => {
    const report = validateSettings(settingsWith(change));
    expect(report.errors).toHaveLength(errors.length);
    errors.forEach((expected, index) => {
      expect(report.errors[index]?.field).toBe(expected.field);
      expect(report.errors[index]?.message).toMatch(expected.message);
    });
  });
});

describe('validateSettings: warnings', () => {
  it.each<{ desc: string; change: Change; warnings: string[] }>([
    { desc: 'default privileged ports', change: () => {}, warnings: ['public.httpsPort', 'public.ftpsPort'] },
    { desc: 'unprivileged ports', change: unprivileged, warnings: [] },
    {
      desc: 'privileged passive pool',
      change: (s) => {
        unprivileged(s);
        s.public.passiveRange = { from: 1000, to: 1010 };
      },
      warnings: ['public.passiveRange'],
    },
    {
      desc: 'privileged port of a disabled listener is not warned about',
      change: (s) => {
        unprivileged(s);
        s.public.httpsPort = 443;
        s.upstream.web.enabled = false;
      },
      warnings: [],
    },
    {
      desc: 'web and FTP both disabled',
      change: (s) => {
        s.upstream.web.enabled = false;
        s.upstream.ftp.enabled = false;
      },
      warnings: ['upstream'],
    },
  ])('$desc', ({ change, warnings }) => {
    const report = validateSettings(settingsWith(change));
    expect(report.errors).toEqual([]);
    expect(fields(report.warnings)).toEqual(warnings);
  });

  it('names the field and the reason', () => {
    const [warning] = validateSettings(settingsWith()).warnings;
    expect(warning).toEqual({ field: 'public.httpsPort', message: expect.stringMatching(/HTTPS port 443 is privileged \(below 1024\)/) });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    { host: '127.0.0.1', loopback: true },
    { host: '127.1.2.3', loopback: true },
    { host: 'localhost', loopback: true },
    { host: 'LOCALHOST', loopback: true },
    { host: 'demo.localhost', loopback: true },
    { host: '::1', loopback: true },
    { host: '[::1]', loopback: true },
    { host: '0:0:0:0:0:0:0:1', loopback: true },
    { host: '::ffff:127.0.0.1', loopback: true },
    { host: '0.0.0.0', loopback: true },
    { host: '10.0.0.5', loopback: false },
    { host: 'files.internal', loopback: false },
    { host: '2001:db8::1', loopback: false },
  ])('$host → $loopback', ({ host, loopback }) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
