import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server } from 'node:tls';
import { keyTypes, type KeyType } from '@st/contracts';
import { generateCsr } from './csr.js';
import { generateSelfSigned } from './self-signed.js';
import { openssl } from './test-openssl.js';

/** A full information sheet: every field the issue names, and extra names of each kind. */
// RSA 4096 key generation alone can take several seconds on a busy machine.
jest.setTimeout(30_000);

const sheet = {
  serverName: 'files.example.test',
  organisation: 'Example Files GmbH',
  organisationalUnit: 'Operations',
  city: 'Köln',
  state: 'Nordrhein-Westfalen',
  country: 'de',
  email: 'ops@example.test',
  altNames: ['www.example.test', '*.files.example.test', '192.0.2.7', '2001:db8::7'],
  validityDays: 90,
};
const subjectLine =
  'Subject: C = DE, ST = Nordrhein-Westfalen, L = K\\C3\\B6ln, O = Example Files GmbH, OU = Operations, CN = files.example.test, emailAddress = ops@example.test';
const sanLine = 'DNS:files.example.test, DNS:www.example.test, DNS:*.files.example.test, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:7';

const expectedKey: Record<KeyType, { publicKey: RegExp; signature: string; keyUsage: string }> = {
  'rsa-2048': { publicKey: /Public-Key: \(2048 bit\)/, signature: 'sha256WithRSAEncryption', keyUsage: 'Digital Signature, Key Encipherment' },
  'rsa-3072': { publicKey: /Public-Key: \(3072 bit\)/, signature: 'sha256WithRSAEncryption', keyUsage: 'Digital Signature, Key Encipherment' },
  'rsa-4096': { publicKey: /Public-Key: \(4096 bit\)/, signature: 'sha256WithRSAEncryption', keyUsage: 'Digital Signature, Key Encipherment' },
  'ecdsa-p256': { publicKey: /Public-Key: \(256 bit\)\n[\s\S]*NIST CURVE: P-256/, signature: 'ecdsa-with-SHA256', keyUsage: 'Digital Signature' },
  'ecdsa-p384': { publicKey: /Public-Key: \(384 bit\)\n[\s\S]*NIST CURVE: P-384/, signature: 'ecdsa-with-SHA256', keyUsage: 'Digital Signature' },
};

function san(text: string): string | undefined {
  return /X509v3 Subject Alternative Name: *\n\s+(.+)\n/.exec(text)?.[1];
}

describe.each(keyTypes.map((keyType) => ({ keyType })))('$keyType', ({ keyType }) => {
  it('self-signed: openssl reads every sheet field, the SANs, the key and the extensions, and verifies the signature', async () => {
    const { certificatePem, privateKeyPem } = await generateSelfSigned({ ...sheet, keyType });
    const text = openssl(['x509', '-noout', '-text'], certificatePem);
    expect(text).toContain(subjectLine);
    expect(text).toContain(subjectLine.replace('Subject:', 'Issuer:'));
    expect(san(text)).toBe(sanLine);
    expect(text).toMatch(expectedKey[keyType].publicKey);
    expect(text).toContain(`Signature Algorithm: ${expectedKey[keyType].signature}`);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    expect(text).toContain(`X509v3 Key Usage: critical\n                ${expectedKey[keyType].keyUsage}\n`);
    expect(text).toMatch(/X509v3 Extended Key Usage: *\n\s+TLS Web Server Authentication\n/);
    const ski = /X509v3 Subject Key Identifier: *\n\s+([0-9A-F:]+)/.exec(text)?.[1];
    expect(/X509v3 Authority Key Identifier: *\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1]).toBe(ski);
    const serial = /Serial Number:\s*\n?\s*([0-9a-f:]+)/.exec(text)?.[1]?.replace(/:/g, '');
    expect(serial).toMatch(/^[0-7][0-9a-f]{31}$/);
    // The signature verifies under openssl: the certificate's own key signed it.
    expect(openssl(['x509', '-noout', '-pubkey'], certificatePem)).toBe(openssl(['pkey', '-pubout'], privateKeyPem));
    const x509 = new X509Certificate(certificatePem);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(Date.parse(x509.validTo) - Date.parse(x509.validFrom)).toBe(90 * 86_400_000 + 5 * 60_000);
  });

  it('CSR: openssl req -verify accepts it, with the sheet as subject and the names as requested SAN', async () => {
    const request = await generateCsr({ ...sheet, keyType });
    const text = openssl(['req', '-verify', '-noout', '-text'], request.csrPem);
    expect(text).toContain(subjectLine);
    expect(san(text)).toBe(sanLine);
    expect(text).toMatch(expectedKey[keyType].publicKey);
    expect(openssl(['req', '-noout', '-pubkey'], request.csrPem)).toBe(openssl(['pkey', '-pubout'], request.privateKeyPem));
    expect(request).toMatchObject({ serverName: 'files.example.test', keyType, publicKeySha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });
  });
});

describe('an ECDSA certificate in a real TLS handshake', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it.each([
    { serverName: 'files.example.test', host: '127.0.0.1', servername: 'files.example.test' },
    { serverName: '127.0.0.1', host: '127.0.0.1', servername: undefined },
  ])('is trusted with hostname verification for $serverName', async ({ serverName, host, servername }) => {
    const material = await generateSelfSigned({ serverName, keyType: 'ecdsa-p256' });
    server = createServer({ key: material.privateKeyPem, cert: material.certificatePem }, (socket) => socket.end('hi'));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const greeting = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host, port, servername, ca: material.certificatePem }, () => {
        if (!socket.authorized) reject(socket.authorizationError);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(greeting).toBe('hi');
  });
});
