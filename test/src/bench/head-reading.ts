/**
 * What reading one HTTP head costs the relay: the one-pass reading of
 * regular heads that the gateway uses, beside the line-by-line parser that
 * words every refusal (and that reads the heads the one-pass reading hands
 * over), on heads that clients and file servers send. The relay reads one
 * request head and one response head per request, so on a keep-alive
 * connection these are a direct part of the CPU per request in the main
 * report. Times are wall-clock per call in this process, after a warm-up.
 *
 * Knobs: BENCH_HEAD_CALLS (200000 per measurement), BENCH_OUT; skipped when
 * BENCH_ONLY leaves out `keepalive`.
 */
import { parseRequestHeadByLines, parseResponseHeadByLines, readRequestHead, readResponseHead } from '@st/tunnel-gateway';
import { intEnv } from './bench-env.js';
import { formatSummary, publishSection, summarize } from './report.js';

const log = (message: string) => process.stderr.write(`[bench head-reading] ${message}\n`);

const only = (process.env.BENCH_ONLY ?? '').split(',').map((phase) => phase.trim()).filter(Boolean);
if (only.length > 0 && !only.includes('keepalive')) process.exit(0);

let calls: number;
try {
  calls = intEnv(process.env, 'BENCH_HEAD_CALLS', 200_000);
} catch (error) {
  log((error as Error).message);
  process.exit(2);
}
const rounds = 5;

const GET = { method: 'GET', upgrade: false };
const heads: Array<{ label: string; text: string; request: boolean }> = [
  { label: 'request, wrk (2 lines)', request: true, text: 'GET /small.bin HTTP/1.1\r\nHost: 127.0.0.1:8443' },
  {
    label: 'request, a browser (12 lines)',
    request: true,
    text: [
      'GET /files/report.pdf HTTP/1.1',
      'Host: files.example.com',
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'Accept-Language: en-US,en;q=0.5',
      'Accept-Encoding: gzip, deflate, br',
      'Connection: keep-alive',
      'Cookie: session=abcdef0123456789; theme=dark',
      'Upgrade-Insecure-Requests: 1',
      'Sec-Fetch-Dest: document',
      'Sec-Fetch-Mode: navigate',
      'Sec-Fetch-Site: none',
    ].join('\r\n'),
  },
  {
    label: 'response, nginx serving a file (9 lines)',
    request: false,
    text: [
      'HTTP/1.1 200 OK',
      'Server: nginx/1.22.1',
      'Date: Fri, 04 Dec 2026 16:20:00 GMT',
      'Content-Type: application/octet-stream',
      'Content-Length: 1024',
      'Last-Modified: Fri, 04 Dec 2026 16:10:00 GMT',
      'Connection: keep-alive',
      'ETag: "6751a0b8-400"',
      'Accept-Ranges: bytes',
    ].join('\r\n'),
  },
];

/** Nanoseconds per call of `read`, median (min–max) over the rounds. */
function time(read: () => { body: unknown }): ReturnType<typeof summarize> {
  for (let i = 0; i < calls / 4; i++) read();
  const perCall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    // Every result is looked at, so the compiler cannot drop the calls.
    for (let i = 0; i < calls; i++) if (read().body === undefined) throw new Error('a head read without its body framing');
    perCall.push(Number(process.hrtime.bigint() - started) / calls);
  }
  return summarize(perCall);
}

const rows: string[] = [];
for (const head of heads) {
  // As the relay has them: the head's bytes inside a larger read, without the empty line.
  const data = Buffer.from(`${head.text}\r\n\r\nbody`, 'latin1');
  const end = head.text.length;
  const onePass = head.request ? time(() => readRequestHead(data, 0, end)) : time(() => readResponseHead(data, 0, end, GET));
  const byLines = head.request ? time(() => parseRequestHeadByLines(data.toString('latin1', 0, end))) : time(() => parseResponseHeadByLines(data.toString('latin1', 0, end), GET));
  const ratio = onePass && byLines ? (onePass.median / byLines.median).toFixed(2) : '—';
  rows.push(`| ${head.label} | ${formatSummary(onePass, 0)} | ${formatSummary(byLines, 0)} | ${ratio}× |`);
  log(`${head.label}: ${formatSummary(onePass, 0)} ns one pass, ${formatSummary(byLines, 0)} ns line by line`);
}
await publishSection({
  title: 'Reading one HTTP head',
  intro: `ns per head in this process, median (min–max) of ${rounds} runs of ${calls.toLocaleString('en-US')} calls: the one-pass reading the relay uses for regular heads, and the line-by-line parser (which words refusals and reads whatever the one pass hands over), each from the bytes of a read.`,
  columns: ['head', 'one pass', 'line by line', 'one pass ÷ line by line'],
  rows,
});
