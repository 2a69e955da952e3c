import { createHash } from 'node:crypto';
import { logLevels } from '@st/contracts';

/** One log record as stored: the indexed fields pulled out, the record itself kept as its JSON text. */
export interface IncomingRecord {
  recordId: string;
  /** Milliseconds since the epoch: the record's own time, not the time it arrived. */
  time: number;
  level: number;
  service: string;
  replica: string;
  session: string | null;
  conn: string | null;
  msg: string | null;
  /** What text search looks in: the record's string and number values. */
  text: string;
  /** The record as shipped (JSON), or a shortened stand-in for an oversized one. */
  body: string;
}

export type NormalizeResult = { ok: true; record: IncomingRecord } | { ok: false; reason: string };

export interface Envelope {
  /** AMQP message id; the shipper sets it to the record id. */
  messageId?: string | undefined;
  routingKey?: string | undefined;
  /** When the record arrived, for records without a usable time. */
  now: number;
}

export const limits = {
  /** Records larger than this are kept as their indexed fields plus a note. */
  maxBodyBytes: 64 * 1024,
  maxTextChars: 8 * 1024,
  maxIdChars: 200,
} as const;

const levelByName: Record<string, number> = logLevels;

/** Level name or number → pino's number; unknown → info, so an odd record is still kept. */
export function levelNumber(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string') {
    const known = levelByName[value.toLowerCase()];
    if (known !== undefined) return known;
    if (/^\d+$/.test(value)) return Number(value);
  }
  return logLevels.info;
}

const levelNames = new Map<number, string>(Object.entries(logLevels).map(([name, number]) => [number, name]));

/** pino's number → its name, or the number as text for custom levels. */
export function levelName(level: number): string {
  return levelNames.get(level) ?? String(level);
}

function shortString(value: unknown, max: number): string | null {
  if (typeof value === 'string' && value.length > 0) return value.slice(0, max);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function timeOf(value: unknown, now: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  return now;
}

/** Fields that are not worth searching: they have filters of their own or are noise. */
const unsearched = new Set(['recordId', 'time', 'level', 'service', 'replica', 'pid', 'hostname']);

/** The string and number values of a record, depth first, in order, up to a limit. */
export function searchableText(record: Record<string, unknown>, maxChars: number = limits.maxTextChars): string {
  const parts: string[] = [];
  let length = 0;
  const visit = (value: unknown, depth: number): boolean => {
    if (length >= maxChars) return false;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
      const text = String(value);
      parts.push(text);
      length += text.length + 1;
    } else if (value && typeof value === 'object' && depth < 6) {
      for (const item of Array.isArray(value) ? value : Object.values(value)) if (!visit(item, depth + 1)) return false;
    }
    return true;
  };
  for (const [key, value] of Object.entries(record)) {
    if (unsearched.has(key)) continue;
    if (!visit(value, 0)) break;
  }
  return parts.join(' ').slice(0, maxChars);
}

/**
 * Turns a message body into a record to store. Lenient on purpose: a record
 * with an odd level or time is still kept (with the defaults), because losing
 * a log line is worse than filing it imperfectly. Only a body that is not a
 * JSON object is refused.
 */
export function normalizeRecord(content: Buffer | string, envelope: Envelope): NormalizeResult {
  const body = typeof content === 'string' ? content : content.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' };
  const record = parsed as Record<string, unknown>;

  const recordId =
    shortString(record.recordId, limits.maxIdChars) ??
    shortString(envelope.messageId, limits.maxIdChars) ??
    // Without an id, identical bodies are the same record: redelivery still stores it once.
    `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const service = shortString(record.service, 100) ?? shortString(envelope.routingKey?.split('.')[0], 100) ?? 'unknown';
  const normalized: IncomingRecord = {
    recordId,
    time: timeOf(record.time, envelope.now),
    level: levelNumber(record.level),
    service,
    replica: shortString(record.replica, 100) ?? '',
    session: shortString(record.session, limits.maxIdChars),
    conn: shortString(record.conn, limits.maxIdChars),
    msg: typeof record.msg === 'string' ? record.msg : null,
    text: searchableText(record),
    body,
  };
  if (Buffer.byteLength(body) > limits.maxBodyBytes) {
    normalized.body = JSON.stringify({
      level: record.level,
      time: record.time,
      service: normalized.service,
      replica: normalized.replica,
      recordId,
      ...(normalized.session ? { session: normalized.session } : {}),
      ...(normalized.conn ? { conn: normalized.conn } : {}),
      msg: normalized.msg?.slice(0, 4096) ?? null,
      truncated: true,
      originalBytes: Buffer.byteLength(body),
    });
  }
  return { ok: true, record: normalized };
}
