import { createHash, X509Certificate } from 'node:crypto';
import { certificateCoversName, checkKeyMatchesCertificate, describeCertificate, summarizeCertificate } from './certificate-info.js';
import { materialFor } from './test-material.js';

describe('describeCertificate', () => {
  it('reports fingerprint, names and validity as ISO strings', async () => {
    const { certificatePem } = await materialFor('files.example.test');
    const info = describeCertificate(certificatePem);
    const der = new X509Certificate(certificatePem).raw;
    const expectedFingerprint = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    expect(info).toEqual({
      fingerprintSha256: expectedFingerprint,
      subject: 'CN=files.example.test',
      issuer: 'CN=files.example.test',
      subjectAltName: 'DNS:files.example.test',
      serialNumber: expect.stringMatching(/^[0-9A-F]+$/),
      notBefore: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
    });
    expect(summarizeCertificate('some-id', certificatePem)).toEqual({
      id: 'some-id',
      fingerprintSha256: info.fingerprintSha256,
      subject: info.subject,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
    });
  });

  it.each([
    { desc: 'garbage', pem: 'not a certificate' },
    { desc: 'a private key', pem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' },
  ])('refuses $desc with INVALID_CERTIFICATE', ({ pem }) => {
    expect(() => describeCertificate(pem)).toThrow(expect.objectContaining({ code: 'INVALID_CERTIFICATE' }));
  });
});

describe('checkKeyMatchesCertificate', () => {
  it.each([
    { desc: 'its own key', certificateOf: 'files.example.test', keyOf: 'files.example.test', matches: true },
    { desc: 'another key', certificateOf: 'files.example.test', keyOf: '127.0.0.1', matches: false },
  ])('$desc → $matches', async ({ certificateOf, keyOf, matches }) => {
    const { certificatePem } = await materialFor(certificateOf);
    const { privateKeyPem } = await materialFor(keyOf);
    expect(checkKeyMatchesCertificate(certificatePem, privateKeyPem)).toBe(matches);
  });

  it('refuses an unreadable key with INVALID_KEY and without echoing it', async () => {
    const { certificatePem } = await materialFor('files.example.test');
    const secretLooking = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVl\n-----END PRIVATE KEY-----\n';
    let caught: Error | undefined;
    try {
      checkKeyMatchesCertificate(certificatePem, secretLooking);
    } catch (error) {
      caught = error as Error;
    }
    expect(caught).toMatchObject({ code: 'INVALID_KEY' });
    expect(caught?.message).not.toContain('c2VjcmV0LXZhbHVl');
  });
});

describe('certificateCoversName', () => {
  it.each([
    { serverName: 'files.example.test', name: 'files.example.test', covers: true },
    { serverName: 'files.example.test', name: 'FILES.example.test', covers: true },
    { serverName: 'files.example.test', name: 'other.example.test', covers: false },
    { serverName: 'files.example.test', name: '127.0.0.1', covers: false },
    { serverName: '127.0.0.1', name: '127.0.0.1', covers: true },
    { serverName: '127.0.0.1', name: '127.0.0.2', covers: false },
    { serverName: '127.0.0.1', name: 'localhost', covers: false },
  ])('certificate for $serverName covers $name: $covers', async ({ serverName, name, covers }) => {
    const { certificatePem } = await materialFor(serverName);
    expect(certificateCoversName(certificatePem, name)).toBe(covers);
  });
});
