import { configApi, healthApi, portMapSchema, serverSettingsSchema } from '@st/contracts';
import { createLogger } from '@st/logging';
import { createConfigService, type ConfigService } from './service.js';
import { settingsWith, unprivileged } from './test-settings.js';

const adminToken = 'admin-token-for-tests';
const serviceToken = 'service-token-for-tests';
const logger = createLogger({ service: 'config-service-test', level: 'silent' });

function get(url: string, token?: string): Promise<Response> {
  return fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe('config-service HTTP API', () => {
  let service: ConfigService;
  let url: string;

  beforeAll(async () => {
    service = createConfigService({
      settings: settingsWith(unprivileged),
      host: '127.0.0.1',
      port: 0,
      adminToken,
      serviceToken,
      logger,
      now: () => new Date('2025-01-01T00:00:00Z'),
    });
    ({ url } = await service.start());
  });

  afterAll(async () => {
    await service.stop();
  });

  it.each([
    { desc: 'no token', path: configApi.portMap, token: undefined, status: 401, code: 'UNAUTHENTICATED' },
    { desc: 'wrong token', path: configApi.portMap, token: 'not-the-token', status: 403, code: 'FORBIDDEN' },
    { desc: 'settings without a token', path: configApi.settings, token: undefined, status: 401, code: 'UNAUTHENTICATED' },
    { desc: 'settings with the service token (admin only)', path: configApi.settings, token: serviceToken, status: 403, code: 'FORBIDDEN' },
    { desc: 'unknown route', path: '/nope', token: adminToken, status: 404, code: 'NOT_FOUND' },
  ])('refuses $desc with $status', async ({ path, token, status, code }) => {
    const response = await get(`${url}${path}`, token);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: expect.objectContaining({ code }) });
  });

  it.each([
    { desc: 'service token', token: serviceToken },
    { desc: 'admin token', token: adminToken },
  ])('serves the port map to the $desc', async ({ token }) => {
    const response = await get(`${url}${configApi.portMap}`, token);
    expect(response.status).toBe(200);
    const portMap = portMapSchema.parse(await response.json());
    expect(portMap.version).toBe(1);
    expect(portMap.generatedAt).toBe('2025-01-01T00:00:00.000Z');
    expect(portMap.listeners.map((listener) => [listener.id, listener.ports])).toEqual([
      ['https', { from: 8443, to: 8443 }],
      ['ftps-control', { from: 9990, to: 9990 }],
      ['ftps-data', { from: 4000, to: 4008 }],
    ]);
  });

  it('serves the settings to the admin token', async () => {
    const response = await get(`${url}${configApi.settings}`, adminToken);
    expect(response.status).toBe(200);
    expect(serverSettingsSchema.parse(await response.json())).toEqual(settingsWith(unprivileged));
  });

  it.each([
    { path: healthApi.live, status: 'ok' },
    { path: healthApi.ready, status: 'ready' },
  ])('answers $path without a token', async ({ path, status }) => {
    const response = await get(`${url}${path}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status });
  });
});

describe('createConfigService', () => {
  it('refuses invalid settings, listing every problem', () => {
    const settings = settingsWith((s) => {
      s.public.ftpsPort = s.public.httpsPort;
      s.public.passiveOffset = 70000;
    });
    expect(() => createConfigService({ settings, host: '127.0.0.1', port: 0, adminToken, logger })).toThrow(
      /invalid server settings:\n {2}public\.passiveOffset: .*past 65535\n {2}public\.ftpsPort: .*collides/,
    );
  });

  it('stops cleanly when stopped twice or never started', async () => {
    const service = createConfigService({ settings: settingsWith(unprivileged), host: '127.0.0.1', port: 0, adminToken, logger });
    await service.stop();
    await service.start();
    await service.stop();
    await service.stop();
  });
});
