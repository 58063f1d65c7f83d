#!/usr/bin/env bash
# Installs what is missing, builds the Release test receiver, and runs it: an
# HTTPS webhook endpoint on 127.0.0.1:8443 that answers 200 to everything and
# prints one line per request. Extra arguments go to the receiver (e.g.
# --port 9443; see --help).
#
# To verify signatures, give it the webhooks' signing secrets without putting
# them on the command line, where `ps` shows them to every user:
#   scripts/receiver.sh --secret_file var/receiver/secrets   # one whsec_... per line
#   WEBHOOK_SECRET=whsec_... scripts/receiver.sh            # or several, comma-separated
# (--secret whsec_... still works, for a quick try on a machine of your own.)
#
# Its CA certificate is ./var/receiver/ca.pem (or in --certificate_dir),
# made on the first start and kept across restarts while valid (30 days);
# the server must trust it (--extra_ca_file). The banner shows the port and
# the CA file the arguments choose.
set -euo pipefail

# The defaults this script gives the receiver.
receiver_default_port=8443
receiver_default_certificate_dir=./var/receiver

# Prints the banner for the receiver's arguments "$@": the port and
# certificate directory they choose (the last --port / --certificate_dir
# wins, as in the receiver; "--flag VALUE", "--flag=VALUE" and the one-dash
# forms are understood), the URL to register and the server command.
receiver_banner() {
  local port="$receiver_default_port" dir="$receiver_default_certificate_dir"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port | -port) [[ $# -gt 1 ]] && { port="$2"; shift; } ;;
      --port=* | -port=*) port="${1#*=}" ;;
      --certificate_dir | -certificate_dir) [[ $# -gt 1 ]] && { dir="$2"; shift; } ;;
      --certificate_dir=* | -certificate_dir=*) dir="${1#*=}" ;;
      --) break ;;
    esac
    shift
  done
  local ca="${dir%/}/ca.pem" shown_port="$port"
  # The server command is run from the repository root, like this script.
  local ca_for_server="${ca#./}"
  local ca_absolute="$ca_for_server"
  [[ "$ca_absolute" == /* ]] || ca_absolute="$PWD/$ca_absolute"
  [[ "$port" == 0 ]] && shown_port="PORT (any free port: the receiver prints it)"
  cat <<MSG
------------------------------------------------------------------------------
Wink Webhooks test receiver on https://127.0.0.1:$shown_port
CA certificate: $ca_absolute
                (kept across restarts; the receiver prints the path it used).
Then run the server trusting it, in another terminal:
                scripts/run.sh --allow_private_targets 127.0.0.0/8 \\
                  --extra_ca_file $ca_for_server
and register webhooks with URLs like https://127.0.0.1:$shown_port/hooks/demo.
Stop with Ctrl-C.
------------------------------------------------------------------------------
MSG
}

receiver_main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  source scripts/deps.sh
  webhooks_install_deps

  scripts/build.sh build-release Release webhooks_test_receiver

  receiver_banner "$@" >&2

  exec build-release/tests/fakes/webhooks_test_receiver \
    --port "$receiver_default_port" \
    --certificate_dir "$receiver_default_certificate_dir" \
    "$@"
}

# Sourced (by tests/fakes/receiver_script_test.sh): only the functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  receiver_main "$@"
fi
