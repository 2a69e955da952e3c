import { consoleSettingsFromEnv } from './config.js';
import { callKind, proxyRoutes, targetPath } from './routes-table.js';
import { cookieValue, roleForSecret } from './sessions.js';
import { delayAfter, SignInThrottle, type ThrottleRules } from './sign-in-throttle.js';
import { consoleBindHost } from './bind-host.js';

const rules: ThrottleRules = { freeFailures: 3, firstDelayMs: 1000, maxDelayMs: 8000, windowMs: 60_000 };

describe('delayAfter', () => {
  it.each([
    { failures: 0, expected: 0 },
    { failures: 2, expected: 0 },
    { failures: 3, expected: 1000 },
    { failures: 4, expected: 2000 },
    { failures: 6, expected: 8000 },
    { failures: 40, expected: 8000 },
  ])('$failures failures: wait $expected ms', ({ failures, expected }) => {
    expect(delayAfter(failures, rules)).toBe(expected);
  });
});

describe('SignInThrottle', () => {
  it('free failures, then waits that double; per address; a success or the window clears them', () => {
    const throttle = new SignInThrottle(rules);
    for (let i = 0; i < 3; i++) {
      expect(throttle.waitMs('a', 0)).toBe(0);
      throttle.failed('a', 0);
    }
    expect(throttle.waitMs('a', 0)).toBe(1000);
    expect(throttle.waitMs('a', 600)).toBe(400);
    expect(throttle.waitMs('b', 0)).toBe(0);
    throttle.failed('a', 1000);
    expect(throttle.waitMs('a', 1000)).toBe(2000);
    expect(throttle.waitMs('a', 1000 + 60_001)).toBe(0);
    throttle.failed('a', 100_000);
    throttle.succeeded('a');
    expect(throttle.waitMs('a', 100_000)).toBe(0);
  });
});

describe('roleForSecret', () => {
  const credentials = { adminToken: 'admin-token-1', operatorToken: 'operator-token-1', adminPassword: 'admin password long', operatorPassword: undefined };
  it.each([
    { desc: 'admin token', secret: 'admin-token-1', expected: { role: 'admin', method: 'token' } },
    { desc: 'operator token', secret: 'operator-token-1', expected: { role: 'operator', method: 'token' } },
    { desc: 'console password', secret: 'admin password long', expected: { role: 'admin', method: 'password' } },
    { desc: 'wrong', secret: 'admin-token-2', expected: undefined },
    { desc: 'a prefix', secret: 'admin-token', expected: undefined },
  ])('$desc', ({ secret, expected }) => {
    expect(roleForSecret(secret, credentials)).toEqual(expected);
  });
  it('an unset secret never matches the empty string', () => {
    expect(roleForSecret('', { adminToken: undefined })).toBeUndefined();
  });
});

describe('cookieValue', () => {
  it.each([
    { header: undefined, expected: undefined },
    { header: 'a=1; __Host-st-console=abc; b=2', expected: 'abc' },
    { header: '__Host-st-console-x=zzz', expected: undefined },
    { header: ' __Host-st-console = abc ', expected: 'abc' },
  ])('$header', ({ header, expected }) => {
    expect(cookieValue(header, '__Host-st-console')).toBe(expected);
  });
});

describe('routes', () => {
  it('every route that is not a GET is a change or a preview, and only the key export is a secret read', () => {
    for (const route of proxyRoutes) {
      if (route.method !== 'GET') expect(['change', 'preview']).toContain(route.kind);
      else expect(route.kind === 'read' || route.path.endsWith('stunnel.cert.key')).toBe(true);
    }
  });
  it('a settings dry run is a preview; the same call without it is a change', () => {
    const patch = proxyRoutes.find((route) => route.method === 'PATCH')!;
    expect(callKind(patch, { dryRun: 'true' })).toBe('preview');
    expect(callKind(patch, {})).toBe('change');
    expect(callKind(patch, { dryRun: 'false' })).toBe('change');
  });
  it('fills parameters URL-encoded', () => {
    expect(targetPath('/certificates/:id/activate', { id: '../x y' })).toBe('/certificates/..%2Fx%20y/activate');
  });
});

describe('consoleSettingsFromEnv and consoleBindHost', () => {
  it('defaults: HTTPS on 7005, loopback, the local services', () => {
    const result = consoleSettingsFromEnv({}, consoleBindHost({}));
    expect(result).toMatchObject({ ok: true, settings: { host: '127.0.0.1', port: 7005, tls: true, configServiceUrl: 'http://127.0.0.1:7001', gatewayHealthUrls: ['http://127.0.0.1:7003'] } });
  });
  it('API_BIND_HOST opens it; CONSOLE_HOST wins', () => {
    expect(consoleBindHost({ API_BIND_HOST: '0.0.0.0' })).toBe('0.0.0.0');
    expect(consoleBindHost({ API_BIND_HOST: '0.0.0.0', CONSOLE_HOST: '10.0.0.2' })).toBe('10.0.0.2');
    expect(() => consoleBindHost({ API_BIND_HOST: 'everywhere' })).toThrow(/API_BIND_HOST/);
  });
  it('every bad value is named', () => {
    const result = consoleSettingsFromEnv({ CONSOLE_PORT: '0', CONSOLE_TLS: 'maybe', LOG_SERVICE_URL: 'ftp://x', GATEWAY_HEALTH_URLS: 'http://a:7003, nope' }, '127.0.0.1');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((line) => line.split(':')[0]).sort()).toEqual(['CONSOLE_PORT', 'CONSOLE_TLS', 'GATEWAY_HEALTH_URLS', 'LOG_SERVICE_URL']);
  });
});
