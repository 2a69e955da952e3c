import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { closeLogger, createLogger } from '@st/logging';
import { createLogService, LogStore, normalizeRecord, parseQuery, type IncomingRecord } from '@st/log-service';
import { publishSection } from './report.js';

/**
 * log-service figures: a filtered query over 1,000,000 stored records (target:
 * median under 100 ms) and ingest through RabbitMQ into the log-service
 * (target: at least 20,000 records/s).
 */
const storedRecords = Number(process.env.BENCH_LOG_RECORDS ?? 1_000_000);
const ingestRecords = Number(process.env.BENCH_LOG_INGEST ?? 100_000);
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const dir = await mkdtemp(join(tmpdir(), 'st-log-bench-'));
const rows: string[] = [];
try {
  // 1. Queries over a large store.
  const store = new LogStore(join(dir, 'query.db'));
  const services = ['tunnel-gateway', 'cert-service', 'config-service'];
  const levels = [20, 30, 30, 30, 40, 50];
  const start = Date.now() - storedRecords * 10;
  for (let offset = 0; offset < storedRecords; offset += 10_000) {
    const batch: IncomingRecord[] = [];
    for (let i = offset; i < Math.min(offset + 10_000, storedRecords); i++) {
      // Knuth's multiplicative hash spreads levels independently of services (i % 3 and i % 6 would correlate).
      const mixed = Math.imul(i, 2654435761) >>> 0;
      const body = { level: levels[mixed % levels.length], time: start + i * 10, service: services[i % 3], replica: `r${i % 4}`, session: `ses_${Math.floor(i / 50)}`, conn: `dat_${i}`, msg: i % 7 === 0 ? 'TLS handshake failed' : 'transfer finished', bytes: i };
      const normalized = normalizeRecord(JSON.stringify(body), { messageId: `rec-${i}`, now: Date.now() });
      if (normalized.ok) batch.push(normalized.record);
    }
    store.insert(batch);
  }
  const queries: Array<Record<string, string>> = [
    { service: 'tunnel-gateway', level: 'warn' },
    { session: `ses_${Math.floor(storedRecords / 100)}` },
    { service: 'cert-service', replica: 'r1', from: new Date(start + storedRecords * 5).toISOString() },
    { text: 'handshake', level: 'warn' },
  ];
  for (const query of queries) {
    const times: number[] = [];
    for (let run = 0; run < 15; run++) {
      const parsed = parseQuery(query, Date.now(), { extra: [] });
      const started = performance.now();
      store.query(parsed.filter, 100);
      times.push(performance.now() - started);
    }
    const value = median(times);
    rows.push(`| filtered query over ${storedRecords.toLocaleString('en')} records (${new URLSearchParams(query)}), ms | ${value.toFixed(1)} (${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)}) | < 100 | ${value < 100 ? 'yes' : '**no**'} |`);
  }
  store.close();

  // 2. Ingest: a shipping logger publishes, the log-service stores.
  const topology = { exchange: `st.logs.bench.${randomBytes(4).toString('hex')}`, queue: `st.logs.bench.${randomBytes(4).toString('hex')}` };
  const quiet = createLogger({ service: 'log-service', replica: 'bench', level: 'warn' });
  const service = createLogService({
    host: '127.0.0.1',
    port: 0,
    dbPath: join(dir, 'ingest.db'),
    operatorToken: 'bench',
    logger: quiet,
    amqp: { url: amqpUrl, ...topology },
    retention: { maxAgeMs: 86_400_000, maxBytes: 1e10, intervalMs: 3_600_000 },
  });
  const { url } = await service.start();
  const { Writable } = await import('node:stream');
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const shipper = createLogger({ service: 'tunnel-gateway', replica: 'bench', destination: sink as never, shipping: { url: amqpUrl, ...topology, capacity: ingestRecords + 1000 } });
  const started = performance.now();
  for (let i = 0; i < ingestRecords; i++) shipper.info({ session: `ses_${i >> 6}`, conn: `dat_${i}`, bytes: i }, 'transfer finished');
  const count = async () => {
    const response = await fetch(`${url}/logs/summary?from=1h`, { headers: { authorization: 'Bearer bench' } });
    const summary = (await response.json()) as { total?: number };
    return summary.total ?? 0;
  };
  let stored = 0;
  const deadline = Date.now() + 120_000;
  while ((stored = await count()) < ingestRecords && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const seconds = (performance.now() - started) / 1000;
  const rate = stored / seconds;
  rows.push(`| ingest through RabbitMQ into the log-service, records/s (${stored.toLocaleString('en')} records) | ${Math.round(rate).toLocaleString('en')} | ≥ 20,000 | ${rate >= 20_000 ? 'yes' : '**no**'} |`);
  await closeLogger(shipper);
  await service.stop();
  const { connect } = await import('amqplib');
  const connection = await connect(amqpUrl);
  const channel = await connection.createChannel();
  await channel.deleteQueue(topology.queue);
  await channel.deleteExchange(topology.exchange);
  await connection.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

await publishSection({ title: 'Log service', columns: ['measurement', 'median (min–max)', { text: 'target', left: true }, 'holds'], rows });
