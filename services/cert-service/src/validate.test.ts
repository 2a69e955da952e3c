import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { findingCatalogue } from './findings.js';
import { openssl, TestCa } from './test-openssl.js';
import { validateMaterial, type LabelledCertificate } from './validate.js';

const day = 24 * 60 * 60 * 1000;

describe('validateMaterial', () => {
  let ca: TestCa;
  let leaf: { certificatePem: string; privateKeyPem?: string };
  let weak: { certificatePem: string; privateKeyPem?: string };
  let clientOnly: { certificatePem: string; privateKeyPem?: string };
  let otherKey: KeyObject;
  let selfSigned: { certificatePem: string; key: KeyObject };
  /** Self-signed certificates with keys the gateway cannot serve to common clients. */
  const otherKinds: Record<string, { certificatePem: string; key: KeyObject }> = {};
  let now = new Date();

  beforeAll(() => {
    ca = new TestCa();
    leaf = ca.issue({ subject: '/CN=files.example.test', sans: ['DNS:files.example.test', 'IP:127.0.0.1'], days: 40 });
    weak = ca.issue({ subject: '/CN=files.example.test', rsaBits: 1024 });
    clientOnly = ca.issue({ subject: '/CN=files.example.test', extendedKeyUsage: 'clientAuth' });
    otherKey = createPrivateKey(openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']));
    const selfKeyPem = openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const selfPem = openssl(['req', '-x509', '-new', '-key', ca.write('self.key', selfKeyPem), '-subj', '/CN=files.example.test', '-days', '40', '-addext', 'subjectAltName=DNS:files.example.test']);
    selfSigned = { certificatePem: selfPem, key: createPrivateKey(selfKeyPem) };
    const dsaParams = ca.write('dsa.params', openssl(['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:2048']));
    for (const [name, args] of Object.entries({
      ed25519: ['-algorithm', 'ED25519'],
      dsa: ['-paramfile', dsaParams],
      p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
      rsaPss: ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'],
    })) {
      const keyPem = openssl(['genpkey', ...args]);
      const pem = openssl(['req', '-x509', '-new', '-key', ca.write(`${name}.key`, keyPem), '-subj', '/CN=files.example.test', '-days', '40', '-addext', 'subjectAltName=DNS:files.example.test']);
      otherKinds[name] = { certificatePem: pem, key: createPrivateKey(keyPem) };
    }
    now = new Date();
  });
  afterAll(() => ca.remove());

  const cert = (label: string, pem: string): LabelledCertificate => ({ label, certificate: new X509Certificate(pem) });
  const leafKey = () => createPrivateKey(leaf.privateKeyPem!);

  /** One row per case the issue lists: what is given, and the codes expected (errors reject, warnings report). */
  const cases: Array<{
    desc: string;
    input: () => { certificates: LabelledCertificate[]; key: KeyObject | null; serverNames?: string[]; now?: Date; trustedRoots?: X509Certificate[] };
    codes: string[];
    chain?: () => string[];
  }> = [
    {
      desc: 'leaf then intermediate, with its key: clean',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey() }),
      codes: [],
      chain: () => [leaf.certificatePem, ca.intermediatePem],
    },
    {
      desc: 'leaf, intermediate and root: clean, root kept last',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem), cert('root', ca.rootPem)], key: leafKey() }),
      codes: [],
      chain: () => [leaf.certificatePem, ca.intermediatePem, ca.rootPem],
    },
    {
      desc: 'root, leaf, intermediate: reordered and said so',
      input: () => ({ certificates: [cert('root', ca.rootPem), cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey() }),
      codes: ['CHAIN_REORDERED'],
      chain: () => [leaf.certificatePem, ca.intermediatePem, ca.rootPem],
    },
    {
      desc: 'the same leaf twice: not worth a word',
      input: () => ({ certificates: [cert('a', leaf.certificatePem), cert('b', leaf.certificatePem), cert('c', ca.intermediatePem)], key: leafKey() }),
      codes: [],
    },
    {
      desc: 'leaf without its intermediate',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem)], key: leafKey() }),
      codes: ['INTERMEDIATE_MISSING'],
    },
    {
      desc: 'leaf alone, issued directly by a root clients trust',
      input: () => ({ certificates: [cert('leaf', ca.issue({ signer: 'root', csrPem: openssl(['req', '-new', '-key', ca.write('leaf.key', leaf.privateKeyPem!), '-subj', '/CN=files.example.test']) }).certificatePem)], key: leafKey(), trustedRoots: [new X509Certificate(ca.rootPem)] }),
      codes: [],
    },
    {
      desc: 'an intermediate with the right name that did not sign the leaf',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('chain block 1', ca.intermediateBPem)], key: leafKey() }),
      codes: ['INTERMEDIATE_NOT_ISSUER'],
    },
    {
      desc: 'an unrelated certificate in the chain',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem), cert('stray', selfSigned.certificatePem)], key: leafKey() }),
      codes: ['INTERMEDIATE_NOT_ISSUER'],
    },
    {
      desc: 'an unrelated certificate instead of the intermediate',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', selfSigned.certificatePem)], key: leafKey() }),
      codes: ['INTERMEDIATE_NOT_ISSUER', 'INTERMEDIATE_MISSING'],
    },
    {
      desc: 'a key that belongs to another certificate',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: otherKey }),
      codes: ['KEY_MISMATCH'],
    },
    {
      desc: 'no key at all',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: null }),
      codes: ['NO_KEY'],
    },
    {
      desc: 'no certificate',
      input: () => ({ certificates: [], key: leafKey() }),
      codes: ['NO_CERTIFICATE'],
    },
    {
      desc: 'expired (checked 41 days on)',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey(), now: new Date(now.getTime() + 41 * day) }),
      codes: ['EXPIRED'],
    },
    {
      desc: 'not yet valid (checked a day before)',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey(), now: new Date(now.getTime() - day) }),
      codes: ['NOT_YET_VALID', 'NOT_YET_VALID'],
    },
    {
      desc: 'expiring within 30 days',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey(), now: new Date(now.getTime() + 20 * day) }),
      codes: ['EXPIRES_SOON'],
    },
    {
      desc: 'the server name is not covered',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey(), serverNames: ['other.example.test'] }),
      codes: ['NAME_NOT_COVERED'],
    },
    {
      desc: 'the server name is covered by an IP SAN',
      input: () => ({ certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', ca.intermediatePem)], key: leafKey(), serverNames: ['127.0.0.1'] }),
      codes: [],
    },
    {
      desc: 'an RSA key below 2048 bits',
      input: () => ({ certificates: [cert('leaf', weak.certificatePem), cert('intermediate', ca.intermediatePem)], key: createPrivateKey(weak.privateKeyPem!) }),
      codes: ['KEY_TOO_SMALL'],
    },
    {
      desc: 'a certificate for clients only',
      input: () => ({ certificates: [cert('leaf', clientOnly.certificatePem), cert('intermediate', ca.intermediatePem)], key: createPrivateKey(clientOnly.privateKeyPem!) }),
      codes: ['NOT_FOR_SERVER_AUTH'],
    },
    {
      desc: 'self-signed',
      input: () => ({ certificates: [cert('leaf', selfSigned.certificatePem)], key: selfSigned.key }),
      codes: ['SELF_SIGNED'],
    },
    ...['ed25519', 'dsa', 'p521', 'rsaPss'].map((name) => ({
      desc: `a key the gateway cannot serve: ${name}`,
      input: () => ({ certificates: [cert('leaf', otherKinds[name]!.certificatePem)], key: otherKinds[name]!.key }),
      codes: ['SELF_SIGNED', 'KEY_TYPE_UNSUPPORTED'],
    })),
  ];

  it.each(cases)('$desc → $codes', ({ input, codes, chain }) => {
    const given = input();
    const result = validateMaterial({ serverNames: ['files.example.test'], now, ...given });
    expect(result.findings.map((item) => item.code)).toEqual(codes);
    for (const item of result.findings) expect(item.severity).toBe(findingCatalogue[item.code as keyof typeof findingCatalogue]);
    expect(result.ok).toBe(!result.findings.some((item) => item.severity === 'error'));
    if (chain) expect(result.chain.map((certificate) => certificate.fingerprint256)).toEqual(chain().map((pem) => new X509Certificate(pem).fingerprint256));
  });

  it.each([
    { code: 'KEY_TYPE_UNSUPPORTED', expected: /the certificate's key is ED25519: browsers and most FTP clients do not accept EdDSA server certificates; use an RSA \(2048 bits or more\) or ECDSA P-256\/P-384 key/ },
    { code: 'KEY_MISMATCH', expected: /private key \(ECDSA P-256\) does not belong to any of the certificates: .*CN=files\.example\.test has a different RSA 2048 public key/ },
    { code: 'INTERMEDIATE_NOT_ISSUER', expected: /chain block 1 \(O=Test Authority, CN=Test Intermediate CA\) has the name of the issuer of CN=files\.example\.test but did not sign it/ },
    { code: 'NAME_NOT_COVERED', expected: /does not cover other\.example\.test \(it names DNS:files\.example\.test, IP Address:127\.0\.0\.1\)/ },
    { code: 'KEY_TOO_SMALL', expected: /RSA 1024 bits: TLS clients refuse RSA keys below 2048 bits/ },
    { code: 'CHAIN_REORDERED', expected: /reordered to: CN=files\.example\.test → O=Test Authority, CN=Test Intermediate CA → O=Test Authority, CN=Test Root CA/ },
    { code: 'INTERMEDIATE_MISSING', expected: /no intermediate certificate was given: CN=files\.example\.test was issued by O=Test Authority, CN=Test Intermediate CA/ },
    { code: 'EXPIRED', expected: /the certificate expired on \d{4}-/ },
  ])('explains $code in the operator\'s terms', ({ code, expected }) => {
    const row = (cases.find((candidate) => candidate.codes[0] === code) ?? cases.find((candidate) => candidate.codes.includes(code)))!;
    const result = validateMaterial({ serverNames: ['files.example.test'], now, ...row.input() });
    expect(result.findings.find((item) => item.code === code)?.message).toMatch(expected);
  });

  it('an unrelated certificate given as the intermediate: the message says the issuer is not among those given, not that none was given', () => {
    const result = validateMaterial({ serverNames: ['files.example.test'], now, certificates: [cert('leaf', leaf.certificatePem), cert('intermediate', selfSigned.certificatePem)], key: leafKey() });
    const messages = result.findings.map((item) => item.message);
    expect(messages).toEqual([
      expect.stringMatching(/^intermediate \(.*\) is not part of the chain of CN=files\.example\.test: it signed none of its certificates$/),
      expect.stringMatching(/^the certificate that issued CN=files\.example\.test is not among the 2 given: CN=files\.example\.test was issued by O=Test Authority, CN=Test Intermediate CA/),
    ]);
    expect(messages.join(' ')).not.toContain('no intermediate certificate was given');
  });
});
