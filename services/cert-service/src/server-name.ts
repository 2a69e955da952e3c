import { isIP } from 'node:net';

export type ServerName = { kind: 'dns'; name: string } | { kind: 'ip'; name: string; version: 4 | 6 };

export type ServerNameResult = { ok: true; value: ServerName } | { ok: false; message: string };

/** RFC 5280's upper bound for a common name; the server name is also the certificate's CN. */
export const maxCommonNameLength = 64;

const labelPattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function invalid(input: string, why: string): ServerNameResult {
  return { ok: false, message: `server name "${input}" is not a valid DNS name or IP address: ${why}` };
}

/**
 * Accepts a DNS host name (letters, digits, hyphens; lower-cased) or an IPv4/IPv6
 * address, and says which, since the certificate's subjectAltName entry differs.
 */
export function parseServerName(input: string): ServerNameResult {
  const trimmed = input.trim();
  if (trimmed === '') return { ok: false, message: 'server name is empty' };
  const unbracketed = trimmed.replace(/^\[(.*)\]$/, '$1');
  const version = isIP(unbracketed);
  if (version === 4 || version === 6) return { ok: true, value: { kind: 'ip', name: unbracketed, version } };

  const name = trimmed.toLowerCase();
  if (name.length > maxCommonNameLength) {
    return invalid(trimmed, `longer than ${maxCommonNameLength} characters, the limit for a certificate common name`);
  }
  if (/[^\x21-\x7e]/.test(name)) {
    return invalid(trimmed, 'contains spaces or non-ASCII characters (use the xn-- form of an internationalised name)');
  }
  if (name.endsWith('.')) return invalid(trimmed, 'ends with a dot');
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return invalid(trimmed, 'has an empty label (two dots in a row or a leading dot)');
    if (label.length > 63) return invalid(trimmed, `label "${label}" is longer than 63 characters`);
    if (!labelPattern.test(label)) {
      return invalid(trimmed, `label "${label}" may contain only letters, digits and inner hyphens`);
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) {
    return invalid(trimmed, 'the last label is all digits, so it looks like an IP address, but it is not one');
  }
  return { ok: true, value: { kind: 'dns', name } };
}

/** The 4 or 16 bytes of an address that `isIP` accepted, in network order. */
export function ipAddressBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  if (isIP(address) !== 6) throw new Error(`not an IP address: ${address}`);
  let text = address.replace(/%.*$/, '');
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, tail.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}
