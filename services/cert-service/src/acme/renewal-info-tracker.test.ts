import { createLogger } from '@st/logging';
import { ariCertificateId } from './renewal-info.js';
import { certificateIdOf, RenewalInfoTracker, type AcmeGet } from './renewal-info-tracker.js';
import { openssl, TestCa } from '../test-openssl.js';

const ca = new TestCa();
afterAll(() => ca.remove());
const logger = createLogger({ service: 'test', replica: 'test', level: 'silent' });
const directoryUrl = 'https://ca.example/dir';
const renewalInfoUrl = 'https://ca.example/renewal-info';

describe('the ARI identifier of a certificate', () => {
  it('is built from the authority key identifier and serial number openssl reads from it', () => {
    const { certificatePem } = ca.issue({});
    const file = ca.write('ari.pem', certificatePem);
    const serial = openssl(['x509', '-in', file, '-noout', '-serial']).trim().replace(/^serial=/, '');
    const aki = /([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(openssl(['x509', '-in', file, '-noout', '-ext', 'authorityKeyIdentifier']))![1]!;
    // The chain's first certificate counts.
    expect(certificateIdOf(certificatePem + ca.intermediatePem)).toBe(ariCertificateId(aki, serial));
  });

  it('needs an authority key identifier', () => {
    // Self-signed by `x509 -req` without extensions: no authority key identifier.
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.path('bare.key'), '-out', ca.path('bare.csr'), '-subj', '/CN=bare']);
    const bare = openssl(['x509', '-req', '-in', ca.path('bare.csr'), '-key', ca.path('bare.key'), '-days', '1']);
    expect(() => certificateIdOf(bare)).toThrow('the certificate has no authority key identifier, which renewal information needs');
  });
});

/** A CA's answers by URL, and the URLs asked, in order. */
function fakeCa(answers: Record<string, { status: number; data?: unknown; headers?: Record<string, unknown> } | Error>): { get: AcmeGet; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    get: async (url) => {
      asked.push(url);
      const answer = answers[url] ?? { status: 404 };
      if (answer instanceof Error) throw answer;
      return { status: answer.status, data: answer.data ?? null, headers: answer.headers ?? {} };
    },
  };
}

describe('following the CA\'s renewal information', () => {
  const { certificatePem } = ca.issue({});
  const id = certificateIdOf(certificatePem);
  const now = new Date('2026-12-04T12:00:00Z');
  const hours = (n: number) => new Date(now.getTime() + n * 3_600_000);
  const window = { start: '2027-01-10T00:00:00Z', end: '2027-01-12T00:00:00Z' };

  it('asks nothing more of a CA whose directory offers no renewal information', async () => {
    const { get, asked } = fakeCa({ [directoryUrl]: { status: 200, data: { newOrder: 'https://ca.example/new-order' } } });
    const tracker = new RenewalInfoTracker(get, logger);
    expect(await tracker.renewAt(directoryUrl, certificatePem, now)).toBeNull();
    expect(await tracker.renewAt(directoryUrl, certificatePem, hours(5))).toBeNull();
    expect(asked).toEqual([directoryUrl]);
    expect(tracker.status()).toMatchObject({ offered: false, window: null, error: null });
  });

  it('renews at a moment of the suggested window, asks again only after Retry-After, and keeps the moment while the window stays', async () => {
    const answers: Parameters<typeof fakeCa>[0] = {
      [directoryUrl]: { status: 200, data: { renewalInfo: renewalInfoUrl } },
      [`${renewalInfoUrl}/${id}`]: { status: 200, data: { suggestedWindow: window }, headers: { 'retry-after': '7200' } },
    };
    const { get, asked } = fakeCa(answers);
    const tracker = new RenewalInfoTracker(get, logger);
    const first = await tracker.renewAt(directoryUrl, certificatePem, now);
    expect(first!.certificateId).toBe(id);
    expect(first!.at.getTime()).toBeGreaterThanOrEqual(new Date(window.start).getTime());
    expect(first!.at.getTime()).toBeLessThan(new Date(window.end).getTime());
    // Within the two hours: from memory.
    expect(await tracker.renewAt(directoryUrl, certificatePem, hours(1))).toEqual(first);
    expect(asked).toEqual([directoryUrl, `${renewalInfoUrl}/${id}`]);
    // After them: asked again; the same window keeps the moment chosen.
    expect(await tracker.renewAt(directoryUrl, certificatePem, hours(3))).toEqual(first);
    expect(asked).toHaveLength(3);
    // The CA moves the window forward (it will revoke the certificate): a moment of the new window.
    answers[`${renewalInfoUrl}/${id}`] = { status: 200, data: { suggestedWindow: { start: '2026-12-04T00:00:00Z', end: '2026-12-04T06:00:00Z' }, explanationURL: 'https://ca.example/incident' } };
    const moved = await tracker.renewAt(directoryUrl, certificatePem, hours(6));
    expect(moved!.at.getTime()).toBeLessThan(now.getTime());
    expect(tracker.status()).toMatchObject({ offered: true, window: { start: '2026-12-04T00:00:00.000Z', end: '2026-12-04T06:00:00.000Z' }, explanationUrl: 'https://ca.example/incident', error: null });
  });

  it.each([
    { desc: 'the CA answers 500', answer: { status: 500 }, error: "the CA answered HTTP 500 for the certificate's renewal information" },
    { desc: 'the CA sends no window', answer: { status: 200, data: {} }, error: "the CA's renewal information has no suggested window with a start and an end" },
    { desc: 'the CA cannot be reached', answer: new Error('connect ECONNREFUSED 192.0.2.1:443'), error: 'connect ECONNREFUSED 192.0.2.1:443' },
  ])('falls back to the lifetime rule when $desc, and asks again an hour later', async ({ answer, error }) => {
    const { get, asked } = fakeCa({ [directoryUrl]: { status: 200, data: { renewalInfo: renewalInfoUrl } }, [`${renewalInfoUrl}/${id}`]: answer });
    const tracker = new RenewalInfoTracker(get, logger);
    expect(await tracker.renewAt(directoryUrl, certificatePem, now)).toBeNull();
    expect(tracker.status().error).toBe(error);
    expect(await tracker.renewAt(directoryUrl, certificatePem, hours(0.5))).toBeNull();
    expect(asked).toHaveLength(2);
    await tracker.renewAt(directoryUrl, certificatePem, hours(1.5));
    expect(asked).toHaveLength(3);
  });

  it('falls back to the lifetime rule when the directory cannot be read', async () => {
    const { get } = fakeCa({ [directoryUrl]: new Error('getaddrinfo ENOTFOUND ca.example') });
    const tracker = new RenewalInfoTracker(get, logger);
    expect(await tracker.renewAt(directoryUrl, certificatePem, now)).toBeNull();
    expect(tracker.status()).toMatchObject({ offered: null, error: 'getaddrinfo ENOTFOUND ca.example' });
  });
});

describe('a change of CA while the renewal information is asked for', () => {
  it('drops the old CA\'s answer instead of storing it for the new one', async () => {
    const { certificatePem } = ca.issue({});
    const id = certificateIdOf(certificatePem);
    let answer: (value: { status: number; data: unknown; headers: Record<string, unknown> }) => void = () => undefined;
    const get: AcmeGet = async (url) => {
      if (url === directoryUrl) return { status: 200, data: { renewalInfo: renewalInfoUrl }, headers: {} };
      return new Promise((resolve) => (answer = resolve));
    };
    const tracker = new RenewalInfoTracker(get, logger);
    const asked = tracker.renewAt(directoryUrl, certificatePem, new Date('2026-12-04T12:00:00Z'));
    await new Promise((resolve) => setImmediate(resolve));
    tracker.forget();
    answer({ status: 200, data: { suggestedWindow: { start: '2027-01-10T00:00:00Z', end: '2027-01-12T00:00:00Z' } }, headers: {} });
    expect(await asked).toBeNull();
    expect(tracker.status()).toEqual({ offered: null, window: null, explanationUrl: null, renewAt: null, checkAgainAt: null, error: null });
    expect(id).toContain('.');
  });
});

describe('a directory answer that is no directory', () => {
  it('is an error asked again later, not a CA without renewal information', async () => {
    const { certificatePem } = ca.issue({});
    const { get, asked } = fakeCa({ [directoryUrl]: { status: 200, data: null } });
    const tracker = new RenewalInfoTracker(get, logger);
    const now = new Date('2026-12-04T12:00:00Z');
    expect(await tracker.renewAt(directoryUrl, certificatePem, now)).toBeNull();
    expect(tracker.status()).toMatchObject({ offered: null, error: 'the ACME directory https://ca.example/dir did not answer with a directory' });
    await tracker.renewAt(directoryUrl, certificatePem, new Date(now.getTime() + 2 * 3_600_000));
    expect(asked).toEqual([directoryUrl, directoryUrl]);
  });
});
