import { appendFile } from 'node:fs/promises';
/** Pure: samples in, markdown out. */

export const terminators = ['gateway', 'gateway2w', 'stunnel', 'nginx', 'haproxy', 'relay', 'vsftpd'] as const;
export type Terminator = (typeof terminators)[number];

export const terminatorTitles: Record<Terminator, string> = {
  gateway: 'gateway',
  gateway2w: 'gateway, 2 workers',
  stunnel: 'stunnel',
  nginx: 'nginx',
  haproxy: 'HAProxy',
  relay: 'bare node relay',
  vsftpd: 'vsftpd FTPS',
};

export const metrics = [
  'httpsBulkMBps',
  'httpsBulkCpuPerGiB',
  'ftpsBulkMBps',
  'ftpsBulkCpuPerGiB',
  'keepAliveRps',
  'handshakesRsa',
  'handshakesEcdsa',
  'peakRssMB',
  'keepAliveCpuPct',
  'handshakesRsaCpuPct',
  'keepAliveCpuUs',
  'handshakesRsaCpuUs',
  'handshakesEcdsaCpuUs',
  'resumedRps',
  'resumedCpuUs',
] as const;
export type Metric = (typeof metrics)[number];

/** One measurement, and the round it was taken in (0: taken once, outside the rounds). */
export interface Sample {
  round: number;
  value: number;
}

/** Every sample taken, by metric and terminator; a failed sample is not recorded (and noted). */
export type Samples = Record<Metric, Partial<Record<Terminator, Sample[]>>>;

export function emptySamples(): Samples {
  return Object.fromEntries(metrics.map((metric) => [metric, {}])) as Samples;
}

export function addSample(samples: Samples, metric: Metric, terminator: Terminator, value: number, round = 0): void {
  if (!Number.isFinite(value)) return;
  (samples[metric][terminator] ??= []).push({ round, value });
}

function valuesOf(list: Sample[] | undefined): number[] | undefined {
  return list?.map((sample) => sample.value);
}

/**
 * `of` ÷ `against` round by round, over the rounds that have both. On a
 * shared machine whose speed drifts over minutes, the two measurements of one
 * round (taken close together) compare better than medians over rounds do;
 * the spread of these ratios shows how far one run's ratio can be trusted.
 */
export function ratiosByRound(of: Sample[] | undefined, against: Sample[] | undefined): number[] {
  const ratios: number[] = [];
  for (const sample of of ?? []) {
    // A sample taken once, outside the rounds, has no partner.
    if (sample.round === 0) continue;
    const other = against?.find((candidate) => candidate.round === sample.round);
    if (other && other.value !== 0) ratios.push(sample.value / other.value);
  }
  return ratios;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(values: number[] | undefined): Summary | undefined {
  if (!values || values.length === 0) return undefined;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

export function formatNumber(value: number, decimals: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** "640 (610–655)"; just "640" for a single sample. */
export function formatSummary(summary: Summary | undefined, decimals: number): string {
  if (!summary) return '—';
  const mid = formatNumber(summary.median, decimals);
  if (summary.n === 1 || summary.min === summary.max) return mid;
  return `${mid} (${formatNumber(summary.min, decimals)}–${formatNumber(summary.max, decimals)})`;
}

interface Cell {
  metric: Metric;
  terminator: Terminator;
  /** Shown before the value, e.g. "HTTPS " when a cell is a reference from another row. */
  prefix?: string;
}

interface Target {
  /** What is compared, e.g. "≥ 1.0× stunnel". */
  text: string;
  of: Cell;
  /** Absent: `of` is compared with `threshold` itself. */
  against?: Cell;
  threshold: number;
  direction: 'atLeast' | 'atMost' | 'below';
}

export interface RowSpec {
  label: string;
  decimals: number;
  cells: Partial<Record<Terminator, Cell>>;
  targets: Target[];
}

const cell = (metric: Metric, terminator: Terminator, prefix?: string): Cell => (prefix ? { metric, terminator, prefix } : { metric, terminator });

/** A row measured on every HTTPS terminator: the gateway (one process and two workers), stunnel, nginx, HAProxy and the bare relay. */
const httpsCells = (metric: Metric): RowSpec['cells'] => ({
  gateway: cell(metric, 'gateway'),
  gateway2w: cell(metric, 'gateway2w'),
  stunnel: cell(metric, 'stunnel'),
  nginx: cell(metric, 'nginx'),
  haproxy: cell(metric, 'haproxy'),
  relay: cell(metric, 'relay'),
});

/**
 * The table the issue asks for: one row per measurement, targets as ratios of
 * medians in this run; the last rows have no target and say what bounds a
 * terminator (100% is one core of this machine).
 */
export function reportRows(memory: { streams: number; mib: number; idleTls: number }): RowSpec[] {
  return [
  {
    label: 'HTTPS bulk download, MB/s',
    decimals: 0,
    cells: httpsCells('httpsBulkMBps'),
    targets: [{ text: '≥ 1.0× stunnel', of: cell('httpsBulkMBps', 'gateway'), against: cell('httpsBulkMBps', 'stunnel'), threshold: 1, direction: 'atLeast' }, { text: '2 workers ≥ 1.0× one process', of: cell('httpsBulkMBps', 'gateway2w'), against: cell('httpsBulkMBps', 'gateway'), threshold: 1, direction: 'atLeast' }],
  },
  {
    label: 'HTTPS bulk, terminator CPU-s/GiB',
    decimals: 2,
    cells: httpsCells('httpsBulkCpuPerGiB'),
    targets: [{ text: '≤ 1.0× stunnel', of: cell('httpsBulkCpuPerGiB', 'gateway'), against: cell('httpsBulkCpuPerGiB', 'stunnel'), threshold: 1, direction: 'atMost' }, { text: '≤ 1.0× nginx', of: cell('httpsBulkCpuPerGiB', 'gateway'), against: cell('httpsBulkCpuPerGiB', 'nginx'), threshold: 1, direction: 'atMost' }, { text: '2 workers ≤ 1.05× one process', of: cell('httpsBulkCpuPerGiB', 'gateway2w'), against: cell('httpsBulkCpuPerGiB', 'gateway'), threshold: 1.05, direction: 'atMost' }],
  },
  {
    label: 'FTPS passive bulk download, MB/s',
    decimals: 0,
    cells: { gateway: cell('ftpsBulkMBps', 'gateway'), gateway2w: cell('ftpsBulkMBps', 'gateway2w'), stunnel: cell('httpsBulkMBps', 'stunnel', 'HTTPS: '), vsftpd: cell('ftpsBulkMBps', 'vsftpd') },
    targets: [
      { text: '≥ 1.0× stunnel HTTPS', of: cell('ftpsBulkMBps', 'gateway'), against: cell('httpsBulkMBps', 'stunnel'), threshold: 1, direction: 'atLeast' },
      { text: '≥ 0.9× vsftpd FTPS', of: cell('ftpsBulkMBps', 'gateway'), against: cell('ftpsBulkMBps', 'vsftpd'), threshold: 0.9, direction: 'atLeast' },
      { text: '2 workers ≥ 0.97× one process', of: cell('ftpsBulkMBps', 'gateway2w'), against: cell('ftpsBulkMBps', 'gateway'), threshold: 0.97, direction: 'atLeast' },
    ],
  },
  {
    label: 'FTPS bulk, terminator CPU-s/GiB',
    decimals: 2,
    cells: { gateway: cell('ftpsBulkCpuPerGiB', 'gateway'), gateway2w: cell('ftpsBulkCpuPerGiB', 'gateway2w'), stunnel: cell('httpsBulkCpuPerGiB', 'stunnel', 'HTTPS: '), vsftpd: cell('ftpsBulkCpuPerGiB', 'vsftpd') },
    targets: [
      { text: '≤ 1.0× stunnel HTTPS', of: cell('ftpsBulkCpuPerGiB', 'gateway'), against: cell('httpsBulkCpuPerGiB', 'stunnel'), threshold: 1, direction: 'atMost' },
      { text: '≤ 1.0× nginx HTTPS', of: cell('ftpsBulkCpuPerGiB', 'gateway'), against: cell('httpsBulkCpuPerGiB', 'nginx'), threshold: 1, direction: 'atMost' },
      { text: '2 workers ≤ 1.05× one process', of: cell('ftpsBulkCpuPerGiB', 'gateway2w'), against: cell('ftpsBulkCpuPerGiB', 'gateway'), threshold: 1.05, direction: 'atMost' },
    ],
  },
  {
    label: 'HTTPS keep-alive requests/s (1 KiB, 64 conns)',
    decimals: 0,
    cells: httpsCells('keepAliveRps'),
    targets: [{ text: '≥ 0.5× stunnel', of: cell('keepAliveRps', 'gateway'), against: cell('keepAliveRps', 'stunnel'), threshold: 0.5, direction: 'atLeast' }, { text: '2 workers ≥ 1.0× one process', of: cell('keepAliveRps', 'gateway2w'), against: cell('keepAliveRps', 'gateway'), threshold: 1, direction: 'atLeast' }],
  },
  {
    label: 'full TLS handshakes/s, RSA-2048',
    decimals: 0,
    cells: httpsCells('handshakesRsa'),
    targets: [{ text: '≥ 0.9× bare node relay', of: cell('handshakesRsa', 'gateway'), against: cell('handshakesRsa', 'relay'), threshold: 0.9, direction: 'atLeast' }, { text: '2 workers ≥ 1.0× one process', of: cell('handshakesRsa', 'gateway2w'), against: cell('handshakesRsa', 'gateway'), threshold: 1, direction: 'atLeast' }],
  },
  {
    label: 'full TLS handshakes/s, ECDSA P-256',
    decimals: 0,
    cells: httpsCells('handshakesEcdsa'),
    targets: [
      { text: '≥ 0.9× bare node relay', of: cell('handshakesEcdsa', 'gateway'), against: cell('handshakesEcdsa', 'relay'), threshold: 0.9, direction: 'atLeast' },
      { text: '≥ 1.0× stunnel RSA', of: cell('handshakesEcdsa', 'gateway'), against: cell('handshakesRsa', 'stunnel'), threshold: 1, direction: 'atLeast' },
      { text: '2 workers ≥ 1.0× one process', of: cell('handshakesEcdsa', 'gateway2w'), against: cell('handshakesEcdsa', 'gateway'), threshold: 1, direction: 'atLeast' },
    ],
  },
  {
    label: `peak RSS during ${memory.streams}×${memory.mib} MiB FTPS with ${memory.idleTls} idle TLS connections, MB`,
    decimals: 0,
    cells: { gateway: cell('peakRssMB', 'gateway') },
    // The idle connections are the larger part: their target is the one for both together.
    targets: [
      memory.idleTls > 0
        ? { text: '< 300 MB', of: cell('peakRssMB', 'gateway'), threshold: 300, direction: 'below' }
        : { text: '< 200 MB', of: cell('peakRssMB', 'gateway'), threshold: 200, direction: 'below' },
    ],
  },
  {
    label: 'CPU µs per keep-alive request',
    decimals: 1,
    cells: httpsCells('keepAliveCpuUs'),
    targets: [
      { text: '≤ 1.0× bare node relay', of: cell('keepAliveCpuUs', 'gateway'), against: cell('keepAliveCpuUs', 'relay'), threshold: 1, direction: 'atMost' },
      { text: '2 workers ≤ 1.05× one process', of: cell('keepAliveCpuUs', 'gateway2w'), against: cell('keepAliveCpuUs', 'gateway'), threshold: 1.05, direction: 'atMost' },
    ],
  },
  {
    label: 'CPU µs per full handshake, RSA-2048',
    decimals: 0,
    cells: httpsCells('handshakesRsaCpuUs'),
    targets: [
      { text: '≤ 1.1× nginx', of: cell('handshakesRsaCpuUs', 'gateway'), against: cell('handshakesRsaCpuUs', 'nginx'), threshold: 1.1, direction: 'atMost' },
      { text: '2 workers ≤ 1.05× one process', of: cell('handshakesRsaCpuUs', 'gateway2w'), against: cell('handshakesRsaCpuUs', 'gateway'), threshold: 1.05, direction: 'atMost' },
    ],
  },
  {
    label: 'CPU µs per full handshake, ECDSA P-256',
    decimals: 0,
    cells: httpsCells('handshakesEcdsaCpuUs'),
    targets: [
      { text: '≤ 1.1× nginx', of: cell('handshakesEcdsaCpuUs', 'gateway'), against: cell('handshakesEcdsaCpuUs', 'nginx'), threshold: 1.1, direction: 'atMost' },
      { text: '2 workers ≤ 1.05× one process', of: cell('handshakesEcdsaCpuUs', 'gateway2w'), against: cell('handshakesEcdsaCpuUs', 'gateway'), threshold: 1.05, direction: 'atMost' },
    ],
  },
  {
    label: 'resumed TLS connections/s (one request each, wrk Connection: close)',
    decimals: 0,
    cells: httpsCells('resumedRps'),
    targets: [{ text: '≥ 1.0× stunnel', of: cell('resumedRps', 'gateway'), against: cell('resumedRps', 'stunnel'), threshold: 1, direction: 'atLeast' }],
  },
  {
    label: 'CPU µs per resumed connection',
    decimals: 0,
    cells: httpsCells('resumedCpuUs'),
    targets: [{ text: '≤ 0.6× its own full RSA handshake', of: cell('resumedCpuUs', 'gateway'), against: cell('handshakesRsaCpuUs', 'gateway'), threshold: 0.6, direction: 'atMost' }],
  },
  {
    label: 'terminator CPU during keep-alive run, % of a core',
    decimals: 0,
    cells: { gateway: cell('keepAliveCpuPct', 'gateway'), stunnel: cell('keepAliveCpuPct', 'stunnel'), nginx: cell('keepAliveCpuPct', 'nginx'), haproxy: cell('keepAliveCpuPct', 'haproxy'), relay: cell('keepAliveCpuPct', 'relay') },
    targets: [],
  },
  {
    label: 'terminator CPU during RSA handshake run, % of a core',
    decimals: 0,
    cells: { gateway: cell('handshakesRsaCpuPct', 'gateway'), stunnel: cell('handshakesRsaCpuPct', 'stunnel'), nginx: cell('handshakesRsaCpuPct', 'nginx'), haproxy: cell('handshakesRsaCpuPct', 'haproxy'), relay: cell('handshakesRsaCpuPct', 'relay') },
    targets: [],
  },
  ];
}

export interface TargetResult {
  text: string;
  ratio: number | undefined;
  /** The same ratio taken round by round (see ratiosByRound), when there are two rounds or more. */
  byRound?: Summary;
  holds: boolean | undefined;
}

export function evaluateTarget(samples: Samples, target: Target): TargetResult {
  const ofSamples = samples[target.of.metric][target.of.terminator];
  const againstSamples = target.against ? samples[target.against.metric][target.against.terminator] : undefined;
  const of = summarize(valuesOf(ofSamples));
  const against = target.against ? summarize(valuesOf(againstSamples)) : undefined;
  if (!of || (target.against && !against)) return { text: target.text, ratio: undefined, holds: undefined };
  const value = against ? of.median / against.median : of.median;
  const holds = target.direction === 'atLeast' ? value >= target.threshold : target.direction === 'atMost' ? value <= target.threshold : value < target.threshold;
  if (!against) return { text: target.text, ratio: undefined, holds };
  const byRound = summarize(ratiosByRound(ofSamples, againstSamples));
  return { text: target.text, ratio: value, ...(byRound && byRound.n >= 2 ? { byRound } : {}), holds };
}

export function evaluateAll(samples: Samples, rows: RowSpec[]): Array<{ row: RowSpec; results: TargetResult[] }> {
  return rows.map((row) => ({ row, results: row.targets.map((target) => evaluateTarget(samples, target)) }));
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function renderTable(samples: Samples, rows: RowSpec[]): string {
  const header = ['measurement', ...terminators.map((t) => terminatorTitles[t]), 'target', 'measured', 'holds'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 || i === header.length - 3 ? '---' : '---:')).join('|')}|`];
  for (const { row, results } of evaluateAll(samples, rows)) {
    const values = terminators.map((terminator) => {
      const spec = row.cells[terminator];
      if (!spec) return '';
      const text = formatSummary(summarize(valuesOf(samples[spec.metric][spec.terminator])), row.decimals);
      return text === '—' ? text : `${spec.prefix ?? ''}${text}`;
    });
    const measured = results.map((result) => {
      if (result.holds === undefined) return 'n/a';
      if (result.ratio !== undefined) {
        const byRound = result.byRound ? ` (by round ${formatNumber(result.byRound.median, 2)}, ${formatNumber(result.byRound.min, 2)}–${formatNumber(result.byRound.max, 2)})` : '';
        return `${formatNumber(result.ratio, 2)}×${byRound}`;
      }
      const spec = row.targets.find((t) => t.text === result.text)!;
      return formatSummary(summarize(valuesOf(samples[spec.of.metric][spec.of.terminator])), row.decimals);
    });
    const holds = results.map((result) => (result.holds === undefined ? 'n/a' : result.holds ? 'yes' : '**no**'));
    const targetCells = results.length > 0 ? [results.map((r) => r.text).join('; '), measured.join('; '), holds.join('; ')] : ['(info)', '', ''];
    lines.push(`| ${[row.label, ...values, ...targetCells].map(escapeCell).join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface ReportInput {
  title: string;
  /** Lines of "key: value" describing the run (machine, versions, sizes). */
  setup: string[];
  samples: Samples;
  rows: RowSpec[];
  notes: string[];
  /** Extra sections (e.g. a CPU profile summary), already markdown. */
  sections?: string[];
}

export function renderReport(input: ReportInput): string {
  const parts = [
    `# ${input.title}`,
    '',
    ...input.setup.map((line) => `- ${line}`),
    '',
    renderTable(input.samples, input.rows),
    '',
    'Cells: median (min–max) over the rounds. Targets compare medians within this run; "by round" is the same ratio taken within each round (median, min–max). MB = 10^6 bytes; CPU-s/GiB is user+system time of the terminator\'s own processes (from /proc) per 2^30 bytes delivered.',
  ];
  if (input.notes.length > 0) parts.push('', '## Notes', '', ...input.notes.map((note) => `- ${note}`));
  for (const section of input.sections ?? []) parts.push('', section);
  return `${parts.join('\n')}\n`;
}

/**
 * A section the bench's later steps add to the report: printed, and appended
 * to the report file (BENCH_OUT, test/bench-results/latest.md by default;
 * "-" for none). `columns`' first is left-aligned, the others right-aligned
 * unless given as `{ text, left: true }`.
 */
export async function publishSection(section: { title: string; intro?: string; columns: Array<string | { text: string; left: true }>; rows: string[] }): Promise<void> {
  const names = section.columns.map((column) => (typeof column === 'string' ? column : column.text));
  const rule = section.columns.map((column, i) => (i === 0 || typeof column !== 'string' ? '---' : '---:'));
  const text = ['', `## ${section.title}`, '', ...(section.intro ? [section.intro, ''] : []), `| ${names.join(' | ')} |`, `|${rule.join('|')}|`, ...section.rows, ''].join('\n');
  process.stdout.write(`${text}\n`);
  const out = process.env.BENCH_OUT ?? 'test/bench-results/latest.md';
  if (out !== '-') await appendFile(out, text);
}
