/**
 * Field names whose values are secrets wherever they appear, compared without
 * regard to case. Redaction is by name so that a new log call cannot leak a
 * password or a key by accident.
 */
export const secretFieldNames = [
  'password',
  'pass',
  'passphrase',
  'privateKey',
  'privateKeyPem',
  'key',
  'keyPem',
  'token',
  'authorization',
  'cookie',
  'secret',
] as const;

export const redactionCensor = '[redacted]';

const secretNames = new Set(secretFieldNames.map((name) => name.toLowerCase()));

/** How deep into nested objects and arrays secrets are looked for. */
const maxDepth = 5;

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The value with every secret-named field replaced by the censor, looking into
 * plain objects and arrays. Only the objects on the way to a secret are
 * copied: the caller's objects are never changed, and a record without
 * secrets costs one walk over its keys. (pino's own path-based redaction with
 * wildcards costs over 100 µs per record; this is a few.)
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > maxDepth) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) {
        copy ??= value.slice();
        copy[i] = redacted;
      }
    }
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const field = value[key];
    const redacted = secretNames.has(key.toLowerCase()) ? (field === undefined ? field : redactionCensor) : redactSecrets(field, depth + 1);
    if (redacted !== field) {
      copy ??= { ...value };
      copy[key] = redacted;
    }
  }
  return (copy ?? value) as T;
}
