#!/usr/bin/env bash
# Installs what is missing, builds a Release server, and runs it. Arguments go
# to the server (e.g. --config FILE, --listen HOST:PORT, --allow_private_targets
# 127.0.0.0/8, --extra_ca_file ca.pem, --log_format json; see --help).
#
# What neither the arguments nor a --config file set keeps the server's
# defaults (gRPC on 127.0.0.1:50051, RocksDB under ./var/data), plus one that
# run.sh adds: Prometheus metrics on 127.0.0.1:9464. The banner shows the
# addresses the server will actually use.
#
# The admin token is $WEBHOOKS_DEV_TOKEN when set; otherwise one is generated
# once, kept in ./var/dev-token (mode 600) and printed. Only its SHA-256
# reaches the server; it is added to the tokens of a --config file. Likewise
# a master key that encrypts webhook secrets at rest is made once in
# ./var/dev-secrets.key, unless the arguments or the file name a
# secrets_key_file.
#
# WEBHOOKS_BUILD_DIR picks another build directory than build-release (the
# tests run this script against the tree they already built).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
webhooks_install_deps

build_dir="${WEBHOOKS_BUILD_DIR:-build-release}"
scripts/build.sh "$build_dir" Release wink-webhooks-server webhookctl
server="$build_dir/service/wink-webhooks-server"

source scripts/dev_token.sh
load_dev_token
source scripts/extra_ca.sh
wait_for_extra_ca_files "$build_dir" "$@"

# run.sh's flags go first, so the caller's flags (and the file's values) win.
server_args=(--admin_token_sha256 "$token_sha256")
# The configuration as the server resolves it (file, flags, defaults); an
# invalid one stops here with the server's message.
effective="$("$server" "${server_args[@]}" "$@" --check_config)" || exit $?
# A top-level string field of the printed configuration ("" when unset).
config_field() { sed -n "s/^$1: \"\(.*\)\"\$/\1/p" <<<"$effective" | head -n 1; }
metrics="$(config_field metrics_listen_address)"
if [[ -z "$metrics" ]]; then
  metrics=127.0.0.1:9464
  server_args+=(--metrics_listen "$metrics")
fi
# Webhook secrets are encrypted at rest under a dev key unless the caller
# names a key file.
secrets_note="$(config_field secrets_key_file)"
if [[ -z "$secrets_note" ]]; then
  load_dev_secrets_key
  server_args+=(--secrets_key_file "$secrets_key_file")
  secrets_note="$secrets_key_file (made for development; use your own key file in production)"
fi
listen="$(config_field listen_address)"
data_dir="$(config_field data_dir)"
storage_note="data in $data_dir"
# The postgres backend keeps nothing in data_dir (its conninfo is printed
# with any password hidden).
conninfo="$(sed -n 's/^ *conninfo: "\(.*\)"$/\1/p' <<<"$effective" | head -n 1)"
[[ -n "$conninfo" ]] && storage_note="PostgreSQL: $conninfo"
webhookctl_dir="$build_dir/client/webhookctl"
[[ "$build_dir" == /* ]] || webhookctl_dir="\$PWD/$webhookctl_dir"
port_note=""
[[ "$listen" == *:0 || "$metrics" == *:0 ]] && port_note=" (port 0: a free port, named in the ready log line)"

cat >&2 <<MSG
------------------------------------------------------------------------------
Wink Webhooks dev server on $listen ($storage_note)$port_note
Metrics:      http://$metrics/metrics  (docs/OPERATIONS.md)
Admin token:  $token
Secrets key:  $secrets_note
CLI:          export WEBHOOKS_ADDR=$listen WEBHOOKS_TOKEN=$token
              export PATH=$webhookctl_dir:\$PATH
              webhookctl event-types list --account acme   (README, docs/CLIENT.md)
Stop with Ctrl-C (graceful shutdown; Ctrl-C again stops at once).
------------------------------------------------------------------------------
MSG

exec "$server" "${server_args[@]}" "$@"
