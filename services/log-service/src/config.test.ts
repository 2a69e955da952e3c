import { defaults, parseBytes, parseMs, settingsFromEnv } from './config.js';

describe('settingsFromEnv', () => {
  it('uses the defaults', () => {
    const result = settingsFromEnv({});
    expect(result).toEqual({
      ok: true,
      settings: {
        host: '127.0.0.1',
        port: 7004,
        dbPath: defaults.dbPath,
        sync: 'NORMAL',
        amqp: { url: defaults.amqpUrl, exchange: 'st.logs', queue: 'st.logs.store' },
        retention: { maxAgeMs: 7 * 86_400_000, maxBytes: 1024 ** 3, intervalMs: 60_000 },
      },
    });
  });

  it('binds loopback by default; API_BIND_HOST opens it, LOG_SERVICE_HOST overrides both', () => {
    const host = (env: Record<string, string>) => {
      const result = settingsFromEnv(env);
      return result.ok ? result.settings.host : result.errors;
    };
    expect(host({})).toBe('127.0.0.1');
    expect(host({ API_BIND_HOST: '0.0.0.0' })).toBe('0.0.0.0');
    expect(host({ API_BIND_HOST: '0.0.0.0', LOG_SERVICE_HOST: '10.1.2.3' })).toBe('10.1.2.3');
    expect(host({ API_BIND_HOST: 'anywhere' })).toEqual(['API_BIND_HOST: "anywhere" is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every address)']);
  });

  it('reads every variable', () => {
    const result = settingsFromEnv({
      LOG_SERVICE_HOST: '127.0.0.1',
      LOG_SERVICE_PORT: '7100',
      LOG_DB_PATH: '/var/lib/logs.db',
      LOG_DB_SYNC: 'full',
      AMQP_URL: 'amqp://rabbit',
      LOG_EXCHANGE: 'x',
      LOG_QUEUE: 'q',
      LOG_RETENTION_MAX_AGE: '30d',
      LOG_RETENTION_MAX_BYTES: '500MB',
      LOG_RETENTION_INTERVAL: '10000',
    });
    expect(result).toEqual({
      ok: true,
      settings: {
        host: '127.0.0.1',
        port: 7100,
        dbPath: '/var/lib/logs.db',
        sync: 'FULL',
        amqp: { url: 'amqp://rabbit', exchange: 'x', queue: 'q' },
        retention: { maxAgeMs: 30 * 86_400_000, maxBytes: 500_000_000, intervalMs: 10_000 },
      },
    });
  });

  it('names every bad variable', () => {
    const result = settingsFromEnv({ LOG_SERVICE_PORT: '70000', LOG_RETENTION_MAX_AGE: 'forever', LOG_RETENTION_MAX_BYTES: '10', LOG_DB_SYNC: 'off' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((error) => error.split(':')[0]).sort()).toEqual(['LOG_DB_SYNC', 'LOG_RETENTION_MAX_AGE', 'LOG_RETENTION_MAX_BYTES', 'LOG_SERVICE_PORT']);
    }
  });
});

describe('units', () => {
  it.each([
    ['1073741824', 1073741824],
    ['500MB', 500_000_000],
    ['1GiB', 1024 ** 3],
    ['2 mib', 2 * 1024 ** 2],
    ['1TB', undefined],
    ['lots', undefined],
  ])('bytes %p → %p', (text, expected) => {
    expect(parseBytes(text)).toBe(expected);
  });

  it.each([
    ['60000', 60_000],
    ['7d', 604_800_000],
    ['12h', 43_200_000],
    ['soon', undefined],
  ])('duration %p → %p', (text, expected) => {
    expect(parseMs(text)).toBe(expected);
  });
});
