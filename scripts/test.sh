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
echo "tests: ${passed} passed, ${failed} failed"
if [ "$failed" != 0 ] || [ "$jest_status" != 0 ] || [ "$passed" = 0 ]; then exit 1; fi
