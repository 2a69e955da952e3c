import { performance } from 'node:perf_hooks';
import { generateSelfSigned } from '@st/cert-service';
import { publishSection } from './report.js';

/**
 * Certificate figures: self-signed generation time per key type
 * (targets: RSA-2048 median under 1 s, ECDSA P-256 under 100 ms). The
 * event-to-swap delay is measured by test/src/cert-hot-swap.test.ts on every
 * CI run (under 1 s) and logged as "measured: activation to new certificate".
 */
const runs = Number(process.env.BENCH_CERT_RUNS ?? 15);
const targets: Record<string, number> = { 'rsa-2048': 1000, 'ecdsa-p256': 100 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const rows: string[] = [];
for (const [keyType, targetMs] of Object.entries(targets)) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await generateSelfSigned({ serverName: 'files.example.test', keyType: keyType as 'rsa-2048' });
    times.push(performance.now() - started);
  }
  const value = median(times);
  rows.push(
    `| self-signed generation, ${keyType}, ms | ${value.toFixed(0)} (${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)}) | < ${targetMs} | ${value < targetMs ? 'yes' : '**no**'} |`,
  );
}
await publishSection({ title: 'Certificates', intro: `${runs} runs each, in one process.`, columns: ['measurement', 'median (min–max)', { text: 'target', left: true }, 'holds'], rows });
