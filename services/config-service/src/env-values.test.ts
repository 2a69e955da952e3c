import { parseBoolean, parseInteger, parsePortRange, parseProxyVersion, parseTlsVersion } from './env-values.js';

describe('parseInteger', () => {
  it.each([
    { desc: 'plain', raw: '8443', expected: { ok: true, value: 8443 } },
    { desc: 'surrounding spaces', raw: ' 21 ', expected: { ok: true, value: 21 } },
    { desc: 'negative', raw: '-1000', expected: { ok: true, value: -1000 } },
    { desc: 'explicit plus', raw: '+5', expected: { ok: true, value: 5 } },
  ])('accepts $desc', ({ raw, expected }) => {
    expect(parseInteger(raw)).toEqual(expected);
  });

  it.each([
    { desc: 'a word', raw: 'eighty' },
    { desc: 'a decimal', raw: '80.5' },
    { desc: 'a unit suffix', raw: '10s' },
    { desc: 'hex', raw: '0x50' },
    { desc: 'too large', raw: '99999999999999999999' },
  ])('rejects $desc', ({ raw }) => {
    expect(parseInteger(raw).ok).toBe(false);
  });
});

describe('parseBoolean', () => {
  it.each([
    { raw: 'true', value: true },
    { raw: 'TRUE', value: true },
    { raw: '1', value: true },
    { raw: 'yes', value: true },
    { raw: 'on', value: true },
    { raw: 'false', value: false },
    { raw: '0', value: false },
    { raw: 'no', value: false },
    { raw: 'Off', value: false },
  ])('reads $raw as $value', ({ raw, value }) => {
    expect(parseBoolean(raw)).toEqual({ ok: true, value });
  });

  it.each(['maybe', 'y', '2', ''])('rejects %j', (raw) => {
    expect(parseBoolean(raw).ok).toBe(false);
  });
});

describe('parsePortRange', () => {
  it.each([
    { desc: 'a range', raw: '3000-3008', value: { from: 3000, to: 3008 } },
    { desc: 'spaces around the dash', raw: '5000 - 5099', value: { from: 5000, to: 5099 } },
    { desc: 'a single port', raw: '4000', value: { from: 4000, to: 4000 } },
    // A reversed range parses; the settings schema reports it with its own message.
    { desc: 'a reversed range', raw: '9-3', value: { from: 9, to: 3 } },
  ])('accepts $desc', ({ raw, value }) => {
    expect(parsePortRange(raw)).toEqual({ ok: true, value });
  });

  it.each(['3000:3008', '3000-', '-3008', 'a-b', '3000-3008-3010', '3000,3001'])('rejects %j', (raw) => {
    expect(parsePortRange(raw).ok).toBe(false);
  });
});

describe('parseTlsVersion', () => {
  it.each([
    { raw: 'TLSv1.2', value: 'TLSv1.2' },
    { raw: 'tlsv1.3', value: 'TLSv1.3' },
    { raw: '1.3', value: 'TLSv1.3' },
    { raw: 'TLS1.2', value: 'TLSv1.2' },
  ])('reads $raw', ({ raw, value }) => {
    expect(parseTlsVersion(raw)).toEqual({ ok: true, value });
  });

  it.each(['TLSv1.1', 'SSLv3', '1.0', 'latest'])('rejects %j', (raw) => {
    expect(parseTlsVersion(raw).ok).toBe(false);
  });
});

describe('parseProxyVersion', () => {
  it.each([
    ['off', 'off'],
    ['', 'off'],
    ['none', 'off'],
    ['V1', 'v1'],
    ['1', 'v1'],
    [' v2 ', 'v2'],
    ['2', 'v2'],
  ])('%j → %s', (raw, value) => {
    expect(parseProxyVersion(raw)).toEqual({ ok: true, value });
  });
  it.each(['v3', 'yes', 'proxy'])('%j is refused, naming the choices', (raw) => {
    expect(parseProxyVersion(raw)).toEqual({ ok: false, message: `"${raw}" is not a PROXY protocol version (use off, v1 or v2)` });
  });
});
