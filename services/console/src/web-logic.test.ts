import { expiryWords, fieldFor, formFromSettings, handshakeAdvice, logQuery, mappingRows, patchFromForm, relatedFields, type SettingsDocument } from '../web/logic';

const settings: SettingsDocument = {
  upstream: { host: '127.0.0.1', web: { enabled: true, port: 80 }, ftp: { enabled: true, port: 21, passiveRange: { from: 3000, to: 3008 } } },
  public: { address: null, bindHost: '0.0.0.0', httpsPort: 443, ftpsPort: 990, explicitFtpsPort: null, passiveOffset: 1000, passiveRange: null },
  tls: { minVersion: 'TLSv1.2', allowClearData: false, requireSessionReuse: false },
  tunnelEnabled: true,
};

describe('mappingRows', () => {
  it('the classic map: 80 → 443, 21 → 990, 3000–3008 → 4000–4008, web first', () => {
    const rows = mappingRows({
      version: 1,
      listeners: [
        { id: 'd', protocol: 'ftp-data', tlsMode: 'implicit', ports: { from: 4000, to: 4008 }, upstream: { host: 'h', ports: { from: 3000, to: 3008 } } },
        { id: 'c', protocol: 'ftp-control', tlsMode: 'implicit', ports: { from: 990, to: 990 }, upstream: { host: 'h', ports: { from: 21, to: 21 } } },
        { id: 'w', protocol: 'http', tlsMode: 'implicit', ports: { from: 443, to: 443 }, upstream: { host: 'h', ports: { from: 80, to: 80 } } },
      ],
    });
    expect(rows.map((row) => `${row.plain} → ${row.secure}`)).toEqual(['80 → 443', '21 → 990', '3000–3008 → 4000–4008']);
  });
  it('no map, no rows', () => {
    expect(mappingRows(null)).toEqual([]);
  });
});

describe('expiryWords', () => {
  it.each([
    { days: 400, state: 'valid', level: 'ok', text: /Valid for 400/ },
    { days: 20, state: 'expiring', level: 'warn', text: /Expires in 20 days/ },
    { days: 1, state: 'expiring', level: 'bad', text: /Expires in 1 day —/ },
    { days: -3, state: 'expired', level: 'bad', text: /Expired 3 days ago/ },
  ])('$days days', ({ days, state, level, text }) => {
    const words = expiryWords(days, state);
    expect(words.level).toBe(level);
    expect(words.text).toMatch(text);
  });
});

describe('handshakeAdvice', () => {
  it.each([
    ['client spoke plain text to a TLS port (wrong protocol or scheme)', /implicit FTP over TLS/],
    ['client rejected our certificate (untrusted issuer or name mismatch)', /trust/],
    ['client offered only TLS versions we do not accept', /minimum TLS version/],
    ['something new', /client's own log/],
  ])('%s', (reason, advice) => {
    expect(handshakeAdvice(reason)).toMatch(advice);
  });
});

describe('settings form', () => {
  it('round-trips the settings into a merge patch', () => {
    const { patch, errors } = patchFromForm(formFromSettings(settings));
    expect(errors).toEqual([]);
    expect(patch).toEqual({ upstream: settings.upstream, public: { ...settings.public }, tls: settings.tls });
  });
  it('a pool replaces the offset; bad numbers are named at their field', () => {
    const form = { ...formFromSettings(settings), passiveMode: 'pool' as const, poolFrom: '5000', poolTo: '5008', ftpsPort: '99999', webPort: '' };
    const { patch, errors } = patchFromForm(form);
    expect((patch.public as { passiveRange: unknown }).passiveRange).toEqual({ from: 5000, to: 5008 });
    expect(errors.map((error) => error.field)).toEqual(['webPort', 'ftpsPort']);
  });
  it.each([
    { text: '', expected: null, errors: [] },
    { text: ' 2121 ', expected: 2121, errors: [] },
    { text: '0', expected: 0, errors: ['explicitFtpsPort'] },
  ])('an explicit FTPS port of "$text" is sent as $expected', ({ text, expected, errors }) => {
    const result = patchFromForm({ ...formFromSettings(settings), explicitFtpsPort: text });
    expect((result.patch.public as { explicitFtpsPort: unknown }).explicitFtpsPort).toBe(expected);
    expect(result.errors.map((error) => error.field)).toEqual(errors);
  });
  it.each([
    { field: 'public.explicitFtpsPort', expected: 'explicitFtpsPort' },
    { field: 'public.ftpsPort', expected: 'ftpsPort' },
    { field: 'public.passiveRange.to', expected: 'poolTo' },
    { field: 'upstream.ftp.passiveRange', expected: 'passiveFrom' },
    { field: 'timeouts.drainMs', expected: undefined },
  ])('$field is shown at $expected', ({ field, expected }) => {
    expect(fieldFor(field)).toBe(expected);
  });
  it('a collision names the other field too', () => {
    expect(relatedFields('FTPS control port 443 collides with public.httpsPort (HTTPS port 443): two public listeners cannot share a port')).toEqual(['public.httpsPort']);
  });
});

it('logQuery leaves out empty filters', () => {
  expect(logQuery({ service: 'tunnel-gateway', level: '', text: ' x ' }, { limit: '100' })).toBe('service=tunnel-gateway&text=x&limit=100');
});
