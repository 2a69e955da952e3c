import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Services log to stdout through a batched asynchronous writer; the lines
 * still pending when the process ends must come out however it ends. Runs the
 * built library (scripts/bootstrap.sh builds it) in a child process.
 */
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function run(ending: string, lines = 2000): { stdout: string; stderr: string; status: number | null } {
  const script = `
    import { createLogger, logDeferred } from ${JSON.stringify(built)};
    const logger = createLogger({ service: 'exit-test', replica: 'r1' }, {});
    for (let n = 0; n < ${lines} - 1; n++) logger.info({ n, padding: 'x'.repeat(100) }, 'line');
    logDeferred(logger, 'info', { n: ${lines} - 1 }, 'deferred line');
    ${ending}
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe('stdout lines pending at exit', () => {
  beforeAll(() => {
    if (!existsSync(built)) throw new Error(`${built} is missing: build the workspace first (pnpm -r build)`);
  });

  it.each([
    { name: 'the event loop runs out', ending: '', status: 0 },
    { name: 'process.exit(3)', ending: 'process.exit(3);', status: 3 },
    { name: 'an uncaught exception', ending: "throw new Error('boom');", status: 1 },
    { name: 'an exception thrown later from a timer', ending: "setTimeout(() => { throw new Error('boom'); }, 5);", status: 1 },
    { name: 'an unhandled rejection', ending: "Promise.reject(new Error('boom'));", status: 1 },
  ])('all come out when $name', ({ ending, status }) => {
    const result = run(ending);
    expect(result.status).toBe(status);
    // Every line once and whole; at exit, a piece the thread pool was still writing may land after the last lines.
    const records = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { n: number; service: string });
    expect(records.map((record) => record.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, n) => n));
    expect(records.every((record) => record.service === 'exit-test')).toBe(true);
    if (status === 1) expect(result.stderr).toContain('boom');
  });
});
