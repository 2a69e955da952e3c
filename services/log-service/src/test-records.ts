import { normalizeRecord, type IncomingRecord } from './record.js';

export const baseTime = Date.parse('2030-01-01T00:00:00.000Z');

let counter = 0;

/** A record as a service would ship it, normalized as the ingest would; `at` is seconds after baseTime. */
export function testRecord(fields: Record<string, unknown> & { at?: number } = {}): IncomingRecord {
  const { at = 0, ...rest } = fields;
  const record = {
    level: 'info',
    time: new Date(baseTime + at * 1000).toISOString(),
    service: 'tunnel-gateway',
    replica: 'r1',
    recordId: `test-${process.pid}-${counter++}`,
    msg: 'something happened',
    ...rest,
  };
  const result = normalizeRecord(JSON.stringify(record), { now: baseTime });
  if (!result.ok) throw new Error(result.reason);
  return result.record;
}
