/**
 * `node check-ports-cli.js "what=host:port" "what=host:from-to" …`: binds each
 * port once and prints one line per port that cannot be opened, naming what
 * needs it and the process holding it. Exit 0: all free; 1: some taken; 2:
 * bad arguments. scripts/start.sh runs it before starting anything.
 */
import { checkPorts, describePortProblem, parsePortNeed, type PortNeed } from './port-check.js';

let needs: PortNeed[];
try {
  needs = process.argv.slice(2).map(parsePortNeed);
} catch (error) {
  process.stderr.write(`check-ports: ${(error as Error).message}\n`);
  process.exit(2);
}
const problems = await checkPorts(needs);
for (const problem of problems) process.stdout.write(`${describePortProblem(problem)}\n`);
process.exit(problems.length > 0 ? 1 : 0);
