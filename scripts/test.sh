#!/usr/bin/env bash
# Runs the whole test suite (unit and integration, against real Redis,
# RabbitMQ, vsftpd, curl and TLS) and ends with one line:
#   tests: N passed, N failed
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }

mkdir -p .ci/out
report=.ci/out/jest.json
rm -f "$report"
npx jest --ci --maxWorkers=2 --json --outputFile="$report" "$@"
jest_status=$?

if [ -f "$report" ]; then
  read -r passed failed < <(node -e '
    const r = require(require("path").resolve(process.argv[1]));
    // A suite that failed to run (syntax error, crash in beforeAll) counts as a failure too.
    const brokenSuites = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.every((a) => a.status !== "failed")).length;
    console.log(r.numPassedTests, r.numFailedTests + brokenSuites);
  ' "$report")
else
  passed=0; failed=1
fi
# The Docker Compose deployment is built and run for real where an engine answers
# (.ci/run starts one; COMPOSE_CHECK=0 skips it), with every compose at hand:
# Compose v2 (`docker compose`) and Debian's docker-compose 1.29. Its checks
# count like tests.
compose_status=0
composes=()
if [ "${COMPOSE_CHECK:-1}" != 0 ] && [ $# = 0 ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  if docker compose version >/dev/null 2>&1; then composes+=("docker compose"); fi
  if command -v docker-compose >/dev/null 2>&1; then composes+=("docker-compose"); fi
  [ ${#composes[@]} -gt 0 ] || composes+=("docker compose")
fi
for compose_command in "${composes[@]}"; do
  log=".ci/out/compose-check-${compose_command// /-}.log"
  COMPOSE="$compose_command" bash scripts/compose-check.sh 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  read -r compose_passed compose_failed < <(sed -n 's/^compose-check: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -n 1)
  passed=$((passed + ${compose_passed:-0}))
  failed=$((failed + ${compose_failed:-1}))
  if [ "$status" != 0 ] && [ "${compose_failed:-1}" = 0 ]; then failed=$((failed + 1)); fi
  [ "$status" = 0 ] || compose_status=$status
done
[ ${#composes[@]} -gt 0 ] || echo "compose check skipped: no Docker engine answers here (.ci/run starts one)"

echo "tests: ${passed} passed, ${failed} failed"
if [ "$failed" != 0 ] || [ "$jest_status" != 0 ] || [ "$compose_status" != 0 ] || [ "$passed" = 0 ]; then exit 1; fi
