import { levelNumber } from './record.js';
import { logLevels } from '@st/contracts';

/** What a query or a follow selects. Every field narrows; none set selects everything. */
export interface LogFilter {
  /** Inclusive bounds on the record's time, ms since the epoch. */
  from?: number;
  to?: number;
  services?: string[];
  replicas?: string[];
  /** Records at this level or above. */
  minLevel?: number;
  conns?: string[];
  sessions?: string[];
  /** Words (or "quoted phrases") that must all appear; a trailing * matches a prefix. */
  text?: string;
}

/** Position after the last record of a page: newest first means (time, seq) strictly smaller. */
export interface Cursor {
  time: number;
  seq: number;
}

export class FilterError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'FilterError';
  }
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "15m", "2h", "7d", "500ms" → milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (durationUnits[match[2] as string] as number));
}

/**
 * A point in time: ISO 8601, milliseconds since the epoch, or a duration meaning
 * that long before now ("15m"), so an operator can type `from=1h`.
 */
export function parseTime(field: string, text: string, now: number): number {
  const trimmed = text.trim();
  if (/^\d{12,}$/.test(trimmed)) return Number(trimmed);
  const ago = parseDuration(trimmed);
  if (ago !== undefined) return now - ago;
  // A date alone or with a time: Date.parse understands ISO 8601.
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const parsed = Date.parse(trimmed);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw new FilterError(field, `"${text}" is not a time: use ISO 8601, milliseconds since the epoch, or a duration ago like 15m, 2h, 7d`);
}

export function parseLevel(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (trimmed in logLevels || /^\d{1,3}$/.test(trimmed)) return levelNumber(trimmed);
  throw new FilterError('level', `"${text}" is not a level (${Object.keys(logLevels).join(', ')} or a number)`);
}

/**
 * The text filter as an FTS5 query: each word or "quoted phrase" becomes a
 * quoted phrase (so nothing the operator types is read as FTS syntax), all of
 * them required. `word*` keeps its prefix match. Punctuation inside a word
 * splits it into a phrase, so `127.0.0.1` and `/pub/file.txt` match as written.
 */
export function ftsQuery(text: string): string {
  const terms: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const phrase = match[1];
    const word = match[2];
    const raw = phrase ?? word ?? '';
    const prefix = phrase === undefined && raw.endsWith('*');
    const body = (prefix ? raw.slice(0, -1) : raw).replace(/"/g, ' ');
    // FTS5's unicode61 tokenizer keeps letters and digits; a term without any matches nothing useful.
    if (!/[\p{L}\p{N}]/u.test(body)) continue;
    terms.push(`"${body}"${prefix ? ' *' : ''}`);
  }
  if (terms.length === 0) throw new FilterError('text', `"${text}" has no words to search for`);
  return terms.join(' AND ');
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.time}.${cursor.seq}`).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const match = /^(-?\d+)\.(\d+)$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!match) throw new FilterError('cursor', 'not a cursor returned by this API');
  return { time: Number(match[1]), seq: Number(match[2]) };
}

export type QueryValue = string | string[] | undefined | unknown;

export interface ParsedQuery {
  filter: LogFilter;
  limit: number;
  cursor?: Cursor;
  /** follow: how many recent records to send before the live ones. */
  tail: number;
}

const filterParams = ['from', 'to', 'service', 'replica', 'level', 'conn', 'session', 'text'] as const;

export interface QueryShape {
  /** Parameters this endpoint accepts besides the filters. */
  extra: ReadonlyArray<'limit' | 'cursor' | 'tail'>;
  maxLimit?: number;
  defaultLimit?: number;
}

function values(field: string, value: QueryValue): string[] {
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') throw new FilterError(field, 'must be text');
    for (const part of item.split(',')) {
      const trimmed = part.trim();
      if (trimmed === '') continue;
      if (trimmed.length > 200) throw new FilterError(field, 'longer than 200 characters');
      out.push(trimmed);
    }
  }
  if (out.length === 0) throw new FilterError(field, 'is empty');
  if (out.length > 50) throw new FilterError(field, 'more than 50 values');
  return out;
}

function single(field: string, value: QueryValue): string {
  if (typeof value !== 'string') throw new FilterError(field, 'give it once');
  return value;
}

function integer(field: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new FilterError(field, `"${text}" is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) throw new FilterError(field, `must be between ${min} and ${max}`);
  return value;
}

/** Validates an HTTP query string into a filter (and paging); unknown parameters are refused so typos do not widen a query. */
export function parseQuery(query: Record<string, QueryValue>, now: number, shape: QueryShape): ParsedQuery {
  const known = new Set<string>([...filterParams, ...shape.extra]);
  for (const key of Object.keys(query)) {
    if (!known.has(key)) throw new FilterError(key, `unknown parameter (accepted: ${[...known].join(', ')})`);
  }
  const filter: LogFilter = {};
  if (query.from !== undefined) filter.from = parseTime('from', single('from', query.from), now);
  if (query.to !== undefined) filter.to = parseTime('to', single('to', query.to), now);
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) throw new FilterError('from', 'is after to');
  if (query.service !== undefined) filter.services = values('service', query.service);
  if (query.replica !== undefined) filter.replicas = values('replica', query.replica);
  if (query.conn !== undefined) filter.conns = values('conn', query.conn);
  if (query.session !== undefined) filter.sessions = values('session', query.session);
  if (query.level !== undefined) filter.minLevel = parseLevel(single('level', query.level));
  if (query.text !== undefined) {
    const text = single('text', query.text);
    if (text.length > 500) throw new FilterError('text', 'longer than 500 characters');
    ftsQuery(text);
    filter.text = text;
  }
  const maxLimit = shape.maxLimit ?? 1000;
  const parsed: ParsedQuery = {
    filter,
    limit: query.limit !== undefined ? integer('limit', single('limit', query.limit), 1, maxLimit) : (shape.defaultLimit ?? 100),
    tail: query.tail !== undefined ? integer('tail', single('tail', query.tail), 0, 1000) : 0,
  };
  if (query.cursor !== undefined) parsed.cursor = decodeCursor(single('cursor', query.cursor));
  return parsed;
}

export interface SummaryQuery {
  from: number;
  to: number;
  errors: number;
}

/** Summary window: `from` (default 1h ago) to `to` (default now), and how many recent errors to list (default 20). */
export function parseSummaryQuery(query: Record<string, QueryValue>, now: number): SummaryQuery {
  const known = ['from', 'to', 'errors'];
  for (const key of Object.keys(query)) {
    if (!known.includes(key)) throw new FilterError(key, `unknown parameter (accepted: ${known.join(', ')})`);
  }
  const from = query.from !== undefined ? parseTime('from', single('from', query.from), now) : now - 3_600_000;
  const to = query.to !== undefined ? parseTime('to', single('to', query.to), now) : now;
  if (from > to) throw new FilterError('from', 'is after to');
  const errors = query.errors !== undefined ? integer('errors', single('errors', query.errors), 0, 200) : 20;
  return { from, to, errors };
}
