import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { CertificateError } from './errors.js';
import { ipAddressBytes, parseServerName, type ServerName } from './server-name.js';

/** The information sheet a user fills in for a self-signed certificate. */
export interface CertificateSheet {
  serverName: string;
  organisation?: string;
  organisationalUnit?: string;
  city?: string;
  state?: string;
  /** Two-letter ISO 3166 code. */
  country?: string;
  email?: string;
  validityDays?: number;
}

export interface KeyAndCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

export const defaultValidityDays = 825;
export const maxValidityDays = 3650;
/** Backdating notBefore lets clients whose clocks run a little slow accept a certificate made just now. */
export const clockSkewMs = 5 * 60 * 1000;

interface NormalisedSheet {
  serverName: ServerName;
  organisation?: string;
  organisationalUnit?: string;
  city?: string;
  state?: string;
  country?: string;
  email?: string;
  validityDays: number;
}

/** Upper bounds from RFC 5280 (ub-organization-name and friends). */
const textFields = [
  { key: 'organisation', label: 'organisation', max: 64 },
  { key: 'organisationalUnit', label: 'organisational unit', max: 64 },
  { key: 'city', label: 'city', max: 128 },
  { key: 'state', label: 'state', max: 128 },
] as const;

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function optionalText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/** Checks the whole sheet and reports every problem at once. */
export function normaliseSheet(sheet: CertificateSheet): NormalisedSheet {
  const problems: string[] = [];
  const name = parseServerName(typeof sheet.serverName === 'string' ? sheet.serverName : '');
  if (!name.ok) throw new CertificateError('INVALID_SERVER_NAME', name.message);

  const normalised: NormalisedSheet = { serverName: name.value, validityDays: sheet.validityDays ?? defaultValidityDays };
  for (const field of textFields) {
    const text = optionalText(sheet[field.key]);
    if (text === undefined) continue;
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(text)) problems.push(`${field.label} contains control characters`);
    else if (text.length > field.max) problems.push(`${field.label} is longer than ${field.max} characters`);
    else normalised[field.key] = text;
  }
  const country = optionalText(sheet.country);
  if (country !== undefined) {
    if (/^[A-Za-z]{2}$/.test(country)) normalised.country = country.toUpperCase();
    else problems.push(`country "${country}" must be a two-letter code such as DE or US`);
  }
  const email = optionalText(sheet.email);
  if (email !== undefined) {
    // IA5String: ASCII only; 255 is pkcs-9's ub-emailaddress-length.
    if (emailPattern.test(email) && /^[\x21-\x7e]+$/.test(email) && email.length <= 255) normalised.email = email;
    else problems.push(`email "${email}" is not a plain ASCII e-mail address`);
  }
  if (!Number.isInteger(normalised.validityDays) || normalised.validityDays < 1 || normalised.validityDays > maxValidityDays) {
    problems.push(`validityDays must be a whole number from 1 to ${maxValidityDays}`);
  }
  if (problems.length > 0) throw new CertificateError('INVALID_SHEET', `invalid certificate sheet: ${problems.join('; ')}`);
  return normalised;
}

/** 16 random bytes, positive (top bit clear) and without a leading zero byte, so the DER INTEGER is minimal. */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex');
}

const utf8 = forge.asn1.Type.UTF8 as unknown as forge.asn1.Class;
const printable = forge.asn1.Type.PRINTABLESTRING as unknown as forge.asn1.Class;
const ia5 = forge.asn1.Type.IA5STRING as unknown as forge.asn1.Class;

function subjectAttributes(sheet: NormalisedSheet): forge.pki.CertificateField[] {
  const attributes: forge.pki.CertificateField[] = [];
  if (sheet.country) attributes.push({ name: 'countryName', value: sheet.country, valueTagClass: printable });
  if (sheet.state) attributes.push({ name: 'stateOrProvinceName', value: sheet.state, valueTagClass: utf8 });
  if (sheet.city) attributes.push({ name: 'localityName', value: sheet.city, valueTagClass: utf8 });
  if (sheet.organisation) attributes.push({ name: 'organizationName', value: sheet.organisation, valueTagClass: utf8 });
  if (sheet.organisationalUnit) attributes.push({ name: 'organizationalUnitName', value: sheet.organisationalUnit, valueTagClass: utf8 });
  attributes.push({ name: 'commonName', value: sheet.serverName.name, valueTagClass: utf8 });
  if (sheet.email) attributes.push({ name: 'emailAddress', value: sheet.email, valueTagClass: ia5 });
  return attributes;
}

function subjectAltName(name: ServerName): { type: number; value: string } {
  // GeneralName tags: 2 dNSName, 7 iPAddress (raw bytes; forge's own IPv6 parser mishandles some forms).
  return name.kind === 'dns' ? { type: 2, value: name.name } : { type: 7, value: ipAddressBytes(name.name).toString('binary') };
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA-2048 in OpenSSL's thread pool: the event loop stays free, and it is far faster than forge's JS RSA. */
async function generateRsaKeyPair(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * A self-signed TLS server certificate for the sheet's server name: SHA-256,
 * subjectAltName of the right kind (clients ignore the CN), not a CA, serverAuth only.
 */
export async function generateSelfSigned(sheet: CertificateSheet, options: { now?: Date } = {}): Promise<KeyAndCertificate> {
  const normalised = normaliseSheet(sheet);
  const { publicKeyPem, privateKeyPem } = await generateRsaKeyPair();
  const now = options.now ?? new Date();

  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  certificate.serialNumber = randomSerialNumber();
  certificate.validity.notBefore = new Date(now.getTime() - clockSkewMs);
  certificate.validity.notAfter = new Date(now.getTime() + normalised.validityDays * 24 * 60 * 60 * 1000);
  const subject = subjectAttributes(normalised);
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [subjectAltName(normalised.serverName)] },
    { name: 'subjectKeyIdentifier' },
    // Self-signed: the authority's key identifier is our own subject key identifier.
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ]);
  certificate.sign(forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  // forge writes CRLF line ends; everything else here uses LF.
  const certificatePem = forge.pki.certificateToPem(certificate).replace(/\r\n/g, '\n');
  return { certificatePem, privateKeyPem };
}
