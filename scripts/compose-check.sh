#!/usr/bin/env bash
# Smoke test of the Docker Compose deployment, as an operator would run it:
# builds the images, starts the stack with the demo file server, waits for
# every health check, then through the published ports: HTTPS GET, implicit
# FTPS upload + download in PASV and EPSV (byte-compared), activates a new
# certificate through the cert-service API and sees it on a new connection,
# scales the gateway to 3 replicas behind the balancer and repeats the
# transfers, restarts one replica during transfers and checks the others,
# follows a session through the log-service API, and finally `down -v`.
#
# Needs a Docker engine, docker-compose 1.29 or Compose v2, curl, jq, openssl.
# Where no image registry is reachable, stand-in base images are built from
# Debian's packages (deploy/standin/build.sh). Prints one line per check and
# ends with "compose-check: N passed, N failed" (exit 1 on any failure).
#
# Settings: COMPOSE_CHECK_HTTPS_PORT (443), COMPOSE_CHECK_FTPS_PORT (990),
# COMPOSE_CHECK_EXPLICIT_FTPS_PORT (a free port),
# COMPOSE_CHECK_PASSIVE_RANGE (4000-4008), COMPOSE_CHECK_KEEP=1 (leave the
# stack running), COMPOSE (the compose command; default: `docker compose` if
# present, else `docker-compose`).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { # description, command...
  local description=$1; shift
  if "$@"; then ok "$description"; else not_ok "$description"; fi
}
say() { echo "# $*"; }
finish() {
  echo "compose-check: $passed passed, $failed failed"
  [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
  exit $?
}
die() { not_ok "$*"; finish; }

command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "a Docker engine answers (docker info)"
for tool in curl jq openssl cmp; do command -v "$tool" >/dev/null || die "$tool is installed"; done
if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
fi
command -v "${COMPOSE%% *}" >/dev/null || die "a compose command is installed ($COMPOSE)"
say "compose: $($COMPOSE version 2>/dev/null | head -n 1)"

export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-stcheck$$}
export HTTPS_PORT=${COMPOSE_CHECK_HTTPS_PORT:-443} FTPS_PORT=${COMPOSE_CHECK_FTPS_PORT:-990}
export PUBLIC_PASSIVE_RANGE=${COMPOSE_CHECK_PASSIVE_RANGE:-4000-4008}
export PUBLIC_ADDRESS=127.0.0.1 SERVER_NAME=localhost
# A data link's lease lives twice the data idle limit (at least 30 s) after its
# replica vanishes: a short limit keeps the wait for leftover leases short.
export DATA_IDLE_TIMEOUT_MS=15000
# The host ports of the APIs: free ones, so a Quick start running beside this does not collide.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
export CONFIG_PORT=$(free_port) CERT_PORT=$(free_port) LOG_SERVICE_PORT=$(free_port) CONSOLE_PORT=$(free_port)
# Explicit FTPS is on 21 by default; a free port keeps this check off a host FTP server.
export EXPLICIT_FTPS_PORT=${COMPOSE_CHECK_EXPLICIT_FTPS_PORT:-$(free_port)}
export COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0
compose() { $COMPOSE --profile demo "$@"; }

work=$(mktemp -d)
cleanup() {
  if [ "${COMPOSE_CHECK_KEEP:-0}" = 1 ]; then
    say "left running: project $COMPOSE_PROJECT_NAME (stop it with: COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT_NAME $COMPOSE --profile demo down -v)"
  else
    compose down -v --remove-orphans >"$work/down.log" 2>&1 || cat "$work/down.log"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/compose-secrets.sh >/dev/null || die "secrets created (scripts/compose-secrets.sh)"
admin_token=$(cat .data/secrets/admin-token) operator_token=$(cat .data/secrets/operator-token)

# --- images ------------------------------------------------------------------
public_images=(node:20-bookworm-slim redis:7-bookworm rabbitmq:3.13 haproxy:2.8)
if [ -z "${NODE_IMAGE:-}" ] && ! timeout 60 docker pull -q "${public_images[0]}" >/dev/null 2>&1; then
  say "no image registry reachable: building stand-in base images from Debian packages"
  started=$SECONDS
  standins=$(bash deploy/standin/build.sh) || die "stand-in base images built"
  eval "export $(echo "$standins" | tr '\n' ' ')"
  say "stand-in base images ready in $((SECONDS - started)) s"
fi
say "images: NODE_IMAGE=${NODE_IMAGE:-default} REDIS_IMAGE=${REDIS_IMAGE:-default} RABBITMQ_IMAGE=${RABBITMQ_IMAGE:-default} HAPROXY_IMAGE=${HAPROXY_IMAGE:-default}"

check "compose.yaml is valid for $COMPOSE" compose config -q
started=$SECONDS
if compose build >"$work/build.log" 2>&1; then
  ok "images built ($((SECONDS - started)) s)"
else
  tail -n 40 "$work/build.log"; die "images built"
fi

# --- start and health ----------------------------------------------------------
container_ids() { compose ps -q "$@" 2>/dev/null; }
health_of() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null; }
wait_healthy() { # seconds; every container of the project healthy
  local deadline=$((SECONDS + $1)) id all
  while [ $SECONDS -lt $deadline ]; do
    all=1
    for id in $(container_ids); do [ "$(health_of "$id")" = healthy ] || all=0; done
    [ "$all" = 1 ] && [ -n "$(container_ids)" ] && return 0
    sleep 2
  done
  for id in $(container_ids); do
    echo "#   $(docker inspect -f '{{.Name}}' "$id"): $(health_of "$id")"
    [ "$(health_of "$id")" = healthy ] || docker logs --tail 15 "$id" 2>&1 | sed 's/^/#     /'
  done
  return 1
}
started=$SECONDS
compose up -d >"$work/up.log" 2>&1 || { cat "$work/up.log"; die "compose up -d"; }
if wait_healthy 240; then ok "every container healthy ($((SECONDS - started)) s after up)"; else die "every container healthy"; fi
check "9 containers: redis, rabbitmq, log/config/cert-service, console, one gateway, balancer, demo" \
  test "$(container_ids | wc -l)" = 9

gateway_ids() { container_ids tunnel-gateway; }
gateway=$(gateway_ids | head -n 1)
check "the gateway runs as uid 1000 with no capability but binding low ports" \
  bash -c "docker exec '$gateway' sh -c 'id -u; grep CapEff /proc/1/status' | tr -s '\t\n' '  ' | grep -q '^1000 CapEff: 0000000000000400'"

check "the console answers over HTTPS on the host's loopback" \
  bash -c "curl -fsSk https://127.0.0.1:$CONSOLE_PORT/ | grep -qi '<html'"
check "the settings API refuses a request without a token" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$CONFIG_PORT/settings)\" = 401 ]"

# --- HTTPS and FTPS through the published ports -------------------------------------
cacert=$work/active.pem
fetch_cacert() { curl -fsS -H "Authorization: Bearer $admin_token" "http://127.0.0.1:$CERT_PORT/certificates/active/stunnel.cert" -o "$cacert"; }
check "the active certificate from the cert-service API" fetch_cacert
check "HTTPS GET through the balancer (https://localhost:$HTTPS_PORT/)" \
  bash -c "curl -fsS --cacert '$cacert' https://localhost:$HTTPS_PORT/ | grep -qi 'html'"

head -c $((8 * 1024 * 1024)) /dev/urandom >"$work/sample.bin"
ftps_url="ftps://demo:demo-password@localhost:$FTPS_PORT"
# Every transfer is bounded: a hang is a failure, never a stuck check.
curl_ftps() { curl -fsS --max-time 120 --cacert "$cacert" --ssl-reqd "$@"; }
transfer() { # name, pasv|epsv: upload, download, compare
  local name=$1 mode=$2 flags=()
  [ "$mode" = pasv ] && flags+=(--disable-epsv)
  curl_ftps "${flags[@]}" -T "$work/sample.bin" "$ftps_url/$name" \
    && curl_ftps "${flags[@]}" -o "$work/$name.back" -w '%{speed_download}\n' "$ftps_url/$name" >"$work/$name.speed" \
    && cmp -s "$work/sample.bin" "$work/$name.back" \
    && rm -f "$work/$name.back"
}
speed() { awk '{ printf "%.0f MB/s", $1 / 1e6 }' "$work/$1.speed" 2>/dev/null; }
for mode in pasv epsv; do
  if transfer "single-$mode.bin" $mode; then ok "FTPS $mode upload + download of 8 MiB, byte-identical ($(speed "single-$mode.bin") down)"; else not_ok "FTPS $mode upload + download of 8 MiB"; fi
done
check "explicit FTPS (AUTH TLS) through the balancer: the uploaded file is listed (ftp://localhost:$EXPLICIT_FTPS_PORT/)" \
  bash -c "curl -fsS --max-time 60 --cacert '$cacert' --ssl-reqd --list-only ftp://demo:demo-password@localhost:$EXPLICIT_FTPS_PORT/ | grep -qx 'single-epsv.bin'"

# --- a new certificate, seen on a new connection -----------------------------------------
served_fingerprint() {
  openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername localhost </dev/null 2>/dev/null \
    | openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}
new_fingerprint=$(curl -fsS -X POST "http://127.0.0.1:$CERT_PORT/certificates/self-signed" \
  -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  -d '{"serverName":"localhost","organisation":"Compose Check","country":"GB","keyType":"ecdsa-p256","activate":true}' \
  | jq -r '.certificate.fingerprintSha256' | sed 's/://g' | tr 'A-F' 'a-f')
seen=""
for _ in $(seq 1 40); do seen=$(served_fingerprint); [ "$seen" = "$new_fingerprint" ] && break; sleep 0.5; done
check "a certificate activated through the API is served on the next connection" test -n "$new_fingerprint" -a "$seen" = "$new_fingerprint"
fetch_cacert

# --- three replicas behind the balancer ------------------------------------------------
started=$SECONDS
compose up -d --scale tunnel-gateway=3 --no-recreate >"$work/scale.log" 2>&1 || cat "$work/scale.log"
if wait_healthy 180 && [ "$(gateway_ids | wc -l)" = 3 ]; then ok "scaled to 3 gateway replicas, all healthy ($((SECONDS - started)) s)"; else die "scaled to 3 gateway replicas"; fi
# The balancer checks replicas every 2 s; give it time to see the new ones.
sleep 6
phase_start=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
results=$work/replica-results && : >"$results"
for i in 1 2 3 4 5 6; do
  mode=$([ $((i % 2)) = 0 ] && echo epsv || echo pasv)
  ( transfer "replicas-$i.bin" $mode && echo "ok $i $mode" || echo "fail $i $mode" ) >>"$results" &
done
wait
check "6 FTPS sessions (PASV and EPSV) through the balancer over 3 replicas, byte-identical" \
  test "$(grep -c '^ok' "$results")" = 6

logs() { curl -fsS -H "Authorization: Bearer $operator_token" "http://127.0.0.1:$LOG_SERVICE_PORT/logs?$1"; }
sleep 2
logs "service=tunnel-gateway&from=$phase_start&limit=1000" >"$work/phase.json"
# A session whose records come from more than one replica: its data connection
# was carried by another replica than its control connection.
cross=$(jq -r '[.records[] | select(.session) | {session, replica}] | group_by(.session)
  | map(select((map(.replica) | unique | length) > 1)) | length' "$work/phase.json")
replicas_used=$(jq -r '[.records[] | select(.session) | .replica] | unique | length' "$work/phase.json")
say "sessions with control and data on different replicas: $cross; replicas that carried sessions: $replicas_used"
check "connections were spread over more than one replica" test "${replicas_used:-0}" -ge 2
check "at least one session's data connection was carried by another replica than its control connection" test "${cross:-0}" -ge 1

check "the gateways name each client as the balancer saw it (PROXY protocol v2), not the balancer" \
  jq -e '[.records[] | select(.msg == "FTP control connection opened" or .msg == "data connection admitted")]
    | length > 0 and all(.via != null and .client != null and .client != .via)' "$work/phase.json" >/dev/null

session=$(jq -r '[.records[] | select(.msg == "transfer finished") | .session][0] // empty' "$work/phase.json")
check "the log-service API follows one session (control and data records)" \
  bash -c "[ -n '$session' ] && curl -fsS -H 'Authorization: Bearer $operator_token' 'http://127.0.0.1:$LOG_SERVICE_PORT/logs?session=$session' \
    | jq -e '[.records[].msg] | (index(\"FTP control connection opened\") != null) and (index(\"data connection secured\") != null)' >/dev/null"

# --- one replica restarted during transfers -----------------------------------------
head -c $((48 * 1024 * 1024)) /dev/urandom >"$work/large.bin"
curl_ftps -T "$work/large.bin" "$ftps_url/large.bin" || not_ok "upload of the 48 MiB file"
phase_start=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
: >"$results"
for i in 1 2 3 4 5 6; do
  ( if curl_ftps --limit-rate 6M -o "$work/restart-$i.back" "$ftps_url/large.bin" 2>/dev/null; then
      cmp -s "$work/large.bin" "$work/restart-$i.back" && echo "ok $i" || echo "corrupt $i"
    else echo "fail $i"; fi; rm -f "$work/restart-$i.back" ) >>"$results" &
done
sleep 3
victim=$(gateway_ids | tail -n 1)
victim_replica=$(docker inspect -f '{{.Config.Hostname}}' "$victim")
say "restarting gateway replica $victim_replica during 6 downloads"
docker restart -t 3 "$victim" >/dev/null
wait
sleep 2
logs "service=tunnel-gateway&from=$phase_start&limit=1000" >"$work/restart.json"
# A replica's worker processes record as <replica>-w<N>.
touched=$(jq -r --arg r "$victim_replica" '[.records[] | select(.session and (.replica == $r or (.replica | startswith($r + "-w")))) | .session] | unique | length' "$work/restart.json")
succeeded=$(grep -c '^ok' "$results") corrupt=$(grep -c '^corrupt' "$results")
say "downloads: $succeeded completed intact, $(grep -c '^fail' "$results") ended with an error, $corrupt corrupt; sessions on the restarted replica: $touched"
check "no download completed with wrong bytes" test "$corrupt" = 0
check "every session not on the restarted replica completed intact" test "$succeeded" -ge $((6 - touched))
check "the restarted replica is healthy again" wait_healthy 120
check "a transfer after the restart works" transfer after-restart.bin epsv
lease_count() { docker exec "$(container_ids redis)" redis-cli --scan --pattern '*lease*' | wc -l; }
leases_gone() { # seconds: a replica stopped mid-transfer leaves its leases only until their TTL
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do [ "$(lease_count)" = 0 ] && return 0; sleep 2; done
  return 1
}
started=$SECONDS
if leases_gone 75; then ok "no passive lease left in Redis ($((SECONDS - started)) s after the last transfer)"; else not_ok "no passive lease left in Redis ($(lease_count) left)"; fi
finish
