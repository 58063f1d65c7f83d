#!/usr/bin/env bash
# scripts/run.sh as the README has a user run it, with a --config file: the
# file's listen_address, metrics_listen_address and data_dir are what the
# server uses, the banner prints them, and its export line works as printed.
# Usage: run_sh_test.sh BUILD_DIR (a built tree; run.sh builds nothing new).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="$(cd "$1" && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- run.sh output:" >&2
  cat "$work/out" >&2 || true
  exit 1
}
expect_output() { grep -qF -- "$1" "$work/out" || fail "the output lacks: $1"; }

# Ports picked at random; a taken one makes the server exit (it refuses a
# used address), then another pair is tried.
started=false
for attempt in 1 2 3 4 5; do
  grpc_port=$((20000 + RANDOM % 20000))
  metrics_port=$((grpc_port + 1))
  cat >"$work/server.textproto" <<CONFIG
listen_address: "127.0.0.1:$grpc_port"
metrics_listen_address: "127.0.0.1:$metrics_port"
data_dir: "$work/data"
CONFIG
  (cd "$repo" && WEBHOOKS_BUILD_DIR="$build_dir" WEBHOOKS_DEV_TOKEN=run-sh-test-token \
    exec scripts/run.sh --config "$work/server.textproto") >"$work/out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 1200); do  # up to 120 s: run.sh first checks the packages and the build
    if grep -q " ready " "$work/out" || ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if grep -q " ready " "$work/out"; then
    started=true
    break
  fi
  if kill -0 "$server_pid" 2>/dev/null; then fail "no ready line after 120 s"; fi
  wait "$server_pid" || true
  server_pid=""
  grep -q "cannot listen" "$work/out" || fail "the server exited before it was ready"
done
$started || fail "no free ports in 5 tries"

expect_output "dev server on 127.0.0.1:$grpc_port (data in $work/data)"
expect_output "http://127.0.0.1:$metrics_port/metrics"
expect_output "export WEBHOOKS_ADDR=127.0.0.1:$grpc_port WEBHOOKS_TOKEN=run-sh-test-token"
expect_output "listen=127.0.0.1:$grpc_port metrics=127.0.0.1:$metrics_port"
[[ -d "$work/data" ]] || fail "no data directory at $work/data"

# The metrics endpoint answers where the banner said.
exec 3<>"/dev/tcp/127.0.0.1/$metrics_port"
printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
metrics="$(cat <&3)"
exec 3<&-
grep -q "^wink_webhooks_build_info" <<<"$metrics" || fail "no metrics at port $metrics_port"

# The printed export line is all the CLI needs.
WEBHOOKS_ADDR="127.0.0.1:$grpc_port" WEBHOOKS_TOKEN=run-sh-test-token \
  "$build_dir/client/webhookctl/webhookctl" event-types list --account acme >"$work/cli" 2>&1 ||
  { cat "$work/cli" >&2; fail "webhookctl with the banner's environment failed"; }
grep -q "booking.created" "$work/cli" || fail "webhookctl listed no event types"

# Ctrl-C stops it gracefully.
kill -INT "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[[ $rc -eq 0 ]] || fail "exit code $rc after SIGINT"
expect_output "shutdown_complete"
echo "PASS"
