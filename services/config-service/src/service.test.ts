import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import { apiPath, changeCommentHeader, configApi, healthApi, portMapSchema, routingKeys, serverSettingsSchema, type ServerSettings } from '@st/contracts';
import { createEventSubscriber, type BusMessage, type EventSubscriber } from '@st/bus';
import { waitUntil } from '@st/service-kit';
import { apiClient, capturingLogger, snapshotDir } from '@st/test-kit';
import { createConfigService, parseIfMatch, type ConfigService, type ConfigServiceConfig } from './service.js';
import { settingsStorePaths } from './settings-store.js';
import { settingsWith, unprivileged } from './test-settings.js';

jest.setTimeout(30_000);

const amqpUrl = process.env.AMQP_URL?.trim() || 'amqp://guest:guest@127.0.0.1:5672';
const adminToken = 'admin-token-for-tests';
const serviceToken = 'service-token-for-tests';
const seed = settingsWith(unprivileged);
const pinnedNow = () => new Date('2025-01-01T00:00:00Z');
/** No test depends on the machine's resolver: only this name "does not resolve". */
const resolveHost = async (host: string) => {
  if (host === 'nowhere.invalid') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'config-api-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A service over its own data directory; returns its API client. */
async function started(overrides: Partial<ConfigServiceConfig> = {}) {
  const log = capturingLogger('config-service-test');
  const config: ConfigServiceConfig = {
    seed,
    dataDir: join(root, randomBytes(4).toString('hex')),
    host: '127.0.0.1',
    port: 0,
    adminToken,
    serviceToken,
    logger: log.logger,
    now: pinnedNow,
    resolveHost,
    ...overrides,
  };
  const service = createConfigService(config);
  const { url } = await service.start();
  return { service, config, log, api: apiClient(() => url, adminToken) };
}

describe('config-service API: reading', () => {
  let service: ConfigService;
  let api: Awaited<ReturnType<typeof started>>['api'];

  beforeAll(async () => {
    ({ service, api } = await started());
  });
  afterAll(async () => {
    await service.stop();
  });

  it.each([
    { desc: 'port map without a token', method: 'GET', path: configApi.portMap, token: null, status: 401, code: 'UNAUTHENTICATED' },
    { desc: 'port map with a wrong token', method: 'GET', path: configApi.portMap, token: 'not-the-token', status: 403, code: 'FORBIDDEN' },
    { desc: 'settings without a token', method: 'GET', path: configApi.settings, token: null, status: 401, code: 'UNAUTHENTICATED' },
    { desc: 'settings with the service token (admin only)', method: 'GET', path: configApi.settings, token: serviceToken, status: 403, code: 'FORBIDDEN' },
    { desc: 'a PUT with the service token', method: 'PUT', path: configApi.settings, token: serviceToken, status: 403, code: 'FORBIDDEN' },
    { desc: 'a PATCH without a token', method: 'PATCH', path: configApi.settings, token: null, status: 401, code: 'UNAUTHENTICATED' },
    { desc: 'the history with the service token', method: 'GET', path: configApi.settingsVersions, token: serviceToken, status: 403, code: 'FORBIDDEN' },
    { desc: 'a rollback with the service token', method: 'POST', path: configApi.rollback, token: serviceToken, status: 403, code: 'FORBIDDEN' },
    { desc: 'an unknown route', method: 'GET', path: '/nope', token: adminToken, status: 404, code: 'NOT_FOUND' },
  ])('refuses $desc with $status', async ({ method, path, token, status, code }) => {
    const reply = await api(method, path, method === 'GET' ? undefined : {}, token);
    expect(reply.status).toBe(status);
    expect(reply.json).toEqual({ error: expect.objectContaining({ code }) });
  });

  it.each([
    { desc: 'service token', token: serviceToken },
    { desc: 'admin token', token: adminToken },
  ])('serves the port map to the $desc, versioned like the settings', async ({ token }) => {
    const reply = await api('GET', configApi.portMap, undefined, token);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('etag')).toBe('"1"');
    const portMap = portMapSchema.parse(reply.json);
    expect(portMap.version).toBe(1);
    expect(portMap.generatedAt).toBe('2025-01-01T00:00:00.000Z');
    expect(portMap.listeners.map((listener) => [listener.id, listener.ports])).toEqual([
      ['https', { from: 8443, to: 8443 }],
      ['ftps-control', { from: 9990, to: 9990 }],
      ['ftps-data', { from: 4000, to: 4008 }],
    ]);
  });

  it('serves the current settings with their version to the admin token', async () => {
    const reply = await api('GET', configApi.settings);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('etag')).toBe('"1"');
    expect(reply.json).toMatchObject({ version: 1, source: 'seed', createdAt: '2025-01-01T00:00:00.000Z', changes: [], restoredFrom: null, warnings: [] });
    expect(serverSettingsSchema.parse(reply.json.settings)).toEqual(seed);
  });

  it('renders the equivalent stunnel configuration as text, or with its warnings as JSON', async () => {
    const text = await api('GET', `${configApi.stunnelConfig}?certFile=/srv/tls/stunnel.cert`);
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.headers.get('x-settings-version')).toBe('1');
    expect(text.text).toMatch(/^cert = \/srv\/tls\/stunnel\.cert$/m);
    expect(text.text).toMatch(/^key = \/etc\/stunnel\/stunnel\.cert\.key$/m);
    expect(text.text).toMatch(/^accept = 0\.0\.0\.0:9990$/m);
    const json = await api('GET', configApi.stunnelConfig, undefined, adminToken, { headers: { accept: 'application/json' } });
    expect(json.json).toMatchObject({ version: 1, text: expect.stringContaining('[ftps]'), warnings: expect.arrayContaining([expect.objectContaining({ code: 'passive-announcement' })]) });
    for (const path of ['/a;b', 'relative/key.pem', '/a\nb']) {
      const bad = await api('GET', `${configApi.stunnelConfig}?keyFile=${encodeURIComponent(path)}`);
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/keyFile must be an absolute path/);
    }
  });

  it('lists the public ports and renders firewall rules in each format', async () => {
    const ports = await api('GET', configApi.publicPorts);
    expect(ports.json).toMatchObject({ version: 1, tunnelEnabled: true });
    expect(ports.json.ports.map((port: { ports: unknown }) => port.ports)).toEqual([
      { from: 8443, to: 8443 },
      { from: 9990, to: 9990 },
      { from: 4000, to: 4008 },
    ]);
    const nft = await api('GET', configApi.firewallRules);
    expect(nft.text).toMatch(/tcp dport \{ 8443, 9990, 4000-4008 \}|4000-4008/);
    expect(nft.text).toContain('table inet secure_transfers');
    expect((await api('GET', `${configApi.firewallRules}?format=iptables`)).text).toContain('--dport 4000:4008');
    expect((await api('GET', `${configApi.firewallRules}?format=iptables&family=ipv6`)).text).toMatch(/ip6tables|ipv6/i);
    expect((await api('GET', `${configApi.firewallRules}?format=ufw`)).text).toContain('ufw allow');
    expect((await api('GET', `${configApi.firewallRules}?format=pf`)).status).toBe(400);
    expect((await api('GET', `${configApi.firewallRules}?format=iptables&family=ipx`)).status).toBe(400);
  });

  it.each([
    { path: healthApi.live, body: { status: 'ok' } },
    { path: healthApi.ready, body: { status: 'ready', settingsVersion: 1, bus: 'not-configured', warnings: 0, gateways: { applied: 0, failed: 0, pending: 0 } } },
  ])('answers $path without a token', async ({ path, body }) => {
    const reply = await api('GET', path, undefined, null);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual(body);
  });
});

describe('config-service API: changing the settings', () => {
  let service: ConfigService;
  let api: Awaited<ReturnType<typeof started>>['api'];
  let config: ConfigServiceConfig;
  const current = async () => (await api('GET', configApi.settings)).json as { version: number; settings: ServerSettings };

  beforeAll(async () => {
    ({ service, api, config } = await started());
  });
  afterAll(async () => {
    await service.stop();
  });

  it('PATCH stores a new version, says what changed, and the port map follows', async () => {
    const reply = await api('PATCH', configApi.settings, { public: { ftpsPort: 9991 }, upstream: { ftp: { passiveRange: { from: 3000, to: 3004 } } } }, adminToken, {
      contentType: 'application/merge-patch+json',
      headers: { [changeCommentHeader]: 'move FTPS' },
    });
    expect(reply.status).toBe(201);
    expect(reply.headers.get('etag')).toBe('"2"');
    expect(reply.headers.get('location')).toBe('/settings/versions/2');
    expect(reply.json).toMatchObject({
      outcome: 'created',
      version: 2,
      source: 'patch',
      comment: 'move FTPS',
      changes: [
        { field: 'upstream.ftp.passiveRange', from: { from: 3000, to: 3008 }, to: { from: 3000, to: 3004 } },
        { field: 'public.ftpsPort', from: 9990, to: 9991 },
      ],
    });
    const portMap = portMapSchema.parse((await api('GET', configApi.portMap, undefined, serviceToken)).json);
    expect(portMap.version).toBe(2);
    expect(portMap.listeners.map((listener) => listener.ports)).toEqual([
      { from: 8443, to: 8443 },
      { from: 9991, to: 9991 },
      { from: 4000, to: 4004 },
    ]);
  });

  it('the ufw rendering deletes the rules of the ports the change moved away from', async () => {
    const ufw = (await api('GET', `${configApi.firewallRules}?format=ufw`)).text.split('\n').filter((line: string) => line.startsWith('ufw '));
    expect(ufw).toEqual([
      "ufw delete allow proto tcp to any port 9990 comment 'secure-transfers ftps-control'",
      "ufw delete allow proto tcp to any port 4000:4008 comment 'secure-transfers ftps-data'",
      "ufw allow proto tcp to any port 8443 comment 'secure-transfers https'",
      "ufw allow proto tcp to any port 9991 comment 'secure-transfers ftps-control'",
      "ufw allow proto tcp to any port 4000:4004 comment 'secure-transfers ftps-data'",
    ]);
  });

  it('PUT replaces the whole document; the same document again stores nothing', async () => {
    const settings = (await current()).settings;
    settings.tls.minVersion = 'TLSv1.3';
    const first = await api('PUT', configApi.settings, settings);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ outcome: 'created', version: 3, changes: [{ field: 'tls.minVersion', from: 'TLSv1.2', to: 'TLSv1.3' }] });
    const again = await api('PUT', configApi.settings, settings);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ outcome: 'unchanged', version: 3 });
    expect((await current()).version).toBe(3);
  });

  it.each([
    {
      desc: 'two listeners on one port',
      patch: { public: { ftpsPort: 8443 } },
      fields: ['public.ftpsPort'],
      message: /collides with public\.httpsPort/,
    },
    {
      desc: 'an offset pushing the passive range past 65535',
      patch: { public: { passiveOffset: 63000 } },
      fields: ['public.passiveOffset'],
      message: /past 65535/,
    },
    {
      desc: 'a reversed range',
      patch: { upstream: { ftp: { passiveRange: { from: 3008, to: 3000 } } } },
      fields: ['upstream.ftp.passiveRange'],
      message: /reversed/,
    },
    {
      desc: 'a port out of range',
      patch: { public: { httpsPort: 70000 } },
      fields: ['public.httpsPort'],
      message: /from 1 to 65535/,
    },
    {
      desc: 'a misspelt field',
      patch: { public: { ftpsPrt: 9000 } },
      fields: ['public.ftpsPrt'],
      message: /not a setting/,
    },
    {
      desc: 'a removed required field (null in a merge patch)',
      patch: { tunnelEnabled: null },
      fields: ['tunnelEnabled'],
      message: /required/,
    },
    {
      desc: 'a removed upstream keep time (null in a merge patch; only stored versions older than the setting get its default)',
      patch: { timeouts: { upstreamKeepAliveMs: null } },
      fields: ['timeouts.upstreamKeepAliveMs'],
      message: /required/,
    },
  ])('refuses $desc with 422 naming the field, and changes nothing', async ({ patch, fields, message }) => {
    const before = await snapshotDir(config.dataDir);
    const reply = await api('PATCH', configApi.settings, patch);
    expect(reply.status).toBe(422);
    expect(reply.json.error.code).toBe('INVALID_SETTINGS');
    expect(reply.json.error.details.errors.map((problem: { field: string }) => problem.field)).toEqual(fields);
    expect(reply.json.error.message).toMatch(message);
    expect(await snapshotDir(config.dataDir)).toEqual(before);
    expect((await current()).version).toBe(3);
  });

  it.each([
    { desc: 'malformed JSON', body: '{"public":', contentType: 'application/json', status: 400 },
    { desc: 'a JSON array', body: '[1,2]', contentType: 'application/json', status: 400 },
    { desc: 'a body that is not JSON (415: the type says so)', body: 'tunnelEnabled=false', contentType: 'text/plain', status: 415 },
    { desc: 'an oversized body', body: JSON.stringify({ comment: 'x'.repeat(70 * 1024) }), contentType: 'application/json', status: 413 },
  ])('refuses $desc with $status', async ({ body, contentType, status }) => {
    const reply = await api('PATCH', configApi.settings, body, adminToken, { contentType });
    expect(reply.status).toBe(status);
    expect(reply.json.error.message).toEqual(expect.any(String));
    expect((await current()).version).toBe(3);
  });

  it('If-Match with an older version is a conflict (412); with the current one the change goes through', async () => {
    const stale = await api('PATCH', configApi.settings, { timeouts: { drainMs: 1000 } }, adminToken, { headers: { 'if-match': '"2"' } });
    expect(stale.status).toBe(412);
    expect(stale.json.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: 3 } });
    const fresh = await api('PATCH', configApi.settings, { timeouts: { drainMs: 1000 } }, adminToken, { headers: { 'if-match': '"3"' } });
    expect(fresh.status).toBe(201);
    expect(fresh.json.version).toBe(4);
  });

  it('a dry run validates and shows the port map without storing anything', async () => {
    const before = await snapshotDir(config.dataDir);
    const reply = await api('PATCH', `${configApi.settings}?dryRun=true`, { public: { httpsPort: 9443 } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ outcome: 'dry-run', version: 5, changes: [{ field: 'public.httpsPort', from: 8443, to: 9443 }] });
    expect(reply.json.portMap.listeners[0].ports).toEqual({ from: 9443, to: 9443 });
    expect(await snapshotDir(config.dataDir)).toEqual(before);
    expect((await current()).version).toBe(4);
  });

  it('warns (without refusing) about an unresolvable upstream host and privileged ports', async () => {
    const reply = await api('PATCH', configApi.settings, { upstream: { host: 'nowhere.invalid' }, public: { httpsPort: 443 } });
    expect(reply.status).toBe(201);
    expect(reply.json.warnings).toEqual([
      { field: 'public.httpsPort', message: expect.stringMatching(/privileged/) },
      { field: 'upstream.host', message: expect.stringMatching(/"nowhere\.invalid" does not resolve .*ENOTFOUND/) },
    ]);
    expect((await api('GET', configApi.settings)).json.warnings).toHaveLength(2);
  });

  it('lists versions newest first and serves each one', async () => {
    const list = await api('GET', `${configApi.settingsVersions}?limit=3`);
    expect(list.status).toBe(200);
    expect(list.json.current).toBe(5);
    expect(list.json.versions.map((entry: { version: number; source: string }) => [entry.version, entry.source])).toEqual([
      [5, 'patch'],
      [4, 'patch'],
      [3, 'put'],
    ]);
    expect(list.json.versions[0].settings).toBeUndefined();
    const older = await api('GET', `${configApi.settingsVersions}?before=3`);
    expect(older.json.versions.map((entry: { version: number }) => entry.version)).toEqual([2, 1]);
    const one = await api('GET', apiPath(configApi.settingsVersion, { version: '2' }));
    expect(one.status).toBe(200);
    expect(one.json.settings.public.ftpsPort).toBe(9991);
    expect((await api('GET', apiPath(configApi.settingsVersion, { version: '99' }))).status).toBe(404);
    expect((await api('GET', apiPath(configApi.settingsVersion, { version: 'x' }))).status).toBe(400);
    expect((await api('GET', `${configApi.settingsVersions}?limit=0`)).status).toBe(400);
  });

  it('rolls back by storing a new version with the old settings', async () => {
    const reply = await api('POST', configApi.rollback, { version: 1, comment: 'back to the start' });
    expect(reply.status).toBe(201);
    expect(reply.json).toMatchObject({ outcome: 'created', version: 6, source: 'rollback', restoredFrom: 1, comment: 'back to the start' });
    expect(serverSettingsSchema.parse(reply.json.settings)).toEqual(seed);
    expect((await api('GET', configApi.portMap, undefined, serviceToken)).json.version).toBe(6);
    expect((await api('POST', configApi.rollback, { version: 1 })).json.outcome).toBe('unchanged');
    expect((await api('POST', configApi.rollback, { version: 42 })).status).toBe(404);
    expect((await api('POST', configApi.rollback, { version: '1' })).status).toBe(400);
  });

  it('keeps one file per version, private to the service', async () => {
    const paths = settingsStorePaths(config.dataDir);
    expect((await readdir(paths.versions)).sort()).toEqual(['000001.json', '000002.json', '000003.json', '000004.json', '000005.json', '000006.json']);
    const snapshot = await snapshotDir(config.dataDir);
    for (const entry of Object.values(snapshot)) expect(entry.endsWith(' 600')).toBe(true);
  });
});

describe('config-service: concurrent changes', () => {
  it('patches arriving together all land, one version each, none undoing another', async () => {
    const { service, api } = await started();
    const current = async () => (await api('GET', configApi.settings)).json as { version: number; settings: ServerSettings };
    const before = (await current()).version;
    const patches = [
      { timeouts: { handshakeMs: 11_000 } },
      { timeouts: { controlIdleMs: 310_000 } },
      { timeouts: { dataIdleMs: 130_000 } },
      { timeouts: { passiveLeaseMs: 61_000 } },
      { limits: { maxCommandLength: 2048 } },
    ];
    const replies = await Promise.all(patches.map((patch) => api('PATCH', configApi.settings, patch)));
    expect(replies.map((reply) => reply.status)).toEqual([201, 201, 201, 201, 201]);
    expect(replies.map((reply) => reply.json.version).sort()).toEqual([1, 2, 3, 4, 5].map((n) => before + n));
    const after = await current();
    expect(after.settings.timeouts).toMatchObject({ handshakeMs: 11_000, controlIdleMs: 310_000, dataIdleMs: 130_000, passiveLeaseMs: 61_000 });
    expect(after.settings.limits.maxCommandLength).toBe(2048);
    await service.stop();
  });

});

describe('config-service: merge patch and nullable settings', () => {
  it('null in a patch clears a nullable setting (a pool back to offset mode) and removes nothing else', async () => {
    const { service, api } = await started();
    try {
      expect((await api('PATCH', configApi.settings, { public: { passiveRange: { from: 5000, to: 5008 } } })).status).toBe(201);
      const back = await api('PATCH', configApi.settings, { public: { passiveRange: null, address: null } });
      expect(back.status).toBe(201);
      expect(back.json.settings.public).toMatchObject({ passiveRange: null, address: null, ftpsPort: 9990 });
      expect(back.json.portMap.passive).toEqual({ mode: 'offset', offset: 1000 });
      const removed = await api('PATCH', configApi.settings, { public: { ftpsPort: null } });
      expect(removed.status).toBe(422);
      expect(removed.json.error.details.errors).toEqual([{ field: 'public.ftpsPort', message: 'is required' }]);
      const polluting = await api('PATCH', configApi.settings, '{"__proto__": {"tunnelEnabled": false}}');
      expect(polluting.status).toBe(422);
      expect(polluting.json.error.details.errors[0].field).toBe('__proto__');
    } finally {
      await service.stop();
    }
  });
});

describe('config-service: history across restarts', () => {
  it('keeps every version across a restart and serves the latest', async () => {
    const first = await started();
    await first.api('PATCH', configApi.settings, { public: { ftpsPort: 9995 } });
    await first.service.stop();
    const second = await started({ dataDir: first.config.dataDir });
    try {
      const reply = await second.api('GET', configApi.settings);
      expect(reply.json.version).toBe(2);
      expect(reply.json.settings.public.ftpsPort).toBe(9995);
      expect((await second.api('GET', configApi.settingsVersions)).json.versions).toHaveLength(2);
    } finally {
      await second.service.stop();
    }
  });

  it('carries a changed setting from the environment onto the current version, keeping API changes', async () => {
    const first = await started();
    await first.api('PATCH', configApi.settings, { public: { ftpsPort: 9995 } });
    await first.service.stop();
    const changedSeed = settingsWith((settings) => {
      unprivileged(settings);
      settings.public.httpsPort = 9443;
    });
    const second = await started({ dataDir: first.config.dataDir, seed: changedSeed });
    try {
      const reply = await second.api('GET', configApi.settings);
      expect(reply.json).toMatchObject({ version: 3, source: 'seed', changes: [{ field: 'public.httpsPort', from: 8443, to: 9443 }] });
      expect(reply.json.settings.public.ftpsPort).toBe(9995);
    } finally {
      await second.service.stop();
    }
    // The same seed again is not a change.
    const third = await started({ dataDir: first.config.dataDir, seed: changedSeed });
    expect((await third.api('GET', configApi.settings)).json.version).toBe(3);
    await third.service.stop();
  });

  it('keeps the current version when the environment change is invalid on top of it', async () => {
    const first = await started();
    await first.api('PATCH', configApi.settings, { public: { ftpsPort: 9443 } });
    await first.service.stop();
    const collidingSeed = settingsWith((settings) => {
      unprivileged(settings);
      settings.public.httpsPort = 9443;
    });
    const second = await started({ dataDir: first.config.dataDir, seed: collidingSeed });
    try {
      expect((await second.api('GET', configApi.settings)).json).toMatchObject({ version: 2, settings: { public: { httpsPort: 8443, ftpsPort: 9443 } } });
      expect(second.log.records().some((record) => String(record.msg).includes('keeping the current version'))).toBe(true);
    } finally {
      await second.service.stop();
    }
  });

  it('refuses to start over a damaged history, naming the file', async () => {
    const first = await started();
    await first.service.stop();
    await writeFile(settingsStorePaths(first.config.dataDir).version(2), '{"version": 2');
    const second = createConfigService({ ...first.config });
    await expect(second.start()).rejects.toThrow(/000002\.json is not valid JSON/);
  });
});

describe('config-service: events', () => {
  const exchange = `st.events.test.${randomBytes(4).toString('hex')}`;
  const events: BusMessage[] = [];
  let subscriber: EventSubscriber;

  beforeAll(async () => {
    subscriber = createEventSubscriber({
      url: amqpUrl,
      logger: capturingLogger('test-gateway').logger,
      name: 'test-gateway',
      exchange,
      bindings: [routingKeys.configUpdated],
      onMessage: (message) => void events.push(message),
    });
    await subscriber.whenConnected();
  });
  afterAll(async () => {
    await subscriber?.close();
    const connection = await amqpConnect(amqpUrl);
    await (await connection.createChannel()).deleteExchange(exchange);
    await connection.close();
  });

  it('announces the current version at start and each new version, never a refused one', async () => {
    const { service, api } = await started({ amqpUrl, eventsExchange: exchange });
    try {
      await waitUntil(() => events.length >= 1, 10_000, 'start-up announcement');
      expect((await api('GET', healthApi.ready, undefined, null)).json.bus).toBe('connected');
      await api('PATCH', configApi.settings, { public: { ftpsPort: 9996 } });
      expect((await api('PATCH', configApi.settings, { public: { ftpsPort: 8443 } })).status).toBe(422);
      await api('PATCH', configApi.settings, { tunnelEnabled: false });
      await waitUntil(() => events.length >= 3, 10_000, 'two change announcements');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(events.map((event) => [event.routingKey, event.body])).toEqual([
        [routingKeys.configUpdated, { version: 1 }],
        [routingKeys.configUpdated, { version: 2 }],
        [routingKeys.configUpdated, { version: 3 }],
      ]);
    } finally {
      await service.stop();
    }
  });
});

describe('createConfigService', () => {
  it('refuses invalid seed settings, listing every problem', () => {
    const settings = settingsWith((s) => {
      s.public.ftpsPort = s.public.httpsPort;
      s.public.passiveOffset = 70000;
    });
    expect(() => createConfigService({ seed: settings, dataDir: join(root, 'never'), host: '127.0.0.1', port: 0, adminToken, logger: capturingLogger('x').logger })).toThrow(
      /invalid server settings:\n {2}public\.passiveOffset: .*past 65535\n {2}public\.ftpsPort: .*collides/,
    );
  });

  it('stops cleanly when stopped twice or never started', async () => {
    const service = createConfigService({ seed, dataDir: join(root, 'twice'), host: '127.0.0.1', port: 0, adminToken, logger: capturingLogger('x').logger, resolveHost });
    await service.stop();
    await service.start();
    await service.stop();
    await service.stop();
  });
});

describe('parseIfMatch', () => {
  it.each([
    { header: undefined, version: undefined },
    { header: '*', version: undefined },
    { header: '"7"', version: 7 },
    { header: 'W/"7"', version: 7 },
    { header: '7', version: 7 },
  ])('$header → $version', ({ header, version }) => {
    expect(parseIfMatch(header)).toBe(version);
  });

  it.each(['"a"', '"1", "2"', ''])('refuses %j', (header) => {
    expect(() => parseIfMatch(header)).toThrow(/If-Match must name one settings version/);
  });
});
