#!/usr/bin/env bash
# scripts/extra_ca.sh: run.sh and cluster.sh wait for a missing
# --extra_ca_file while a build runs in their build directory (the README's
# receiver.sh makes its CA only once built), and not much longer after.
# Usage: extra_ca_wait_test.sh (needs flock; builds nothing).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
holder=""
cleanup() {
  if [[ -n "$holder" ]]; then kill "$holder" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=scripts/extra_ca.sh
source "$repo/scripts/extra_ca.sh"
mkdir -p "$work/build"
lock="$work/build/.build.lock"
# Counted in whole seconds ($SECONDS): 3 means 2-3 s.
export WEBHOOKS_CA_WAIT_SECONDS=3

# Files that exist: no wait, no message.
touch "$work/a.pem" "$work/b.pem"
start=$SECONDS
wait_for_extra_ca_files "$work/build" --listen 127.0.0.1:0 --extra_ca_file "$work/a.pem" \
  --extra_ca_file="$work/a.pem,$work/b.pem" 2>"$work/err"
[[ ! -s "$work/err" ]] || fail "it printed for files that exist: $(cat "$work/err")"
((SECONDS - start <= 1)) || fail "it waited for files that exist"

# A build holds the directory for 5 s (longer than the grace), then the
# receiver makes its CA 0.5 s later: the wait returns once it is there.
(flock "$lock" sleep 5; sleep 0.5; touch "$work/ca.pem") &
holder=$!
for _ in $(seq 1 100); do  # until the holder has the lock
  flock -n "$lock" true || break
  sleep 0.02
done
flock -n "$lock" true && fail "the holder never took the lock"
wait_for_extra_ca_files "$work/build" --extra_ca_file="$work/b.pem,$work/ca.pem" 2>"$work/err"
[[ -e "$work/ca.pem" ]] || fail "it returned before the CA file was made"
grep -qF "waiting for $work/ca.pem" "$work/err" || fail "no message naming the file: $(cat "$work/err")"
wait "$holder"
holder=""

# No build and no file: it gives up after the grace (the server then names
# the file it cannot read).
start=$SECONDS
wait_for_extra_ca_files "$work/build" --extra_ca_file "$work/never.pem" 2>/dev/null
elapsed=$((SECONDS - start))
((elapsed >= 2 && elapsed <= 5)) || fail "gave up after ${elapsed} s, not after the 3 s grace"
echo "PASS"
