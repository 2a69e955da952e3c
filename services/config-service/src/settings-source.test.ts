import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultServerSettings, type ServerSettings } from '@st/contracts';
import { loadSettings, settingsFromSources, type SettingsResult } from './settings-source.js';
import { settingsWith } from './test-settings.js';

/** Local-run ports, so that the defaults do not bring privileged-port warnings into every case. */
const localEnv = { HTTPS_PORT: '8443', FTPS_PORT: '9990' };

function settingsOf(result: SettingsResult): ServerSettings {
  if (!result.ok) throw new Error(`expected settings, got errors: ${JSON.stringify(result.errors)}`);
  return result.settings;
}

describe('settingsFromSources: layering', () => {
  it('returns the defaults (with their privileged-port warnings) when nothing is set', () => {
    const result = settingsFromSources(undefined, {});
    expect(result).toEqual({
      ok: true,
      settings: defaultServerSettings,
      warnings: [expect.objectContaining({ field: 'public.httpsPort' }), expect.objectContaining({ field: 'public.ftpsPort' })],
    });
  });

  it.each<{ desc: string; file: unknown; env: Record<string, string | undefined>; expected: ServerSettings }>([
    {
      desc: 'file deep-merges over the defaults',
      file: { upstream: { web: { port: 8080 } }, public: { httpsPort: 8443, ftpsPort: 9990 } },
      env: {},
      expected: settingsWith((s) => {
        s.upstream.web.port = 8080;
        s.public.httpsPort = 8443;
        s.public.ftpsPort = 9990;
      }),
    },
    {
      desc: 'file sets an explicit pool over the null default',
      file: { public: { passiveRange: { from: 5000, to: 5099 } } },
      env: localEnv,
      expected: settingsWith((s) => {
        s.public.httpsPort = 8443;
        s.public.ftpsPort = 9990;
        s.public.passiveRange = { from: 5000, to: 5099 };
      }),
    },
    {
      desc: 'env overrides the file',
      file: { upstream: { web: { port: 8080 } } },
      env: { ...localEnv, UPSTREAM_WEB_PORT: '8081' },
      expected: settingsWith((s) => {
        s.upstream.web.port = 8081;
        s.public.httpsPort = 8443;
        s.public.ftpsPort = 9990;
      }),
    },
    {
      desc: 'every variable',
      file: undefined,
      env: {
        UPSTREAM_HOST: 'files.internal',
        UPSTREAM_WEB_PORT: '8080',
        UPSTREAM_WEB_ENABLED: 'false',
        UPSTREAM_FTP_PORT: '2121',
        UPSTREAM_FTP_ENABLED: 'true',
        UPSTREAM_PASSIVE_RANGE: '30000-30009',
        PUBLIC_ADDRESS: '203.0.113.7',
        BIND_HOST: '127.0.0.1',
        HTTPS_PORT: '8443',
        FTPS_PORT: '9990',
        EXPLICIT_FTPS_PORT: '9921',
        PASSIVE_OFFSET: '-10000',
        PUBLIC_PASSIVE_RANGE: '5000-5099',
        TLS_MIN_VERSION: 'TLSv1.3',
        ALLOW_CLEAR_DATA: 'yes',
        REQUIRE_SESSION_REUSE: '1',
        HANDSHAKE_TIMEOUT_MS: '5000',
        CONTROL_IDLE_TIMEOUT_MS: '60000',
        DATA_IDLE_TIMEOUT_MS: '30000',
        PASSIVE_LEASE_MS: '15000',
        DRAIN_MS: '0',
        UPSTREAM_KEEPALIVE_MS: '750',
        MAX_COMMAND_LENGTH: '1024',
        MAX_CONNECTIONS_PER_CLIENT: '40',
        MAX_CONNECTIONS_PER_LISTENER: '900',
        MAX_COMMANDS_WITHOUT_TRANSFER: '300',
        LOGIN_DEFENDER_ENABLED: 'no',
        LOGIN_MAX_FAILURES: '8',
        LOGIN_FAILURE_WINDOW_MS: '120000',
        LOGIN_BAN_MS: '30000',
        LOGIN_MAX_BAN_MS: '3600000',
        LOGIN_ALLOW_LIST: '10.0.0.0/8, 192.0.2.7 2001:db8::/32',
        TRUSTED_PROXIES: '172.16.0.0/12',
        UPSTREAM_WEB_PROXY_PROTOCOL: 'v1',
        UPSTREAM_FTP_PROXY_PROTOCOL: '2',
        TUNNEL_ENABLED: 'off',
      },
      expected: {
        upstream: {
          host: 'files.internal',
          web: { enabled: false, port: 8080 },
          ftp: { enabled: true, port: 2121, passiveRange: { from: 30000, to: 30009 } },
        },
        public: {
          address: '203.0.113.7',
          bindHost: '127.0.0.1',
          httpsPort: 8443,
          ftpsPort: 9990,
          explicitFtpsPort: 9921,
          passiveOffset: -10000,
          passiveRange: { from: 5000, to: 5099 },
        },
        tls: { minVersion: 'TLSv1.3', allowClearData: true, requireSessionReuse: true },
        timeouts: { handshakeMs: 5000, controlIdleMs: 60000, dataIdleMs: 30000, passiveLeaseMs: 15000, drainMs: 0, upstreamKeepAliveMs: 750 },
        limits: { maxCommandLength: 1024, maxConnectionsPerClient: 40, maxConnectionsPerListener: 900, maxPassiveLeasesPerClient: 16, maxCommandsWithoutTransfer: 300 },
        loginDefender: { enabled: false, maxFailures: 8, windowMs: 120_000, banMs: 30_000, maxBanMs: 3_600_000, allowList: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'] },
        proxyProtocol: { trustedProxies: ['172.16.0.0/12'], toUpstream: { web: 'v1', ftp: 'v2' } },
        tunnelEnabled: false,
      },
    },
    {
      desc: 'empty PUBLIC_PASSIVE_RANGE and PUBLIC_ADDRESS clear what the file set',
      file: { public: { address: '203.0.113.7', passiveRange: { from: 5000, to: 5099 } } },
      env: { ...localEnv, PUBLIC_PASSIVE_RANGE: '', PUBLIC_ADDRESS: ' ' },
      expected: settingsWith((s) => {
        s.public.httpsPort = 8443;
        s.public.ftpsPort = 9990;
      }),
    },
    {
      desc: 'other empty variables count as unset',
      file: { upstream: { web: { port: 8080 } } },
      env: { ...localEnv, UPSTREAM_WEB_PORT: '', UPSTREAM_HOST: '', TUNNEL_ENABLED: '' },
      expected: settingsWith((s) => {
        s.upstream.web.port = 8080;
        s.public.httpsPort = 8443;
        s.public.ftpsPort = 9990;
      }),
    },
  ])('$desc', ({ file, env, expected }) => {
    expect(settingsOf(settingsFromSources(file, env))).toEqual(expected);
  });

  it('does not modify the shared defaults', () => {
    const before = structuredClone(defaultServerSettings);
    settingsFromSources({ upstream: { web: { port: 8080 } } }, { UPSTREAM_HOST: 'elsewhere' });
    expect(defaultServerSettings).toEqual(before);
  });
});

describe('settingsFromSources: errors', () => {
  it.each<{ desc: string; file: unknown; env: Record<string, string | undefined>; errors: Array<{ field: string; message: RegExp }> }>([
    {
      desc: 'malformed number names the variable',
      file: undefined,
      env: { UPSTREAM_WEB_PORT: 'eighty' },
      errors: [{ field: 'upstream.web.port', message: /^UPSTREAM_WEB_PORT: "eighty" is not a whole number/ }],
    },
    {
      desc: 'malformed range names the variable',
      file: undefined,
      env: { UPSTREAM_PASSIVE_RANGE: '3000:3008' },
      errors: [{ field: 'upstream.ftp.passiveRange', message: /^UPSTREAM_PASSIVE_RANGE: "3000:3008" is not a port range/ }],
    },
    {
      desc: 'malformed boolean names the variable',
      file: undefined,
      env: { TUNNEL_ENABLED: 'sometimes' },
      errors: [{ field: 'tunnelEnabled', message: /^TUNNEL_ENABLED: / }],
    },
    {
      desc: 'unknown TLS version names the variable',
      file: undefined,
      env: { TLS_MIN_VERSION: 'TLSv1.0' },
      errors: [{ field: 'tls.minVersion', message: /^TLS_MIN_VERSION: / }],
    },
    {
      desc: 'every malformed variable is reported',
      file: undefined,
      env: { HTTPS_PORT: 'x', FTPS_PORT: 'y', PUBLIC_PASSIVE_RANGE: 'z' },
      errors: [
        { field: 'public.httpsPort', message: /^HTTPS_PORT/ },
        { field: 'public.ftpsPort', message: /^FTPS_PORT/ },
        { field: 'public.passiveRange', message: /^PUBLIC_PASSIVE_RANGE/ },
      ],
    },
    {
      desc: 'well-formed but out-of-range value is attributed to its variable',
      file: undefined,
      env: { HTTPS_PORT: '70000' },
      errors: [{ field: 'public.httpsPort', message: /port from 1 to 65535 \(set by HTTPS_PORT\)/ }],
    },
    {
      desc: 'reversed range from env is attributed to its variable',
      file: undefined,
      env: { UPSTREAM_PASSIVE_RANGE: '3008-3000' },
      errors: [{ field: 'upstream.ftp.passiveRange', message: /reversed.*\(set by UPSTREAM_PASSIVE_RANGE\)/ }],
    },
    {
      desc: 'cross-field conflict caused by env',
      file: undefined,
      env: { FTPS_PORT: '443' },
      errors: [{ field: 'public.ftpsPort', message: /collides with public\.httpsPort.*\(set by FTPS_PORT\)/ }],
    },
    {
      desc: 'misspelt key in the file',
      file: { public: { httpPort: 8443 } },
      env: {},
      errors: [{ field: 'public.httpPort', message: /unknown setting/ }],
    },
    {
      desc: 'wrong type in the file',
      file: { upstream: { ftp: { passiveRange: '3000-3008' } } },
      env: {},
      errors: [{ field: 'upstream.ftp.passiveRange', message: /must be an object \(got string\)/ }],
    },
    {
      desc: 'file that is not an object',
      file: [1, 2],
      env: {},
      errors: [{ field: '(settings file)', message: /JSON object/ }],
    },
    {
      desc: 'env cannot reach into a section the file broke',
      file: { upstream: { ftp: 5 } },
      env: { UPSTREAM_FTP_PORT: '2121' },
      errors: [{ field: 'upstream.ftp', message: /must be an object \(got number\)/ }],
    },
  ])('$desc', ({ file, env, errors }) => {
    const result = settingsFromSources(file, env);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(errors.length);
    errors.forEach((expected, index) => {
      expect(result.errors[index]?.field).toBe(expected.field);
      expect(result.errors[index]?.message).toMatch(expected.message);
    });
  });
});

describe('loadSettings', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'config-settings-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads SETTINGS_FILE and applies env over it', async () => {
    const path = join(dir, 'settings.json');
    await writeFile(path, JSON.stringify({ upstream: { web: { port: 8080 } }, public: { httpsPort: 8443 } }));
    const settings = settingsOf(await loadSettings({ SETTINGS_FILE: path, FTPS_PORT: '9990' }));
    expect(settings.upstream.web.port).toBe(8080);
    expect(settings.public.httpsPort).toBe(8443);
    expect(settings.public.ftpsPort).toBe(9990);
  });

  it('reports a missing file', async () => {
    const result = await loadSettings({ SETTINGS_FILE: join(dir, 'absent.json') });
    expect(result).toEqual({ ok: false, errors: [{ field: 'SETTINGS_FILE', message: expect.stringMatching(/cannot read .*absent\.json/) }] });
  });

  it('reports malformed JSON', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{ "upstream": ');
    const result = await loadSettings({ SETTINGS_FILE: path });
    expect(result).toEqual({ ok: false, errors: [{ field: 'SETTINGS_FILE', message: expect.stringMatching(/broken\.json is not valid JSON/) }] });
  });
});
