import { defaultKeyType, keyTypes, type KeyType } from '@st/contracts';
import { CertificateError } from './errors.js';
import { parseServerName, type ServerName } from './server-name.js';

/** The information sheet a user fills in for a self-signed certificate or a CSR. */
export interface CertificateSheet {
  serverName: string;
  organisation?: string;
  organisationalUnit?: string;
  city?: string;
  state?: string;
  /** Two-letter ISO 3166 code. */
  country?: string;
  email?: string;
  /** More names for the subjectAltName: DNS names (a leading `*.` allowed) or IP addresses. */
  altNames?: string[];
  validityDays?: number;
  keyType?: KeyType;
}

export const defaultValidityDays = 825;
export const maxValidityDays = 3650;

/** A DNS name with an optional leading wildcard label, or an IP address. */
export type AltName = ServerName;

export interface NormalisedSheet {
  serverName: ServerName;
  organisation?: string;
  organisationalUnit?: string;
  city?: string;
  state?: string;
  country?: string;
  email?: string;
  /** Every subjectAltName entry, the server name first, without duplicates. */
  altNames: AltName[];
  validityDays: number;
  keyType: KeyType;
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

/** An extra SAN: like a server name, but a DNS name may start with one `*.` wildcard label. */
export function parseAltName(input: string): { ok: true; value: AltName } | { ok: false; message: string } {
  const trimmed = input.trim();
  if (trimmed.startsWith('*.')) {
    const rest = parseServerName(trimmed.slice(2));
    if (!rest.ok) return { ok: false, message: `alt name "${trimmed}": ${rest.message}` };
    if (rest.value.kind !== 'dns') return { ok: false, message: `alt name "${trimmed}": a wildcard applies to DNS names only` };
    return { ok: true, value: { kind: 'dns', name: `*.${rest.value.name}` } };
  }
  const parsed = parseServerName(trimmed);
  return parsed.ok ? parsed : { ok: false, message: `alt name: ${parsed.message}` };
}

/** Checks the whole sheet and reports every problem at once. */
export function normaliseSheet(sheet: CertificateSheet): NormalisedSheet {
  const problems: string[] = [];
  const name = parseServerName(typeof sheet.serverName === 'string' ? sheet.serverName : '');
  if (!name.ok) throw new CertificateError('INVALID_SERVER_NAME', name.message);

  const normalised: NormalisedSheet = {
    serverName: name.value,
    altNames: [name.value],
    validityDays: sheet.validityDays ?? defaultValidityDays,
    keyType: sheet.keyType ?? defaultKeyType,
  };
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
  for (const input of sheet.altNames ?? []) {
    const alt = parseAltName(String(input));
    if (!alt.ok) problems.push(alt.message);
    else if (!normalised.altNames.some((known) => known.kind === alt.value.kind && known.name === alt.value.name)) normalised.altNames.push(alt.value);
  }
  if (!Number.isInteger(normalised.validityDays) || normalised.validityDays < 1 || normalised.validityDays > maxValidityDays) {
    problems.push(`validityDays must be a whole number from 1 to ${maxValidityDays}`);
  }
  if (!(keyTypes as readonly string[]).includes(normalised.keyType)) {
    problems.push(`keyType "${normalised.keyType}" must be one of ${keyTypes.join(', ')}`);
  }
  if (problems.length > 0) throw new CertificateError('INVALID_SHEET', `invalid certificate sheet: ${problems.join('; ')}`);
  return normalised;
}
