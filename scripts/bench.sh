#!/usr/bin/env bash
# Benchmarks the gateway against stunnel, nginx, HAProxy, a bare Node TLS relay
# and vsftpd's own implicit FTPS, side by side on loopback. Prints a markdown
# table and writes it to test/bench-results/latest.md.
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_BULK_MIB (1024), BENCH_WRK_SECONDS (10),
# BENCH_WRK_CONNECTIONS (64), BENCH_AB_REQUESTS (5000), BENCH_AB_SECONDS (15),
# BENCH_AB_CONCURRENCY (16), BENCH_MEM_STREAMS (20), BENCH_MEM_MIB (100),
# BENCH_NGINX_WORKERS (auto), BENCH_ONLY (https-bulk,ftps-bulk,keepalive,handshakes,resumed,memory),
# BENCH_WARMUP (1), BENCH_TIME_LIMIT_MIN (40), BENCH_OUT (path; "-" for none),
# BENCH_GATEWAY_LOG_LEVEL, BENCH_CPU_PROFILE (directory: run the gateway with
# node --cpu-prof and summarise the profile), BENCH_KEEP_TMP=1, BENCH_FLOOR_ROUNDS (5), BENCH_HEAD_CALLS (200000).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bench] %s\n' "$*" >&2; }

# The bench runs vsftpd with a local account and installs Debian packages: root only.
if [ "$(id -u)" != 0 ]; then log "run as root (vsftpd needs a local FTP account)"; exit 1; fi

# Installs vsftpd, nginx, stunnel4, curl and openssl, starts Redis, installs
# node modules and builds; the bench adds its load generators.
bash scripts/bootstrap.sh

missing=()
for pkg in wrk apache2-utils procps; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# bootstrap.sh built the workspace, test/ included (the bench compiles to test/dist/bench).
node test/dist/bench/main.js
# What a full handshake costs a bare Node TLS server against nginx (the floor under the gateway's
# handshake figures), what reading one HTTP head costs, certificate generation and log-service figures are appended to the same report.
node test/dist/bench/tls-floor.js
node test/dist/bench/head-reading.js
node test/dist/bench/cert-generation.js
exec node test/dist/bench/log-service.js
