#!/usr/bin/env bash
# Installs what is missing, builds a Release server, and runs it on
# 127.0.0.1:50051 with its RocksDB under ./var/data and Prometheus metrics on
# http://127.0.0.1:9464/metrics. Extra arguments go to the server (e.g.
# --allow_private_targets 127.0.0.0/8 --extra_ca_file ca.pem --log_format json).
#
# The admin token is $WEBHOOKS_DEV_TOKEN when set; otherwise one is generated
# once, kept in ./var/dev-token (mode 600) and printed. Only its SHA-256
# reaches the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
webhooks_install_deps

scripts/build.sh build-release Release wink-webhooks-server webhookctl

mkdir -p var
if [[ -n "${WEBHOOKS_DEV_TOKEN:-}" ]]; then
  token="$WEBHOOKS_DEV_TOKEN"
else
  if [[ ! -s var/dev-token ]]; then
    (umask 077; echo "dev_$(openssl rand -hex 24)" > var/dev-token)
  fi
  token="$(cat var/dev-token)"
fi
token_sha256="$(printf %s "$token" | sha256sum | cut -d' ' -f1)"

cat >&2 <<MSG
------------------------------------------------------------------------------
Wink Webhooks dev server on 127.0.0.1:50051 (data in ./var/data)
Metrics:      http://127.0.0.1:9464/metrics  (docs/OPERATIONS.md)
Admin token:  $token
CLI:          export WEBHOOKS_TOKEN=$token PATH=\$PWD/build-release/client/webhookctl:\$PATH
              webhookctl event-types list --account acme   (README, docs/CLIENT.md)
Stop with Ctrl-C (graceful shutdown).
------------------------------------------------------------------------------
MSG

exec build-release/service/wink-webhooks-server \
  --listen 127.0.0.1:50051 \
  --data_dir ./var/data \
  --metrics_listen 127.0.0.1:9464 \
  --admin_token_sha256 "$token_sha256" \
  "$@"
