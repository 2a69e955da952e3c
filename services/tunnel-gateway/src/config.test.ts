import { gatewaySettingsFromEnv } from './config.js';
import type { GatewayEnv } from './env.js';

const env = (vars: Record<string, string | undefined>, secrets: GatewayEnv['secrets'] = { serviceToken: 'service-token' }, secretProblems: string[] = []): GatewayEnv => ({
  vars,
  secrets,
  secretProblems,
});

describe('gatewaySettingsFromEnv', () => {
  it('uses the defaults', () => {
    expect(gatewaySettingsFromEnv(env({}), 'host-1', 8)).toEqual({
      ok: true,
      settings: {
        replica: 'host-1',
        redisUrl: 'redis://127.0.0.1:6379',
        redisPrefix: 'st:',
        cacheDir: './.data/tunnel-gateway',
        state: { kind: 'services', configServiceUrl: 'http://127.0.0.1:7001', certServiceUrl: 'http://127.0.0.1:7002', token: 'service-token' },
        health: { host: '127.0.0.1', port: 7003 },
        // One worker process per CPU.
        workers: 8,
        stopDrainMs: 20_000,
        ticketRotationMs: 3_600_000,
        refreshIntervalMs: 60_000,
        heartbeatMs: 15_000,
      },
    });
  });

  it('reads every variable', () => {
    const result = gatewaySettingsFromEnv(
      env(
        {
          REPLICA_ID: 'gw-2',
          REDIS_URL: 'redis://redis:6379',
          REDIS_PREFIX: 'prod:',
          GATEWAY_CACHE_DIR: '/var/cache/gw',
          CONFIG_SERVICE_URL: 'http://config:7001',
          CERT_SERVICE_URL: 'http://cert:7002',
          GATEWAY_HEALTH_HOST: '127.0.0.1',
          GATEWAY_HEALTH_PORT: '7100',
          GATEWAY_BIND_HOST: '192.0.2.10',
          GATEWAY_HTTP: 'redirect',
          GATEWAY_HTTP_PORT: '8080',
          GATEWAY_WORKERS: '4',
          GATEWAY_STOP_DRAIN_MS: '60000',
          GATEWAY_REFRESH_INTERVAL_MS: '5000',
          GATEWAY_HEARTBEAT_MS: '20000',
          TLS_TICKET_ROTATION_MS: '7200000',
          AMQP_URL: 'amqp://guest:guest@rabbit:5672',
          EVENTS_EXCHANGE: 'st.events.prod',
        },
        { serviceToken: 't', ticketKeys: 'ab'.repeat(48) },
      ),
    );
    expect(result).toEqual({
      ok: true,
      settings: {
        replica: 'gw-2',
        redisUrl: 'redis://redis:6379',
        redisPrefix: 'prod:',
        cacheDir: '/var/cache/gw',
        state: { kind: 'services', configServiceUrl: 'http://config:7001', certServiceUrl: 'http://cert:7002', token: 't' },
        health: { host: '127.0.0.1', port: 7100 },
        bindHost: '192.0.2.10',
        plainHttp: { port: 8080, mode: 'redirect' },
        workers: 4,
        stopDrainMs: 60_000,
        ticketKeys: Buffer.from('ab'.repeat(48), 'hex'),
        ticketRotationMs: 7_200_000,
        refreshIntervalMs: 5000,
        heartbeatMs: 20_000,
        amqpUrl: 'amqp://guest:guest@rabbit:5672',
        eventsExchange: 'st.events.prod',
      },
    });
  });

  it.each([
    { desc: 'loopback unless told otherwise', vars: {}, host: '127.0.0.1' },
    { desc: 'API_BIND_HOST opens it (compose)', vars: { API_BIND_HOST: '0.0.0.0' }, host: '0.0.0.0' },
    { desc: 'GATEWAY_HEALTH_HOST wins over API_BIND_HOST', vars: { API_BIND_HOST: '0.0.0.0', GATEWAY_HEALTH_HOST: '10.0.0.2' }, host: '10.0.0.2' },
  ])('health address: $desc', ({ vars, host }) => {
    expect(gatewaySettingsFromEnv(env(vars))).toMatchObject({ ok: true, settings: { health: { host } } });
  });

  it('replica: REPLICA_ID, else the host name', () => {
    expect(gatewaySettingsFromEnv(env({ REPLICA_ID: ' gw-7 ' }), 'host-1')).toMatchObject({ settings: { replica: 'gw-7' } });
    expect(gatewaySettingsFromEnv(env({ REPLICA_ID: '' }), 'host-1')).toMatchObject({ settings: { replica: 'host-1' } });
  });

  it('standalone from files', () => {
    const result = gatewaySettingsFromEnv(env({ GATEWAY_PORT_MAP_FILE: '/m.json', GATEWAY_CERT_FILE: '/c.pem', GATEWAY_KEY_FILE: '/k.pem' }, {}));
    expect(result).toMatchObject({ ok: true, settings: { state: { kind: 'files', portMapFile: '/m.json', certFile: '/c.pem', keyFile: '/k.pem' } } });
  });

  it.each([
    { vars: { GATEWAY_HTTP: 'redirect' }, plainHttp: { port: 80, mode: 'redirect' } },
    { vars: { GATEWAY_HTTP: 'pass', GATEWAY_HTTP_PORT: '8080' }, plainHttp: { port: 8080, mode: 'pass' } },
    { vars: { GATEWAY_HTTP: 'off' }, plainHttp: undefined },
  ])('reads the plain HTTP port from $vars', ({ vars, plainHttp }) => {
    const result = gatewaySettingsFromEnv(env(vars));
    expect(result.ok ? result.settings.plainHttp : result.errors).toEqual(plainHttp);
  });

  it.each([
    { desc: 'a port past 65535', vars: { GATEWAY_HEALTH_PORT: '70000' }, problem: /^GATEWAY_HEALTH_PORT: "70000" is not a whole number in 0\.\.65535$/ },
    { desc: 'a port that is not a number', vars: { GATEWAY_HEALTH_PORT: '80a' }, problem: /^GATEWAY_HEALTH_PORT/ },
    { desc: 'a negative port', vars: { GATEWAY_HEALTH_PORT: '-1' }, problem: /^GATEWAY_HEALTH_PORT/ },
    { desc: 'a refresh interval of 0', vars: { GATEWAY_REFRESH_INTERVAL_MS: '0' }, problem: /^GATEWAY_REFRESH_INTERVAL_MS/ },
    { desc: 'a Redis URL of another scheme', vars: { REDIS_URL: 'http://redis:6379' }, problem: /^REDIS_URL: "http:\/\/redis:6379" is not a redis or rediss URL$/ },
    { desc: 'a config-service URL that is no URL', vars: { CONFIG_SERVICE_URL: 'config:7001:x' }, problem: /^CONFIG_SERVICE_URL/ },
    { desc: 'an AMQP URL of another scheme', vars: { AMQP_URL: 'redis://x' }, problem: /^AMQP_URL/ },
    { desc: 'a health address that is no IP address', vars: { GATEWAY_HEALTH_HOST: 'gateway.example' }, problem: /^GATEWAY_HEALTH_HOST: "gateway.example" is not an IP address/ },
    { desc: 'no worker process', vars: { GATEWAY_WORKERS: '0' }, problem: /^GATEWAY_WORKERS: "0" is not a whole number in 1\.\.256$/ },
    { desc: 'a bind address that is no IP address', vars: { GATEWAY_BIND_HOST: 'eth0' }, problem: /^GATEWAY_BIND_HOST: "eth0" is not an IP address$/ },
    { desc: 'a plain HTTP mode that does not exist', vars: { GATEWAY_HTTP: 'forward' }, problem: /^GATEWAY_HTTP: "forward" is not one of off, redirect, pass$/ },
    { desc: 'a plain HTTP port past 65535', vars: { GATEWAY_HTTP: 'redirect', GATEWAY_HTTP_PORT: '70000' }, problem: /^GATEWAY_HTTP_PORT: "70000" is not a whole number in 0\.\.65535$/ },
    { desc: 'a plain HTTP port while the port is off', vars: { GATEWAY_HTTP_PORT: '80' }, problem: /^GATEWAY_HTTP_PORT is set but GATEWAY_HTTP is off/ },
    { desc: 'an API_BIND_HOST that is no IP address', vars: { API_BIND_HOST: 'all' }, problem: /^API_BIND_HOST: "all" is not an IP address/ },
    { desc: 'a heartbeat under a second', vars: { GATEWAY_HEARTBEAT_MS: '10' }, problem: /^GATEWAY_HEARTBEAT_MS/ },
    { desc: 'ticket keys rotating faster than a ticket lives', vars: { TLS_TICKET_ROTATION_MS: '60000' }, problem: /^TLS_TICKET_ROTATION_MS: "60000" is not a whole number in 600000\.\.604800000/ },
    { desc: 'files without the certificate', vars: { GATEWAY_PORT_MAP_FILE: '/m.json' }, problem: /needs GATEWAY_CERT_FILE and GATEWAY_KEY_FILE/ },
  ])('refuses $desc', ({ vars, problem }) => {
    const result = gatewaySettingsFromEnv(env(vars));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([expect.stringMatching(problem)]);
  });

  it('refuses ticket keys of the wrong length, and no token', () => {
    const result = gatewaySettingsFromEnv(env({}, { ticketKeys: 'abcd' }));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual([
        expect.stringMatching(/^SERVICE_TOKEN \(or SERVICE_TOKEN_FILE\) must be set/),
        expect.stringMatching(/^TLS_TICKET_KEYS: must be 96 hex digits/),
      ]);
    }
  });

  it('collects every problem at once, unreadable secret files included', () => {
    const result = gatewaySettingsFromEnv(
      env({ GATEWAY_HEALTH_PORT: '70000', GATEWAY_REFRESH_INTERVAL_MS: 'soon', REDIS_URL: 'nope' }, { serviceToken: 't' }, ['TLS_TICKET_KEYS_FILE: cannot be read (ENOENT)']),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((error) => error.split(':')[0]).sort()).toEqual(['GATEWAY_HEALTH_PORT', 'GATEWAY_REFRESH_INTERVAL_MS', 'REDIS_URL', 'TLS_TICKET_KEYS_FILE']);
  });
});
