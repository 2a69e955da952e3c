#!/usr/bin/env bash
# Installs what a fresh machine lacks (pnpm, Debian tools, dependencies), makes
# sure Redis and RabbitMQ answer on loopback, and builds the workspace.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[bootstrap] %s\n' "$*" >&2; }

if ! command -v pnpm >/dev/null 2>&1; then
  log "installing pnpm"
  npm install -g pnpm@10 >/dev/null 2>&1
fi

# vsftpd and nginx are the real upstream FTP and web servers of the tests
# (vsftpd also of the demo, whose virtual FTP users live in a PAM service of
# their own through libpam-pwdfile); curl and lftp are clients written by
# others; openssl checks certificates and hashes the demo password; pamtester
# shows that the demo login is refused by every other PAM service. stunnel4,
# nftables, iptables and ufw check config-service's renderings (ufw is
# installed inactive; the tests only use its --dry-run). chromium runs the
# console's browser tests (driven by playwright-core). testssl.sh grades the
# gateway's TLS as a scanner would. haproxy is the load balancer the PROXY
# protocol tests put in front of the gateway. pebble (with pebble-challtestsrv as
# its DNS) is the RFC 8555 CA the ACME tests get certificates from.
missing=()
for pkg in vsftpd libpam-pwdfile pamtester curl openssl lftp stunnel4 nftables iptables ufw chromium testssl.sh haproxy pebble; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ! command -v nginx >/dev/null 2>&1; then missing+=(nginx-light); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root or install them)"; exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    # nginx-light is gone from newer Debian releases; nginx is the same server.
    missing=("${missing[@]/nginx-light/nginx}")
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # Debian starts vsftpd (port 21) and nginx (port 80) as services; we run our own instances.
  if command -v service >/dev/null 2>&1; then
    service vsftpd stop >/dev/null 2>&1 || true
    service nginx stop >/dev/null 2>&1 || true
    service haproxy stop >/dev/null 2>&1 || true
  fi
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${REDIS_URL:-}" ] && ! port_open 6379; then
  log "starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if [ -z "${AMQP_URL:-}" ] && ! port_open 5672; then
  log "starting rabbitmq-server"
  rabbitmq-server -detached || true
  for _ in $(seq 1 60); do port_open 5672 && break; sleep 1; done
fi

if [ ! -d node_modules ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  log "installing dependencies"
  pnpm install --frozen-lockfile >/dev/null
fi
log "building"
pnpm -s build
