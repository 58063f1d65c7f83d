#!/usr/bin/env bash
# scripts/receiver.sh's banner names the port and the certificate directory
# (so the CA file) that the receiver's arguments choose, not always the
# defaults. Sources the script (which then only defines its functions: it
# neither builds nor starts anything) and checks receiver_banner's output.
#
# Usage: receiver_script_test.sh PATH/TO/scripts/receiver.sh
set -euo pipefail
script="$1"
# shellcheck source=../../scripts/receiver.sh
source "$script"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

failures=0
# expect DESCRIPTION TEXT -- ARGS...: the banner for ARGS contains TEXT.
expect() {
  local description="$1" text="$2"
  shift 3
  local banner
  banner="$(receiver_banner "$@")"
  if [[ "$banner" != *"$text"* ]]; then
    echo "FAIL: $description: banner for [$*] lacks [$text]:"
    echo "$banner"
    failures=$((failures + 1))
  fi
}
# expect_not DESCRIPTION TEXT -- ARGS...: the banner for ARGS lacks TEXT.
expect_not() {
  local description="$1" text="$2"
  shift 3
  local banner
  banner="$(receiver_banner "$@")"
  if [[ "$banner" == *"$text"* ]]; then
    echo "FAIL: $description: banner for [$*] has [$text]:"
    echo "$banner"
    failures=$((failures + 1))
  fi
}

expect "defaults: port" "on https://127.0.0.1:8443" --
expect "defaults: CA" "CA certificate: $work/var/receiver/ca.pem" --
expect "defaults: server flag" "--extra_ca_file var/receiver/ca.pem" --
expect "defaults: URL" "https://127.0.0.1:8443/hooks/demo" --

expect "--port N" "on https://127.0.0.1:9443" -- --port 9443
expect "--port N: URL" "https://127.0.0.1:9443/hooks/demo" -- --port 9443
expect_not "--port N: no default port" "8443" -- --port 9443
expect "--port=N" "on https://127.0.0.1:9444" -- --port=9444
expect "-port N (Abseil's one-dash form)" "on https://127.0.0.1:9445" -- -port 9445
expect "the last --port wins" "on https://127.0.0.1:9447" -- --port 9446 --port=9447
expect "--port 0" "on https://127.0.0.1:PORT (any free port" -- --port 0

expect "--certificate_dir D (absolute)" "CA certificate: /etc/wh/ca.pem" \
  -- --certificate_dir /etc/wh
expect "--certificate_dir D: server flag" "--extra_ca_file /etc/wh/ca.pem" \
  -- --certificate_dir /etc/wh
expect_not "--certificate_dir D: no default dir" "var/receiver" -- --certificate_dir /etc/wh
expect "--certificate_dir=D (relative)" "CA certificate: $work/certs/ca.pem" \
  -- --certificate_dir=certs/
expect "--certificate_dir=D: server flag" "--extra_ca_file certs/ca.pem" \
  -- --certificate_dir=certs/
expect "other flags are passed over" "on https://127.0.0.1:9448" \
  -- --secret_file s.txt --port 9448 --certificate_dir ./c
expect "other flags are passed over: CA" "CA certificate: $work/c/ca.pem" \
  -- --secret_file s.txt --port 9448 --certificate_dir ./c

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "receiver_banner: all passed"
