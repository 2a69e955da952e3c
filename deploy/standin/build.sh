#!/usr/bin/env bash
# Builds stand-ins for the public base images compose.yaml names (Node 20,
# Redis, RabbitMQ, HAProxy) from Debian's packages and this host's Node.js, for
# machines that reach Debian's mirror and the npm registry but no image
# registry. Each stand-in gets its own name (secure-transfers-standin/...) and
# the caller exports NODE_IMAGE, REDIS_IMAGE, RABBITMQ_IMAGE and HAPROXY_IMAGE
# pointing at them, so nobody mistakes one for the official image.
# Idempotent: an image that exists is kept. Prints the four variables.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[standin] %s\n' "$*" >&2; }
docker_build() { DOCKER_BUILDKIT=0 docker build --network host -q "$@" >/dev/null; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

base=secure-transfers-standin/debian:bookworm
node_image=secure-transfers-standin/node:20
redis_image=secure-transfers-standin/redis:7
rabbitmq_image=secure-transfers-standin/rabbitmq:3
haproxy_image=secure-transfers-standin/haproxy:2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! have "$base"; then
  command -v debootstrap >/dev/null || { log "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
  # The mirror apt already uses on this host.
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  log "debootstrap bookworm from $mirror"
  started=$SECONDS
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$work/rootfs"
  log "base image in $((SECONDS - started)) s"
fi

if ! have "$node_image"; then
  log "Node image from this host's Node.js $(node --version)"
  ctx=$work/node && mkdir -p "$ctx/include"
  node_bin=$(command -v node)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  node_prefix=$(dirname "$(dirname "$(readlink -f "$node_bin")")")
  cp "$(readlink -f "$node_bin")" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  cp -r "$node_prefix/include/node" "$ctx/include/node"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca.crt"
  cp "$here/node.Dockerfile" "$ctx/Dockerfile"
  docker_build --build-arg BASE="$base" -t "$node_image" "$ctx"
fi

build_service_image() { # image, Dockerfile
  have "$1" && return 0
  log "building $1"
  docker_build --build-arg BASE="$base" -t "$1" -f "$here/$2" "$here"
}
build_service_image "$redis_image" redis.Dockerfile
build_service_image "$rabbitmq_image" rabbitmq.Dockerfile
build_service_image "$haproxy_image" haproxy.Dockerfile

echo "NODE_IMAGE=$node_image"
echo "REDIS_IMAGE=$redis_image"
echo "RABBITMQ_IMAGE=$rabbitmq_image"
echo "HAPROXY_IMAGE=$haproxy_image"
