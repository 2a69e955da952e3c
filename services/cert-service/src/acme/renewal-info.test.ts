import { ariCertificateId, parseRenewalInfo, renewalTimeInWindow, retryAfterMs } from './renewal-info.js';

describe('ARI certificate identifier (RFC 9773 §4.1)', () => {
  it.each([
    // The RFC's own example: keyIdentifier 69:88:5B:…:D4, serial 00:87:65:43:21.
    { aki: '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4', serial: '0087654321', id: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' },
    { desc: 'the leading zero octet put back', aki: '69885b6b87464041e1b37b847ba0ae2cde01c8d4', serial: '87654321', id: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' },
    { desc: 'a serial whose first bit is clear', aki: '0102', serial: '7f01', id: 'AQI.fwE' },
    { desc: 'an odd number of hex digits', aki: '0102', serial: '501', id: 'AQI.BQE' },
  ])('$aki / $serial → $id', ({ aki, serial, id }) => {
    expect(ariCertificateId(aki, serial)).toBe(id);
  });

  it.each([
    { aki: 'zz', serial: '01', message: "the certificate's authority key identifier is not hexadecimal" },
    { aki: '01', serial: '', message: 'the certificate has an empty serial number' },
  ])('refuses $aki / $serial', ({ aki, serial, message }) => {
    expect(() => ariCertificateId(aki, serial)).toThrow(message);
  });
});

describe('the CA\'s renewal information', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  const window = { start: '2027-01-10T00:00:00Z', end: '2027-01-12T00:00:00Z' };
  it.each([
    { desc: 'a window and Retry-After in seconds', body: { suggestedWindow: window }, retryAfter: '21600', checkAgainAt: '2026-12-04T18:00:00.000Z', explanationUrl: null },
    { desc: 'no Retry-After: six hours', body: { suggestedWindow: window }, retryAfter: null, checkAgainAt: '2026-12-04T18:00:00.000Z', explanationUrl: null },
    { desc: 'a Retry-After of a minute: an hour at least', body: { suggestedWindow: window }, retryAfter: '60', checkAgainAt: '2026-12-04T13:00:00.000Z', explanationUrl: null },
    { desc: 'a Retry-After of a week: a day at most', body: { suggestedWindow: window }, retryAfter: '604800', checkAgainAt: '2026-12-05T12:00:00.000Z', explanationUrl: null },
    { desc: 'an explanation page', body: { suggestedWindow: window, explanationURL: 'https://ca.example/incident-7' }, retryAfter: '7200', checkAgainAt: '2026-12-04T14:00:00.000Z', explanationUrl: 'https://ca.example/incident-7' },
    { desc: 'an explanation that is no web address', body: { suggestedWindow: window, explanationURL: 'javascript:alert(1)' }, retryAfter: '7200', checkAgainAt: '2026-12-04T14:00:00.000Z', explanationUrl: null },
  ])('$desc', ({ body, retryAfter, checkAgainAt, explanationUrl }) => {
    const info = parseRenewalInfo(body, retryAfter, now);
    expect(info.window).toEqual({ start: new Date(window.start), end: new Date(window.end) });
    expect(info.checkAgainAt.toISOString()).toBe(checkAgainAt);
    expect(info.explanationUrl).toBe(explanationUrl);
  });

  it.each([
    { desc: 'no window', body: {}, message: "the CA's renewal information has no suggested window with a start and an end" },
    { desc: 'not an object', body: null, message: "the CA's renewal information has no suggested window with a start and an end" },
    { desc: 'a start that is no date', body: { suggestedWindow: { start: 'soon', end: window.end } }, message: 'no suggested window' },
    { desc: 'an end before the start', body: { suggestedWindow: { start: window.end, end: window.start } }, message: "the CA's suggested renewal window ends (2027-01-10T00:00:00.000Z) before it starts (2027-01-12T00:00:00.000Z)" },
  ])('refuses $desc', ({ body, message }) => {
    expect(() => parseRenewalInfo(body, null, now)).toThrow(message);
  });

  it.each([
    { random: 0, at: '2027-01-10T00:00:00.000Z' },
    { random: 0.5, at: '2027-01-11T00:00:00.000Z' },
    { random: 0.999999, at: '2027-01-11T23:59:59.827Z' },
    { random: 7, at: '2027-01-12T00:00:00.000Z' },
  ])('renews at a random moment of the window: $random → $at', ({ random, at }) => {
    expect(renewalTimeInWindow({ start: new Date(window.start), end: new Date(window.end) }, random).toISOString()).toBe(at);
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  it.each([
    { header: '120', ms: 120_000 },
    { header: ' 0 ', ms: 0 },
    { header: 'Fri, 04 Dec 2026 12:05:00 GMT', ms: 300_000 },
    { header: 'Thu, 03 Dec 2026 12:00:00 GMT', ms: 0 },
    { header: '-5', ms: null },
    { header: '1.5', ms: null },
    { header: 'soon', ms: null },
    { header: '', ms: null },
    { header: null, ms: null },
    { header: undefined, ms: null },
  ])('$header → $ms', ({ header, ms }) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
});
