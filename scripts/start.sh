#!/usr/bin/env bash
# Starts the whole system on this machine: log-service, config-service,
# cert-service, the tunnel gateway, the operators' console and, when no file server is configured
# (UPSTREAM_HOST unset), the demo upstream (vsftpd + HTTP file browser).
#
# Every port it needs is checked before anything starts (a taken one is named,
# with the process holding it). Once the gateway it started answers, it prints
# what is live: the gateway's open ports, the active certificate (written to
# $DATA_DIR/active-certificate.pem for --cacert). Ctrl-C or SIGTERM stops the
# services in order (gateway first, log-service last) and says "stopped";
# further signals during the stop are ignored so that nothing is cut short.
#
# Settings (all optional): DATA_DIR, API_BIND_HOST, CONFIG_PORT, CERT_PORT,
# GATEWAY_HEALTH_PORT, LOG_SERVICE_PORT, CONSOLE_PORT, HTTPS_PORT, FTPS_PORT,
# EXPLICIT_FTPS_PORT (AUTH TLS; empty: not offered), DEMO_HOST,
# DEMO_FTP_PORT, DEMO_HTTP_PORT, UPSTREAM_PASSIVE_RANGE, DEMO_USER,
# DEMO_PASSWORD, SERVER_NAME, START_TIMEOUT_S, SKIP_BOOTSTRAP=1 (README); the
# services' own variables (ACME_*, GATEWAY_HTTP, ...) pass through to them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BOOTSTRAP:-}" = 1 ] || bash scripts/bootstrap.sh

data=${DATA_DIR:-$PWD/.data}
mkdir -p "$data/logs" "$data/secrets"
chmod 700 "$data/secrets"

# Tokens are generated once and kept as files (mode 0600); services read them through *_FILE.
for name in admin service operator; do
  file="$data/secrets/$name-token"
  [ -s "$file" ] || (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' >"$file")
done
export ADMIN_TOKEN_FILE="$data/secrets/admin-token"
export SERVICE_TOKEN_FILE="$data/secrets/service-token"
export OPERATOR_TOKEN_FILE="$data/secrets/operator-token"

# The APIs and the gateway's health listen on loopback unless API_BIND_HOST opens them.
export API_BIND_HOST=${API_BIND_HOST:-127.0.0.1}
case $API_BIND_HOST in 0.0.0.0 | ::) api_host=127.0.0.1 ;; *:*) api_host="[$API_BIND_HOST]" ;; *) api_host=$API_BIND_HOST ;; esac
export CONFIG_PORT=${CONFIG_PORT:-7001} CERT_PORT=${CERT_PORT:-7002} GATEWAY_HEALTH_PORT=${GATEWAY_HEALTH_PORT:-7003} LOG_SERVICE_PORT=${LOG_SERVICE_PORT:-7004}
export CONSOLE_PORT=${CONSOLE_PORT:-7005}
export CONFIG_SERVICE_URL=http://$api_host:$CONFIG_PORT CERT_SERVICE_URL=http://$api_host:$CERT_PORT
# Local runs use unprivileged public ports; production maps 443, 990 and 4000-4008 (see README).
# PUBLIC_ADDRESS stays unset unless given: passive replies then name the address each client connected to.
export HTTPS_PORT=${HTTPS_PORT:-8443} FTPS_PORT=${FTPS_PORT:-9990} EXPLICIT_FTPS_PORT=${EXPLICIT_FTPS_PORT-9921}
export LOG_DB_PATH=${LOG_DB_PATH:-$data/log-service/logs.db}
# Every service ships its logs to RabbitMQ (and stdout); the log-service stores them.
export AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
export CERT_DATA_DIR=${CERT_DATA_DIR:-$data/cert-service}
export CONFIG_DATA_DIR=${CONFIG_DATA_DIR:-$data/config-service}
export GATEWAY_CACHE_DIR=${GATEWAY_CACHE_DIR:-$data/tunnel-gateway}
export SERVER_NAME=${SERVER_NAME:-127.0.0.1}

with_host() { # host port-or-range: host:port, IPv6 in brackets
  case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac
}
needs=(
  "config-service API (CONFIG_PORT)=$(with_host "$API_BIND_HOST" "$CONFIG_PORT")"
  "cert-service API (CERT_PORT)=$(with_host "$API_BIND_HOST" "$CERT_PORT")"
  "log-service API (LOG_SERVICE_PORT)=$(with_host "$API_BIND_HOST" "$LOG_SERVICE_PORT")"
  "gateway health (GATEWAY_HEALTH_PORT)=$(with_host "$API_BIND_HOST" "$GATEWAY_HEALTH_PORT")"
  "console (CONSOLE_PORT)=$(with_host "${CONSOLE_HOST:-$API_BIND_HOST}" "$CONSOLE_PORT")"
)

demo=
if [ -z "${UPSTREAM_HOST:-}" ]; then
  demo=1
  export DEMO_ROOT=${DEMO_ROOT:-$data/demo-files} DEMO_WORK_DIR=$data/demo-upstream
  export DEMO_USER=${DEMO_USER:-demo} DEMO_PASSWORD=${DEMO_PASSWORD:-demo-password}
  export DEMO_HOST=${DEMO_HOST:-127.0.0.1} DEMO_FTP_PORT=${DEMO_FTP_PORT:-2121} DEMO_HTTP_PORT=${DEMO_HTTP_PORT:-8080}
  export UPSTREAM_HOST=127.0.0.1 UPSTREAM_FTP_PORT=$DEMO_FTP_PORT UPSTREAM_WEB_PORT=$DEMO_HTTP_PORT
  export UPSTREAM_PASSIVE_RANGE=${UPSTREAM_PASSIVE_RANGE:-3000-3008}
  export DEMO_PASSIVE_FROM=${UPSTREAM_PASSIVE_RANGE%-*} DEMO_PASSIVE_TO=${UPSTREAM_PASSIVE_RANGE#*-}
  needs+=(
    "demo FTP server (DEMO_FTP_PORT)=$(with_host "$DEMO_HOST" "$DEMO_FTP_PORT")"
    "demo HTTP file browser (DEMO_HTTP_PORT)=$(with_host "$DEMO_HOST" "$DEMO_HTTP_PORT")"
    "demo passive data (UPSTREAM_PASSIVE_RANGE)=$(with_host "$DEMO_HOST" "$UPSTREAM_PASSIVE_RANGE")"
  )
fi

# The gateway's public ports are those of the settings config-service will serve (stored ones
# included: a port moved through the API is checked, not the environment's).
gateway_needs=$(node services/config-service/dist/start-ports-cli.js) || { echo "cannot start: the settings are invalid (above)"; exit 2; }
while IFS= read -r line; do [ -n "$line" ] && needs+=("$line"); done <<<"$gateway_needs"
# The gateway's plain HTTP port (GATEWAY_HTTP=redirect or pass) listens where the HTTPS port does (or GATEWAY_BIND_HOST).
case ${GATEWAY_HTTP:-off} in
  redirect | pass)
    https_host=$(sed -n 's/^gateway HTTPS [^=]*=\(.*\):[0-9-]*$/\1/p' <<<"$gateway_needs" | head -n 1 | tr -d '[]')
    needs+=("gateway plain HTTP port (GATEWAY_HTTP_PORT)=$(with_host "${GATEWAY_BIND_HOST:-${https_host:-0.0.0.0}}" "${GATEWAY_HTTP_PORT:-80}")")
    ;;
esac
if ! taken=$(node libs/service-kit/dist/check-ports-cli.js "${needs[@]}"); then
  echo "cannot start: nothing was started, because"
  while IFS= read -r line; do echo "  $line"; done <<<"$taken"
  echo "Stop that process, or give the setting in parentheses another port (e.g. CONFIG_PORT=7101 bash scripts/start.sh)."
  exit 1
fi

pids=()
names=()
stopping=

alive() { # pid: running (not gone, not a zombie)
  [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

stop_one() { # pid name
  kill -TERM "$1" 2>/dev/null || return 0
  # Services stop in well under a second; 30 s leaves room for a machine under heavy load.
  for _ in $(seq 1 300); do alive "$1" || break; sleep 0.1; done
  if alive "$1"; then
    echo "  $2 did not stop within 30 s; killing it"
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
}

# Stops what was started, newest first: the gateway before the services it depends on, the
# log-service last so that it stores the others' last records. Runs once; from here on
# further signals are ignored (a service manager's or a terminal's second signal must not
# leave half of it running).
stop_all() {
  [ -z "$stopping" ] || return 0
  stopping=1
  trap '' INT TERM
  [ ${#pids[@]} -gt 0 ] || return 0
  echo "stopping: $(for ((i = ${#names[@]} - 1; i >= 0; i--)); do printf '%s ' "${names[$i]}"; done)"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_one "${pids[$i]}" "${names[$i]}"; done
}

on_signal() {
  echo "$1 received"
  stop_all
  echo "stopped"
  exit 0
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'stop_all' EXIT

run() { # name, command...
  local name=$1
  shift
  "$@" >>"$data/logs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  echo "started $name (pid $!, log $data/logs/$name.log)"
}

name_of() { # pid
  for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$1" ] && echo "${names[$i]}" && return; done
  echo "a service"
}

failed() { # name status
  echo "$1 exited during start-up or on its own (exit status $2); its last lines ($data/logs/$1.log):"
  tail -n 15 "$data/logs/$1.log" | sed 's/^/  /'
  stop_all
  echo "stopped"
  exit 1
}

run log-service node services/log-service/dist/main.js
run config-service node services/config-service/dist/main.js
run cert-service node services/cert-service/dist/main.js
[ -z "$demo" ] || run demo-upstream node services/demo-upstream/dist/main.js
run tunnel-gateway node services/tunnel-gateway/dist/main.js
gateway_pid=${pids[-1]}
# The operators' web console (HTTPS with the active certificate), after the services it calls.
export LOG_SERVICE_URL=http://$api_host:$LOG_SERVICE_PORT GATEWAY_HEALTH_URLS=http://$api_host:$GATEWAY_HEALTH_PORT
run console node services/console/dist/main.js

# Polls a check until it passes; a service that exits meanwhile, or the start
# deadline, ends the start with everything stopped and the reason said.
deadline=$((SECONDS + ${START_TIMEOUT_S:-90}))
wait_for() { # check-function, what-failed-message-function
  until "$1"; do
    for i in "${!pids[@]}"; do
      if ! alive "${pids[$i]}"; then
        status=0
        wait "${pids[$i]}" 2>/dev/null || status=$?
        failed "${names[$i]}" "$status"
      fi
    done
    if [ $SECONDS -ge $deadline ]; then
      "$2"
      stop_all
      echo "stopped"
      exit 1
    fi
    sleep 0.5
  done
}

# Ready: the gateway *this script started* answers (its pid, not a stale one's) and serves, or
# says why it does not (degraded: a newer map refused; stopped: the tunnel is disabled).
health_url="http://$api_host:$GATEWAY_HEALTH_PORT/health/ready"
gateway_serves() {
  health=$(curl -sS --max-time 2 "$health_url" 2>/dev/null || true)
  [[ $health =~ \"pid\":$gateway_pid[,}] && $health =~ \"status\":\"(ready|degraded|stopped)\" ]]
}
gateway_late() { echo "the gateway did not become ready within ${START_TIMEOUT_S:-90} s; its health said: ${health:-(no answer)}"; }
wait_for gateway_serves gateway_late

# The banner names the console too: it must answer first (HTTPS with the active
# certificate, or plain HTTP with CONSOLE_TLS=false).
case ${CONSOLE_HOST:-$API_BIND_HOST} in 0.0.0.0 | ::) console_host=127.0.0.1 ;; *:*) console_host="[${CONSOLE_HOST:-$API_BIND_HOST}]" ;; *) console_host=${CONSOLE_HOST:-$API_BIND_HOST} ;; esac
console_answers() {
  curl -fsk --max-time 2 "https://$console_host:$CONSOLE_PORT/health/live" >/dev/null 2>&1 \
    || curl -fs --max-time 2 "http://$console_host:$CONSOLE_PORT/health/live" >/dev/null 2>&1
}
console_late() { echo "the console did not answer within ${START_TIMEOUT_S:-90} s; see $data/logs/console.log"; }
wait_for console_answers console_late

banner_args=(--ca-file "$data/active-certificate.pem" --output-dir "$data/logs/" --console)
[ -z "$demo" ] || banner_args+=(--demo)
node libs/service-kit/dist/start-banner-cli.js "${banner_args[@]}" || echo "(the services run, but the banner could not be built; see above)"

# Until a service exits on its own; a signal runs on_signal instead.
exited=
status=0
wait -n -p exited "${pids[@]}" || status=$?
failed "$(name_of "$exited")" "$status"
