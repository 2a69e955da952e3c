#!/usr/bin/env bash
# Starts the whole system on this machine: config-service, cert-service, the
# tunnel gateway and, when no file server is configured (UPSTREAM_HOST unset),
# the demo upstream (vsftpd + HTTP file browser). Prints the HTTPS and FTPS URLs
# once the gateway is ready; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

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

# Local runs use unprivileged ports; production maps 443, 990 and 4000-4008 (see README).
export HTTPS_PORT=${HTTPS_PORT:-8443}
export FTPS_PORT=${FTPS_PORT:-9990}
export PUBLIC_ADDRESS=${PUBLIC_ADDRESS:-127.0.0.1}
export CONFIG_PORT=${CONFIG_PORT:-7001} CERT_PORT=${CERT_PORT:-7002} GATEWAY_HEALTH_PORT=${GATEWAY_HEALTH_PORT:-7003}
export CONFIG_SERVICE_URL=http://127.0.0.1:$CONFIG_PORT CERT_SERVICE_URL=http://127.0.0.1:$CERT_PORT
export LOG_SERVICE_PORT=${LOG_SERVICE_PORT:-7004} LOG_DB_PATH=${LOG_DB_PATH:-$data/log-service/logs.db}
# Every service ships its logs to RabbitMQ (and stdout); the log-service stores them.
export AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}
export CERT_DATA_DIR=${CERT_DATA_DIR:-$data/cert-service}
export CONFIG_DATA_DIR=${CONFIG_DATA_DIR:-$data/config-service}
export GATEWAY_CACHE_DIR=${GATEWAY_CACHE_DIR:-$data/tunnel-gateway}
export SERVER_NAME=${SERVER_NAME:-127.0.0.1}

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

run() { # name, command...
  local name=$1; shift
  "$@" >>"$data/logs/$name.log" 2>&1 &
  pids+=($!)
  echo "started $name (pid $!, log $data/logs/$name.log)"
}

demo_user=${DEMO_USER:-demo}
demo_password=${DEMO_PASSWORD:-demo-password}
if [ -z "${UPSTREAM_HOST:-}" ]; then
  export DEMO_ROOT=${DEMO_ROOT:-$data/demo-files} DEMO_WORK_DIR=$data/demo-upstream DEMO_USER=$demo_user DEMO_PASSWORD=$demo_password
  export DEMO_FTP_PORT=${DEMO_FTP_PORT:-2121} DEMO_HTTP_PORT=${DEMO_HTTP_PORT:-8080}
  export UPSTREAM_HOST=127.0.0.1 UPSTREAM_FTP_PORT=$DEMO_FTP_PORT UPSTREAM_WEB_PORT=$DEMO_HTTP_PORT
  export UPSTREAM_PASSIVE_RANGE=${UPSTREAM_PASSIVE_RANGE:-3000-3008}
  export DEMO_PASSIVE_FROM=${UPSTREAM_PASSIVE_RANGE%-*} DEMO_PASSIVE_TO=${UPSTREAM_PASSIVE_RANGE#*-}
  run demo-upstream node services/demo-upstream/dist/main.js
fi
run log-service node services/log-service/dist/main.js
run config-service node services/config-service/dist/main.js
run cert-service node services/cert-service/dist/main.js
run tunnel-gateway node services/tunnel-gateway/dist/main.js
export CONSOLE_PORT=${CONSOLE_PORT:-7005} LOG_SERVICE_URL=http://127.0.0.1:$LOG_SERVICE_PORT GATEWAY_HEALTH_URLS=http://127.0.0.1:$GATEWAY_HEALTH_PORT
run console node services/console/dist/main.js

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$GATEWAY_HEALTH_PORT/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "a service exited during start-up; see $data/logs/"; tail -n 20 "$data"/logs/*.log; exit 1; }
  done
  sleep 0.5
done
[ "${ready:-}" = 1 ] || { echo "gateway not ready after 60 s; see $data/logs/"; exit 1; }

cert=$GATEWAY_CACHE_DIR/certificate.pem
node -e 'const b=require(process.argv[1]); require("fs").writeFileSync(process.argv[2], b.certificatePem)' "$GATEWAY_CACHE_DIR/bundle.json" "$cert"
cat <<MSG

Secure Transfers is ready.
  HTTPS:  https://$PUBLIC_ADDRESS:$HTTPS_PORT/
  FTPS:   ftps://$demo_user:$demo_password@$PUBLIC_ADDRESS:$FTPS_PORT/   (implicit TLS; passive data is TLS too)

The certificate is self-signed ($cert). Try:
  curl --cacert $cert https://$PUBLIC_ADDRESS:$HTTPS_PORT/
  curl --cacert $cert --ssl-reqd ftps://$demo_user:$demo_password@$PUBLIC_ADDRESS:$FTPS_PORT/
  lftp -e 'set ssl:ca-file $cert; ls; bye' ftps://$demo_user:$demo_password@$PUBLIC_ADDRESS:$FTPS_PORT
Logs through the API (operator token):
  curl -H "Authorization: Bearer \$(cat $OPERATOR_TOKEN_FILE)" 'http://127.0.0.1:$LOG_SERVICE_PORT/logs?service=tunnel-gateway&limit=20'
Console: https://127.0.0.1:$CONSOLE_PORT/
  sign in with the admin token in $ADMIN_TOKEN_FILE (operator, read-only: $OPERATOR_TOKEN_FILE)
Admin token: $ADMIN_TOKEN_FILE   Process output: $data/logs/
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
echo "a service stopped; see $data/logs/"
