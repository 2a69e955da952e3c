import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type ConnectionOptions, type Server } from 'node:tls';
import { CertificateError } from './errors.js';
import { generateSelfSigned, normaliseSheet, randomSerialNumber, type KeyAndCertificate } from './self-signed.js';

function opensslText(certificatePem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certificatePem }).toString();
}

const generated = new Map<string, Promise<KeyAndCertificate>>();
/** One key pair per server name for the whole file: RSA generation is the slow part. */
function certificateFor(serverName: string): Promise<KeyAndCertificate> {
  if (!generated.has(serverName)) {
    generated.set(serverName, generateSelfSigned({ serverName, organisation: 'Example Files', country: 'de', city: 'Köln' }));
  }
  return generated.get(serverName)!;
}

describe('generateSelfSigned: as openssl reads it', () => {
  it.each([
    { serverName: 'files.example.test', san: 'DNS:files.example.test' },
    { serverName: '127.0.0.1', san: 'IP Address:127.0.0.1' },
    { serverName: '::1', san: 'IP Address:0:0:0:0:0:0:0:1' },
  ])('$serverName', async ({ serverName, san }) => {
    const text = opensslText((await certificateFor(serverName)).certificatePem);
    expect(text).toMatch(new RegExp(`Subject: C = DE, L = .*, O = Example Files, CN = ${serverName.replace(/\./g, '\\.')}\\n`));
    expect(text).toMatch(/X509v3 Subject Alternative Name: *\n\s+(.+)\n/);
    expect(/X509v3 Subject Alternative Name: *\n\s+(.+)\n/.exec(text)?.[1]).toBe(san);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/X509v3 Extended Key Usage: *\n\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    const ski = /X509v3 Subject Key Identifier: *\n\s+([0-9A-F:]+)/.exec(text)?.[1];
    const aki = /X509v3 Authority Key Identifier: *\n\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
    expect(ski).toBeDefined();
    expect(aki).toBe(ski);
  });

  it('backdates notBefore by five minutes and defaults to 825 days', async () => {
    const now = new Date('2025-03-01T12:00:00Z');
    const { certificatePem } = await generateSelfSigned({ serverName: 'files.example.test' }, { now });
    const certificate = new X509Certificate(certificatePem);
    expect(new Date(certificate.validFrom).toISOString()).toBe('2025-03-01T11:55:00.000Z');
    expect(new Date(certificate.validTo).toISOString()).toBe(new Date(now.getTime() + 825 * 86_400_000).toISOString());
  });

  it('returns an unencrypted PKCS#8 key with LF line ends', async () => {
    const { certificatePem, privateKeyPem } = await certificateFor('files.example.test');
    expect(privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(certificatePem).not.toContain('\r');
  });
});

describe('generateSelfSigned: as a TLS client with hostname verification sees it', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function serve(material: KeyAndCertificate): Promise<number> {
    const server = createServer({ key: material.privateKeyPem, cert: material.certificatePem, minVersion: 'TLSv1.2' }, (socket) => {
      socket.end('hello\n');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Resolves with what the server sent, or rejects with the client's verification error. */
  function fetchGreeting(options: ConnectionOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(options);
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('secureConnect', () => {
        if (!socket.authorized) reject(socket.authorizationError);
      });
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
  }

  it('is trusted for its DNS name (SNI and hostname check on files.example.test)', async () => {
    const material = await certificateFor('files.example.test');
    const port = await serve(material);
    await expect(fetchGreeting({ host: '127.0.0.1', port, servername: 'files.example.test', ca: material.certificatePem })).resolves.toBe('hello\n');
  });

  it('is trusted for its IP address (hostname check on 127.0.0.1)', async () => {
    const material = await certificateFor('127.0.0.1');
    const port = await serve(material);
    await expect(fetchGreeting({ host: '127.0.0.1', port, ca: material.certificatePem })).resolves.toBe('hello\n');
  });

  it.each([
    { desc: 'another DNS name', serverName: 'files.example.test', servername: 'other.example.test' },
    { desc: 'the IP when the certificate names a DNS name', serverName: 'files.example.test', servername: undefined },
    { desc: 'a DNS name when the certificate names an IP', serverName: '127.0.0.1', servername: 'localhost' },
  ])('is refused for $desc (verification really is on)', async ({ serverName, servername }) => {
    const material = await certificateFor(serverName);
    const port = await serve(material);
    await expect(fetchGreeting({ host: '127.0.0.1', port, servername, ca: material.certificatePem })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('is refused by a client that does not trust it', async () => {
    const material = await certificateFor('files.example.test');
    const port = await serve(material);
    await expect(fetchGreeting({ host: '127.0.0.1', port, servername: 'files.example.test' })).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });
});

describe('normaliseSheet', () => {
  it('trims, drops empty fields and upper-cases the country', () => {
    expect(normaliseSheet({ serverName: ' Files.Example.Test ', organisation: ' Example ', organisationalUnit: '', country: 'de' })).toEqual({
      serverName: { kind: 'dns', name: 'files.example.test' },
      altNames: [{ kind: 'dns', name: 'files.example.test' }],
      organisation: 'Example',
      country: 'DE',
      validityDays: 825,
      keyType: 'rsa-2048',
    });
  });

  it.each([
    { desc: 'invalid server name', sheet: { serverName: 'bad_name.example' }, code: 'INVALID_SERVER_NAME', message: /label "bad_name"/ },
    { desc: 'three-letter country', sheet: { serverName: 'a.test', country: 'DEU' }, code: 'INVALID_SHEET', message: /country "DEU" must be a two-letter code/ },
    { desc: 'bad email', sheet: { serverName: 'a.test', email: 'admin at example' }, code: 'INVALID_SHEET', message: /email "admin at example"/ },
    { desc: 'non-ASCII email', sheet: { serverName: 'a.test', email: 'jürgen@example.test' }, code: 'INVALID_SHEET', message: /plain ASCII/ },
    { desc: 'long organisation', sheet: { serverName: 'a.test', organisation: 'x'.repeat(65) }, code: 'INVALID_SHEET', message: /organisation is longer than 64/ },
    { desc: 'control character', sheet: { serverName: 'a.test', city: 'Köln\nBonn' }, code: 'INVALID_SHEET', message: /city contains control characters/ },
    { desc: 'zero validity', sheet: { serverName: 'a.test', validityDays: 0 }, code: 'INVALID_SHEET', message: /validityDays must be a whole number from 1 to 3650/ },
    { desc: 'fractional validity', sheet: { serverName: 'a.test', validityDays: 1.5 }, code: 'INVALID_SHEET', message: /validityDays/ },
    {
      desc: 'several problems at once',
      sheet: { serverName: 'a.test', country: 'x', validityDays: 99999 },
      code: 'INVALID_SHEET',
      message: /country.*; validityDays/,
    },
  ])('rejects $desc', ({ sheet, code, message }) => {
    let caught: unknown;
    try {
      normaliseSheet(sheet);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CertificateError);
    expect(caught).toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('rejects before generating a key', async () => {
    await expect(generateSelfSigned({ serverName: 'not a name' })).rejects.toMatchObject({ code: 'INVALID_SERVER_NAME' });
  });
});

describe('randomSerialNumber', () => {
  it('is 16 bytes, positive and minimally encoded', () => {
    for (let i = 0; i < 500; i++) {
      const serial = randomSerialNumber();
      expect(serial).toMatch(/^[0-9a-f]{32}$/);
      const first = parseInt(serial.slice(0, 2), 16);
      expect(first).toBeGreaterThanOrEqual(0x01);
      expect(first).toBeLessThanOrEqual(0x7f);
    }
  });
});
