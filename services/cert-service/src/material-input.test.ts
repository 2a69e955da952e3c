import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LoadCertificateRequest } from '@st/contracts';
import { decodeMaterial } from './material-input.js';
import { opensslBinary, openssl, TestCa } from './test-openssl.js';

describe('decodeMaterial', () => {
  let ca: TestCa;
  let leaf: { certificatePem: string; privateKeyPem: string };
  let ecKeyPem: string;
  let ecCertificatePem: string;
  const p12 = (args: string[]) => opensslBinary(['pkcs12', '-export', ...args]).toString('base64');

  beforeAll(() => {
    ca = new TestCa();
    const issued = ca.issue({ subject: '/CN=files.example.test' });
    leaf = { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem! };
    ecKeyPem = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    ecCertificatePem = ca.issue({ csrPem: openssl(['req', '-new', '-key', ca.write('ec.key', ecKeyPem), '-subj', '/CN=ec.example.test']) }).certificatePem;
    ca.write('leaf.pem', leaf.certificatePem);
    ca.write('leaf.key', leaf.privateKeyPem);
    ca.write('ec.pem', ecCertificatePem);
    ca.write('chain.pem', ca.intermediatePem);
  });
  afterAll(() => ca.remove());

  const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

  it('reads a combined PEM (key, intermediate and leaf in one text, any order)', () => {
    const decoded = decodeMaterial({ certificate: `${leaf.privateKeyPem}${ca.intermediatePem}\n${leaf.certificatePem}` });
    expect(decoded.findings).toEqual([]);
    expect(decoded.certificates.map((entry) => entry.certificate.fingerprint256)).toEqual([fingerprint(ca.intermediatePem), fingerprint(leaf.certificatePem)]);
    expect(decoded.certificates[0]!.label).toMatch(/^certificate block 2 \(CERTIFICATE, lines \d+-\d+\)$/);
    expect(decoded.key?.key.equals(createPrivateKey(leaf.privateKeyPem))).toBe(true);
  });

  it('reads base64 DER for the certificate, the chain items and the key', () => {
    const der = (pem: string) => new X509Certificate(pem).raw.toString('base64');
    const keyDer = createPrivateKey(leaf.privateKeyPem).export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const rsaDer = createPrivateKey(leaf.privateKeyPem).export({ type: 'pkcs1', format: 'der' }).toString('base64');
    for (const key of [keyDer, rsaDer]) {
      const decoded = decodeMaterial({ certificate: der(leaf.certificatePem), chain: [der(ca.intermediatePem)], key });
      expect(decoded.findings).toEqual([]);
      expect(decoded.certificates).toHaveLength(2);
      expect(decoded.key?.key.equals(createPrivateKey(leaf.privateKeyPem))).toBe(true);
    }
  });

  it.each([
    { desc: 'modern (AES, PBKDF2)', args: () => ['-in', ca.path('leaf.pem'), '-inkey', ca.path('leaf.key'), '-certfile', ca.path('chain.pem'), '-passout', 'pass:secret'], keyPem: () => leaf.privateKeyPem, certificates: 2 },
    { desc: 'legacy (3DES, RC2)', args: () => ['-legacy', '-in', ca.path('leaf.pem'), '-inkey', ca.path('leaf.key'), '-passout', 'pass:secret'], keyPem: () => leaf.privateKeyPem, certificates: 1 },
    { desc: 'ECDSA', args: () => ['-in', ca.path('ec.pem'), '-inkey', ca.path('ec.key'), '-passout', 'pass:secret'], keyPem: () => ecKeyPem, certificates: 1 },
  ])('reads a PKCS#12 file: $desc', ({ args, keyPem, certificates }) => {
    const decoded = decodeMaterial({ pkcs12: p12(args()), pkcs12Password: 'secret' });
    expect(decoded.findings).toEqual([]);
    expect(decoded.certificates).toHaveLength(certificates);
    expect(decoded.key?.key.equals(createPrivateKey(keyPem()))).toBe(true);
  });

  it.each([
    { desc: 'PKCS#8, AES-256', convert: () => openssl(['pkcs8', '-topk8', '-in', ca.path('leaf.key'), '-v2', 'aes-256-cbc', '-passout', 'pass:open sesame']) },
    { desc: 'traditional RSA with DEK-Info', convert: () => openssl(['rsa', '-in', ca.path('leaf.key'), '-aes256', '-traditional', '-passout', 'pass:open sesame']) },
  ])('reads an encrypted PEM key with its passphrase: $desc', ({ convert }) => {
    const key = convert();
    expect(key).toMatch(/ENCRYPTED/);
    const decoded = decodeMaterial({ certificate: leaf.certificatePem, key, keyPassphrase: 'open sesame' });
    expect(decoded.findings).toEqual([]);
    expect(decoded.key?.key.equals(createPrivateKey(leaf.privateKeyPem))).toBe(true);
  });

  const encryptedKey = () => openssl(['pkcs8', '-topk8', '-in', ca.path('leaf.key'), '-v2', 'aes-256-cbc', '-passout', 'pass:open sesame']);
  it.each<{ desc: string; request: () => LoadCertificateRequest; code: string; message: RegExp }>([
    { desc: 'an encrypted key without passphrase', request: () => ({ certificate: leaf.certificatePem, key: encryptedKey() }), code: 'KEY_PASSPHRASE_REQUIRED', message: /key block 1 \(ENCRYPTED PRIVATE KEY, lines 1-\d+\): the private key is encrypted; give its passphrase/ },
    { desc: 'a wrong passphrase', request: () => ({ certificate: leaf.certificatePem, key: encryptedKey(), keyPassphrase: 'wrong' }), code: 'KEY_PASSPHRASE_WRONG', message: /the passphrase does not decrypt/ },
    { desc: 'a wrong PKCS#12 password', request: () => ({ pkcs12: p12(['-in', ca.path('leaf.pem'), '-inkey', ca.path('leaf.key'), '-passout', 'pass:secret']), pkcs12Password: 'nope' }), code: 'PKCS12_PASSWORD_WRONG', message: /password is wrong/ },
    { desc: 'a PKCS#12 that is not one', request: () => ({ pkcs12: Buffer.from('hello').toString('base64') }), code: 'PARSE_ERROR', message: /not a readable PKCS#12 file/ },
    { desc: 'a CSR instead of the certificate', request: () => ({ certificate: readFileSync(ca.path('intermediate.csr'), 'utf8') }), code: 'PARSE_ERROR', message: /certificate block 1 \(CERTIFICATE REQUEST, lines 1-\d+\): this is a CSR, not a certificate/ },
    { desc: 'a damaged certificate block', request: () => ({ certificate: `${leaf.certificatePem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n` }), code: 'PARSE_ERROR', message: /certificate block 2 \(CERTIFICATE, lines \d+-\d+\): not a valid X\.509 certificate/ },
    { desc: 'a broken line in the chain', request: () => ({ certificate: leaf.certificatePem, chain: ca.intermediatePem.replace(/\n(.{10})/, '\n$1%') }), code: 'PARSE_ERROR', message: /^chain: line 2: not base64, in block 1 \(CERTIFICATE, starting at line 1\)$/ },
    { desc: 'text that is neither PEM nor base64', request: () => ({ certificate: 'this is my certificate' }), code: 'PARSE_ERROR', message: /neither PEM .* nor a base64-encoded DER certificate$/ },
    { desc: 'a public key instead of a private one', request: () => ({ certificate: leaf.certificatePem, key: createPrivateKey(leaf.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString().replace(/RSA PRIVATE/g, 'PUBLIC') }), code: 'PARSE_ERROR', message: /a PUBLIC KEY is neither a certificate nor a private key/ },
    { desc: 'two different keys', request: () => ({ certificate: `${leaf.certificatePem}${ecKeyPem}`, key: leaf.privateKeyPem }), code: 'MULTIPLE_KEYS', message: /more than one private key was given \(certificate block 2 .*, key block 1/ },
  ])('refuses $desc with $code', ({ request, code, message }) => {
    const decoded = decodeMaterial(request());
    expect(decoded.findings).toEqual([expect.objectContaining({ code, severity: 'error', message: expect.stringMatching(message) })]);
  });
});
