import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { logLevels } from '@st/contracts';
import { ftsQuery, type Cursor, type LogFilter } from './filter.js';
import type { IncomingRecord } from './record.js';
import { levelName } from './record.js';

/** A stored record: its ingest position (seq), time, and the record's JSON text. */
export interface StoredRow {
  seq: number;
  time: number;
  body: string;
}

export interface Page {
  rows: StoredRow[];
  /** Where the next (older) page starts; undefined on the last page. */
  next?: Cursor;
}

export interface InsertResult {
  stored: number;
  duplicates: number;
}

export interface RetentionPolicy {
  /** Records older than this (by their own time) are removed. */
  maxAgeMs: number;
  /** The database's used size is brought back under this, oldest records first. */
  maxBytes: number;
}

export interface RetentionResult {
  removedByAge: number;
  removedBySize: number;
  usedBytes: number;
}

export interface Summary {
  from: number;
  to: number;
  total: number;
  services: Array<{ service: string; total: number; levels: Record<string, number> }>;
  recentErrors: StoredRow[];
}

const schema = `
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL,
  time INTEGER NOT NULL,
  level INTEGER NOT NULL,
  service TEXT NOT NULL,
  replica TEXT NOT NULL,
  session TEXT,
  conn TEXT,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_record_id ON records(record_id);
CREATE INDEX IF NOT EXISTS records_time ON records(time);
CREATE INDEX IF NOT EXISTS records_service_time ON records(service, time);
DROP INDEX IF EXISTS records_level_time;
-- Warnings and worse are few: a small partial index serves "level=warn" and "level=error" queries.
CREATE INDEX IF NOT EXISTS records_problems_time ON records(time) WHERE level >= 40;
CREATE INDEX IF NOT EXISTS records_session_time ON records(session, time) WHERE session IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_conn_time ON records(conn, time) WHERE conn IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(text, content='', contentless_delete=1);
CREATE TRIGGER IF NOT EXISTS records_fts_delete AFTER DELETE ON records BEGIN
  DELETE FROM records_fts WHERE rowid = old.seq;
END;
`;

interface Where {
  sql: string;
  params: Array<string | number>;
}

/**
 * How the text filter joins the rest. `lookup`: fetch the matching records by
 * seq (cheap when few match). `scan`: walk the time (or another filter's) index
 * and test each seq against the matches, stopping at the page size (cheap when
 * many match; sorting 100,000 matches by time would not be). `after`: only
 * matches newer than a seq (follow).
 */
export type TextPlan = { kind: 'lookup' } | { kind: 'scan' } | { kind: 'after'; seq: number };

/** The WHERE clause for a filter; every value is a bound parameter. */
export function whereClause(
  filter: LogFilter,
  extra: string[] = [],
  extraParams: Array<string | number> = [],
  textPlan: TextPlan = { kind: 'lookup' },
): Where {
  const clauses: string[] = [];
  const params: Array<string | number> = [];
  const list = (column: string, items: string[] | undefined) => {
    if (!items || items.length === 0) return;
    if (items.length === 1) clauses.push(`${column} = ?`);
    else clauses.push(`${column} IN (${items.map(() => '?').join(', ')})`);
    params.push(...items);
  };
  if (filter.from !== undefined) {
    clauses.push('time >= ?');
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    clauses.push('time <= ?');
    params.push(filter.to);
  }
  list('service', filter.services);
  list('replica', filter.replicas);
  list('session', filter.sessions);
  list('conn', filter.conns);
  if (filter.minLevel !== undefined && filter.minLevel > logLevels.trace) {
    // SQLite uses a partial index only when the query repeats its condition literally.
    if (filter.minLevel >= logLevels.warn) clauses.push(`level >= ${logLevels.warn}`);
    clauses.push('level >= ?');
    params.push(filter.minLevel);
  }
  if (filter.text !== undefined) {
    if (textPlan.kind === 'after') {
      clauses.push('seq IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ? AND rowid > ?)');
      params.push(ftsQuery(filter.text), textPlan.seq);
    } else {
      // The unary + keeps SQLite from driving the query by seq, so it walks an index in time order instead.
      clauses.push(`${textPlan.kind === 'scan' ? '+seq' : 'seq'} IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)`);
      params.push(ftsQuery(filter.text));
    }
  }
  clauses.push(...extra);
  params.push(...extraParams);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export interface StoreOptions {
  /**
   * SQLite's synchronous setting. With WAL, NORMAL already keeps every committed
   * (and so acknowledged) batch through a crash of the log-service; FULL also
   * through a power cut or kernel crash, at an fsync per batch.
   */
  synchronous?: 'FULL' | 'NORMAL';
}

/** Above this many text matches, a query walks its index in time order instead of sorting every match. */
const manyTextMatches = 2_000;

/**
 * SQLite storage for log records. One writer (the ingest), many readers (the
 * API) through WAL. Queries are newest first by the record's time, with the
 * ingest sequence number breaking ties, and use an index per filter.
 */
export class LogStore {
  private readonly db: Database.Database;
  private readonly listeners = new Set<(lastSeq: number) => void>();
  private readonly insertRecord: Database.Statement;
  private readonly insertText: Database.Statement;
  private readonly insertMany: (records: IncomingRecord[]) => InsertResult;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly path: string,
    options: StoreOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    // auto_vacuum only takes effect on a new database; it lets retention give space back to the file system.
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.pragma('cache_size = -32768');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(schema);
    this.insertRecord = this.db.prepare(
      `INSERT INTO records (record_id, time, level, service, replica, session, conn, body)
       VALUES (@recordId, @time, @level, @service, @replica, @session, @conn, @body)
       ON CONFLICT(record_id) DO NOTHING`,
    );
    this.insertText = this.db.prepare('INSERT INTO records_fts (rowid, text) VALUES (?, ?)');
    this.insertMany = this.db.transaction((records: IncomingRecord[]) => {
      let stored = 0;
      for (const record of records) {
        const result = this.insertRecord.run(record);
        if (result.changes === 0) continue;
        stored++;
        this.insertText.run(result.lastInsertRowid, record.text);
      }
      return { stored, duplicates: records.length - stored };
    });
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Stores records in one transaction; a record whose id is already stored is skipped. */
  insert(records: IncomingRecord[]): InsertResult {
    if (records.length === 0) return { stored: 0, duplicates: 0 };
    const result = this.insertMany(records);
    if (result.stored > 0) {
      const last = this.latestSeq();
      for (const listener of this.listeners) listener(last);
    }
    return result;
  }

  /** Called after each insert that stored something, with the newest seq. */
  onStored(listener: (lastSeq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latestSeq(): number {
    const row = this.prepared('SELECT seq FROM sqlite_sequence WHERE name = ?').get('records') as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /** Newest first; `before` continues after the last row of the previous page. */
  query(filter: LogFilter, limit: number, before?: Cursor): Page {
    const plan = this.textPlan(filter);
    const where = before
      ? whereClause(filter, ['(time, seq) < (?, ?)'], [before.time, before.seq], plan)
      : whereClause(filter, [], [], plan);
    const rows = this.prepared(`SELECT seq, time, body FROM records ${where.sql} ORDER BY time DESC, seq DESC LIMIT ?`).all(
      ...where.params,
      limit + 1,
    ) as StoredRow[];
    if (rows.length <= limit) return { rows };
    rows.length = limit;
    const last = rows[limit - 1] as StoredRow;
    return { rows, next: { time: last.time, seq: last.seq } };
  }

  private textPlan(filter: LogFilter): TextPlan {
    if (filter.text === undefined) return { kind: 'lookup' };
    const matches = this.prepared(`SELECT count(*) AS n FROM (SELECT rowid FROM records_fts WHERE records_fts MATCH ? LIMIT ${manyTextMatches})`).get(
      ftsQuery(filter.text),
    ) as { n: number };
    return matches.n >= manyTextMatches ? { kind: 'scan' } : { kind: 'lookup' };
  }

  /** Records stored after `seq` in ingest order (follow). */
  after(filter: LogFilter, seq: number, limit: number): StoredRow[] {
    const where = whereClause(filter, ['seq > ?'], [seq], { kind: 'after', seq });
    return this.prepared(`SELECT seq, time, body FROM records ${where.sql} ORDER BY seq LIMIT ?`).all(...where.params, limit) as StoredRow[];
  }

  summary(from: number, to: number, errorsLimit: number): Summary {
    const counts = this.prepared(
      'SELECT service, level, count(*) AS n FROM records WHERE time >= ? AND time <= ? GROUP BY service, level ORDER BY service, level',
    ).all(from, to) as Array<{ service: string; level: number; n: number }>;
    const services = new Map<string, { service: string; total: number; levels: Record<string, number> }>();
    let total = 0;
    for (const { service, level, n } of counts) {
      let entry = services.get(service);
      if (!entry) services.set(service, (entry = { service, total: 0, levels: {} }));
      const name = levelName(level);
      entry.levels[name] = (entry.levels[name] ?? 0) + n;
      entry.total += n;
      total += n;
    }
    const recentErrors = this.query({ from, to, minLevel: logLevels.error }, errorsLimit).rows;
    return { from, to, total, services: [...services.values()], recentErrors };
  }

  count(filter: LogFilter = {}): number {
    const where = whereClause(filter);
    return (this.prepared(`SELECT count(*) AS n FROM records ${where.sql}`).get(...where.params) as { n: number }).n;
  }

  /** Bytes in use by the database (pages not on the free list). */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /**
   * Removes records past the age limit, then the oldest records until the used
   * size is back under 90% of the limit (so it does not run on every record).
   * Deletes in chunks so the ingest never waits long for the write lock.
   */
  applyRetention(policy: RetentionPolicy, now: number = Date.now()): RetentionResult {
    const chunk = 5_000;
    const deleteOlder = this.prepared(`DELETE FROM records WHERE seq IN (SELECT seq FROM records WHERE time < ? ORDER BY time LIMIT ${chunk})`);
    let removedByAge = 0;
    for (;;) {
      const { changes } = deleteOlder.run(now - policy.maxAgeMs);
      removedByAge += changes;
      if (changes < chunk) break;
    }

    let removedBySize = 0;
    let used = this.usedBytes();
    if (used > policy.maxBytes) {
      const target = policy.maxBytes * 0.9;
      const deleteOldest = this.prepared('DELETE FROM records WHERE seq IN (SELECT seq FROM records ORDER BY time, seq LIMIT ?)');
      // Freed pages are only known after the fact, so estimate from the average record size, and check again.
      for (let round = 0; round < 20 && used > target; round++) {
        const records = this.count();
        if (records === 0) break;
        const perRecord = used / records;
        let toRemove = Math.min(records, Math.max(100, Math.ceil((used - target) / perRecord)));
        while (toRemove > 0) {
          const { changes } = deleteOldest.run(Math.min(chunk, toRemove));
          removedBySize += changes;
          toRemove -= changes;
          if (changes === 0) break;
        }
        used = this.usedBytes();
      }
    }
    if (removedByAge + removedBySize > 0) {
      this.db.pragma('incremental_vacuum');
      this.db.pragma('optimize');
    }
    return { removedByAge, removedBySize, usedBytes: used };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
