import type { SettingChange } from '@st/contracts';
import { isJsonObject, type JsonObject } from './json-object.js';

/**
 * RFC 7396 JSON Merge Patch: objects merge key by key, `null` removes a key,
 * anything else replaces. Settings have no optional keys, so a removal shows
 * up afterwards as a "required" problem naming the field; except where the
 * setting itself may be null (`keepsNull`, dotted path): there `null` sets it,
 * so that a patch can switch back to "no public pool" or "no fixed address".
 */
export function applyMergePatch(target: unknown, patch: unknown, keepsNull: (field: string) => boolean = () => false, path: string[] = []): unknown {
  if (!isJsonObject(patch)) return structuredClone(patch);
  const result: JsonObject = isJsonObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    const field = [...path, key];
    if (value === null && !keepsNull(field.join('.'))) {
      delete result[key];
      continue;
    }
    // defineProperty: a "__proto__" key from JSON stays an ordinary (and then refused) field instead of replacing the prototype.
    Object.defineProperty(result, key, {
      value: value === null ? null : applyMergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value, keepsNull, field),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

/**
 * Every leaf that differs between two settings documents, as dotted paths.
 * A port range is one value (`{from,to}` changes together), so a change of
 * the passive range reads as one line rather than two.
 */
export function changedFields(before: unknown, after: unknown, path: string[] = []): SettingChange[] {
  const atomic = (value: unknown) => !isJsonObject(value) || isPortRange(value);
  if (atomic(before) || atomic(after)) {
    return jsonEqual(before, after) ? [] : [{ field: path.join('.') || '(settings)', from: before ?? null, to: after ?? null }];
  }
  const a = before as JsonObject;
  const b = after as JsonObject;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((key) => changedFields(a[key], b[key], [...path, key]));
}

function isPortRange(value: JsonObject): boolean {
  const keys = Object.keys(value);
  return keys.length === 2 && 'from' in value && 'to' in value;
}

/** Key order does not matter: documents come from files, PUT bodies and patches. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  }
  if (!isJsonObject(a) || !isJsonObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => key in b && jsonEqual(a[key], b[key]));
}

/**
 * Sets the given fields of `target` to the values they have in `source`
 * (a copy; the input is untouched). Used to carry what the operator changed
 * in the settings file or environment onto settings that the API has changed
 * since, without undoing the API's changes to other fields.
 */
export function carryFields(target: unknown, changes: readonly SettingChange[]): unknown {
  const result = structuredClone(target) as JsonObject;
  for (const change of changes) {
    const keys = change.field.split('.');
    let node: JsonObject = result;
    for (const key of keys.slice(0, -1)) {
      if (!isJsonObject(node[key])) node[key] = {};
      node = node[key] as JsonObject;
    }
    node[keys[keys.length - 1]!] = structuredClone(change.to);
  }
  return result;
}

export function describeChange(change: SettingChange): string {
  return `${change.field}: ${formatValue(change.from)} → ${formatValue(change.to)}`;
}

function formatValue(value: unknown): string {
  if (isJsonObject(value) && isPortRange(value)) return value.from === value.to ? String(value.from) : `${value.from}-${value.to}`;
  return JSON.stringify(value);
}
