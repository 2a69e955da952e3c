import { randomBytes } from 'node:crypto';
import type { NormalisedSheet } from './sheet.js';
import { x509 } from './x509.js';

/** 16 random bytes, positive (top bit clear) and without a leading zero byte, so the DER INTEGER is minimal. */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) || 0x01;
  return bytes.toString('hex');
}

/**
 * The subject in the conventional order (C, ST, L, O, OU, CN, emailAddress), with
 * the string types clients expect: PrintableString for the country, IA5String for
 * the e-mail address, UTF8String for the rest.
 */
export function subjectName(sheet: NormalisedSheet): x509.Name {
  const name: x509.JsonNameParams = [];
  if (sheet.country) name.push({ C: [{ printableString: sheet.country }] });
  if (sheet.state) name.push({ ST: [{ utf8String: sheet.state }] });
  if (sheet.city) name.push({ L: [{ utf8String: sheet.city }] });
  if (sheet.organisation) name.push({ O: [{ utf8String: sheet.organisation }] });
  if (sheet.organisationalUnit) name.push({ OU: [{ utf8String: sheet.organisationalUnit }] });
  name.push({ CN: [{ utf8String: sheet.serverName.name }] });
  if (sheet.email) name.push({ E: [{ ia5String: sheet.email }] });
  return new x509.Name(name);
}

/** Clients check the subjectAltName, not the CN: every name goes there, each as its own type. */
export function subjectAltNameExtension(sheet: NormalisedSheet): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(
    sheet.altNames.map((name) => (name.kind === 'dns' ? { type: 'dns' as const, value: name.name } : { type: 'ip' as const, value: name.name })),
  );
}
