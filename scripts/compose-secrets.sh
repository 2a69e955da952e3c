#!/usr/bin/env bash
# Creates the secrets compose.yaml reads, once: the admin, service and operator
# tokens and the TLS session-ticket keys every gateway replica shares. Existing
# files are kept (the Quick start's tokens are the same files). The directory
# is 0700, so no other account on this host reaches them; the files are 0644
# because compose mounts them as they are into containers whose services run
# as uid 1000.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SECRETS_DIR:-.data/secrets}
mkdir -p "$dir" && chmod 700 "$dir"
random() { node -e 'process.stdout.write(require("crypto").randomBytes(+process.argv[1]).toString(process.argv[2]))' "$@"; }
for name in admin service operator; do
  [ -s "$dir/$name-token" ] || random 24 base64url >"$dir/$name-token"
done
[ -s "$dir/tls-ticket-keys" ] || random 48 hex >"$dir/tls-ticket-keys"
chmod 644 "$dir/admin-token" "$dir/service-token" "$dir/operator-token" "$dir/tls-ticket-keys"
echo "secrets in $dir: admin-token, service-token, operator-token, tls-ticket-keys"
