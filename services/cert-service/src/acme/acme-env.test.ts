import { acmeSettingsFromEnv, checkIdentifier, resolveDirectoryUrl } from './acme-env.js';

describe('ACME settings from the environment', () => {
  it('is off without a directory', () => {
    expect(acmeSettingsFromEnv({})).toEqual({ kind: 'off' });
    expect(acmeSettingsFromEnv({ ACME_DIRECTORY_URL: '  ' })).toEqual({ kind: 'off' });
  });

  it('reads every setting, with tls-alpn-01 and a third of the lifetime as defaults', () => {
    expect(acmeSettingsFromEnv({ ACME_DIRECTORY_URL: 'letsencrypt-staging', ACME_TERMS_AGREED: 'true' })).toEqual({
      kind: 'on',
      settings: { directoryUrl: 'https://acme-staging-v02.api.letsencrypt.org/directory', email: null, challenge: 'tls-alpn-01', extraNames: [], caFile: null, renewDaysBefore: null },
    });
    expect(
      acmeSettingsFromEnv({
        ACME_DIRECTORY_URL: 'https://127.0.0.1:14000/dir',
        ACME_TERMS_AGREED: 'yes',
        ACME_EMAIL: 'ops@files.example.com',
        ACME_CHALLENGE: 'http-01',
        ACME_EXTRA_NAMES: 'www.files.example.com, FTP.files.example.com www.files.example.com',
        ACME_CA_FILE: '/run/pebble.minica.pem',
        ACME_RENEW_DAYS_BEFORE: '20',
      }),
    ).toEqual({
      kind: 'on',
      settings: {
        directoryUrl: 'https://127.0.0.1:14000/dir',
        email: 'ops@files.example.com',
        challenge: 'http-01',
        extraNames: ['www.files.example.com', 'ftp.files.example.com'],
        caFile: '/run/pebble.minica.pem',
        renewDaysBefore: 20,
      },
    });
  });

  it.each([
    [{ ACME_DIRECTORY_URL: 'letsencrypt' }, 'ACME_TERMS_AGREED: set it to true once you have read'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'maybe' }, 'ACME_TERMS_AGREED'],
    [{ ACME_DIRECTORY_URL: 'acme.example', ACME_TERMS_AGREED: 'true' }, 'ACME_DIRECTORY_URL: "acme.example" is not an address'],
    [{ ACME_DIRECTORY_URL: 'http://acme.example/dir', ACME_TERMS_AGREED: 'true' }, 'must be an https address'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', ACME_EMAIL: 'ops' }, 'ACME_EMAIL: "ops" is not an email address'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', ACME_CHALLENGE: 'dns-01' }, 'ACME_CHALLENGE: "dns-01" is not one of tls-alpn-01, http-01'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', ACME_EXTRA_NAMES: '*.files.example.com' }, 'wildcard names need the dns-01 challenge'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', ACME_EXTRA_NAMES: 'bad_name' }, '"bad_name" is not a DNS name'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', ACME_RENEW_DAYS_BEFORE: '0' }, 'ACME_RENEW_DAYS_BEFORE: "0" is not a number of days'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', SERVER_NAME: '192.0.2.10' }, 'ACME_CHALLENGE: 192.0.2.10: an IP address is validated by http-01 only here'],
    [{ ACME_DIRECTORY_URL: 'letsencrypt', ACME_TERMS_AGREED: 'true', ACME_EXTRA_NAMES: '2001:db8::1' }, 'ACME_CHALLENGE: 2001:db8::1: an IP address'],
  ])('%j is refused: %s', (env, message) => {
    const result = acmeSettingsFromEnv(env);
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.problems.join('\n')).toContain(message);
  });

  it.each([
    ['letsencrypt', 'https://acme-v02.api.letsencrypt.org/directory'],
    ['LetsEncrypt-Staging', 'https://acme-staging-v02.api.letsencrypt.org/directory'],
    ['https://ca.internal/acme/directory', 'https://ca.internal/acme/directory'],
    ['http://127.0.0.1:14000/dir', 'http://127.0.0.1:14000/dir'],
    ['http://localhost:14000/dir', 'http://localhost:14000/dir'],
  ])('directory %s is %s', (text, url) => {
    expect(resolveDirectoryUrl(text)).toEqual({ ok: true, url });
  });

  it.each([
    ['files.example.com', null],
    ['192.0.2.10', null],
    ['2001:db8::1', null],
    ['-bad.example.com', '"-bad.example.com" is not a DNS name'],
    ['*.example.com', '"*.example.com": wildcard names need the dns-01 challenge, which the gateway cannot answer'],
  ])('identifier %s: %s', (name, problem) => {
    expect(checkIdentifier(name)).toBe(problem);
  });
});
