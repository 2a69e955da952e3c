export { createLogService, buildLogApp, type LogService, type LogServiceConfig, type StartedService } from './service.js';
export { LogStore, whereClause, type StoredRow, type Page, type RetentionPolicy, type RetentionResult, type Summary } from './store.js';
export { LogIngest, type IngestOptions, type IngestStats } from './ingest.js';
export { normalizeRecord, levelNumber, levelName, searchableText, type IncomingRecord } from './record.js';
export { parseQuery, parseSummaryQuery, parseTime, parseDuration, ftsQuery, encodeCursor, decodeCursor, FilterError, type LogFilter, type Cursor } from './filter.js';
export { settingsFromEnv, parseBytes, parseMs, type LogServiceSettings } from './config.js';
export { openEventStream, type EventStream, type ReceivedEvent } from './event-stream.js';
