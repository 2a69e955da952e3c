import { randomBytes } from 'node:crypto';

/**
 * Record ids: a random prefix per process and a counter. Unique across replicas
 * and restarts without coordination, and far cheaper than a UUID per record.
 * The log-service keys deduplication on them.
 */
export function recordIdSource(prefix: string = randomBytes(9).toString('base64url')): () => string {
  let counter = 0;
  return () => `${prefix}.${(counter++).toString(36)}`;
}
