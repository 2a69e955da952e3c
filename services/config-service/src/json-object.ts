/** A parsed JSON object (settings documents, patches). */
export type JsonObject = Record<string, unknown>;

/** An object, not null and not an array: what JSON calls an object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
