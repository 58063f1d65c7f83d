#!/usr/bin/env bash
# Installs what is missing, builds the Release test receiver, and runs it: an
# HTTPS webhook endpoint on 127.0.0.1:8443 that answers 200 to everything and
# prints one line per request. Extra arguments go to the receiver (e.g.
# --port 9443, --secret whsec_... to verify signatures; see --help).
#
# Its CA certificate is ./var/receiver/ca.pem (or in --certificate_dir),
# made on the first start and kept across restarts while valid (30 days);
# the server must trust it (--extra_ca_file).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
webhooks_install_deps

scripts/build.sh build-release Release webhooks_test_receiver

cat >&2 <<MSG
------------------------------------------------------------------------------
Wink Webhooks test receiver on https://127.0.0.1:8443 (default port)
CA certificate: $PWD/var/receiver/ca.pem (default --certificate_dir; the
                receiver prints the path it used). Kept across restarts.
Then run the server trusting it, in another terminal:
                scripts/run.sh --allow_private_targets 127.0.0.0/8 \\
                  --extra_ca_file var/receiver/ca.pem
and register webhooks with URLs like https://127.0.0.1:8443/hooks/demo.
Stop with Ctrl-C.
------------------------------------------------------------------------------
MSG

exec build-release/tests/fakes/webhooks_test_receiver \
  --certificate_dir ./var/receiver \
  "$@"
