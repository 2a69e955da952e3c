/**
 * Parsers for single environment values. Each returns the value or a message
 * that the caller prefixes with the variable's name, so a bad value is always
 * reported against the variable the operator actually set.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const integerPattern = /^[+-]?\d+$/;

export function parseInteger(raw: string): Parsed<number> {
  const text = raw.trim();
  if (!integerPattern.test(text)) return { ok: false, message: `"${raw}" is not a whole number` };
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return { ok: false, message: `"${raw}" is too large` };
  return { ok: true, value };
}

const trueWords = new Set(['true', '1', 'yes', 'on']);
const falseWords = new Set(['false', '0', 'no', 'off']);

export function parseBoolean(raw: string): Parsed<boolean> {
  const text = raw.trim().toLowerCase();
  if (trueWords.has(text)) return { ok: true, value: true };
  if (falseWords.has(text)) return { ok: true, value: false };
  return { ok: false, message: `"${raw}" is not a boolean (use true or false)` };
}

const rangePattern = /^(\d+)\s*-\s*(\d+)$/;
const singlePortPattern = /^\d+$/;

/** "3000-3008", or "3000" for a range of one. Bounds are checked later by the settings schema. */
export function parsePortRange(raw: string): Parsed<{ from: number; to: number }> {
  const text = raw.trim();
  const range = rangePattern.exec(text);
  if (range) return { ok: true, value: { from: Number(range[1]), to: Number(range[2]) } };
  if (singlePortPattern.test(text)) return { ok: true, value: { from: Number(text), to: Number(text) } };
  return { ok: false, message: `"${raw}" is not a port range (expected FROM-TO, e.g. 3000-3008)` };
}

export function parseTlsVersion(raw: string): Parsed<'TLSv1.2' | 'TLSv1.3'> {
  const text = raw.trim().toLowerCase().replace(/^tlsv?/, '');
  if (text === '1.2') return { ok: true, value: 'TLSv1.2' };
  if (text === '1.3') return { ok: true, value: 'TLSv1.3' };
  return { ok: false, message: `"${raw}" is not a TLS version (use TLSv1.2 or TLSv1.3)` };
}

/** off, v1 or v2 (also 1, 2, none, false), for a PROXY protocol header the gateway sends. */
export function parseProxyVersion(raw: string): Parsed<'off' | 'v1' | 'v2'> {
  const text = raw.trim().toLowerCase();
  if (['off', 'none', 'false', 'no', '0', ''].includes(text)) return { ok: true, value: 'off' };
  if (text === 'v1' || text === '1') return { ok: true, value: 'v1' };
  if (text === 'v2' || text === '2') return { ok: true, value: 'v2' };
  return { ok: false, message: `"${raw}" is not a PROXY protocol version (use off, v1 or v2)` };
}

export function parseText(raw: string): Parsed<string> {
  return { ok: true, value: raw.trim() };
}

/** Addresses and ranges separated by commas or spaces ("10.0.0.0/8, 192.0.2.7"); empty is none. Each entry is checked with the settings. */
export function parseAddressList(raw: string): Parsed<string[]> {
  return { ok: true, value: raw.split(/[\s,]+/).filter((entry) => entry !== '') };
}
