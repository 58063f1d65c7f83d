#!/usr/bin/env bash
# scripts/build.sh waits for another build of the same directory instead of
# running a second ninja in it (the README's receiver.sh and run.sh, started
# in two terminals, both build build-release).
# Usage: build_sh_lock_test.sh BUILD_DIR (a built tree: the target built here
# is up to date, so nothing is rebuilt).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="$(cd "$1" && pwd)"
work="$(mktemp -d)"
holder=""
cleanup() {
  if [[ -n "$holder" ]]; then kill "$holder" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  cat "$work/out" >&2 || true
  exit 1
}

# Another build holds the directory for 2 s.
flock "$build_dir/.build.lock" sleep 2 &
holder=$!
for _ in $(seq 1 100); do  # until the holder has the lock
  flock -n "$build_dir/.build.lock" true || break
  sleep 0.02
done
flock -n "$build_dir/.build.lock" true && fail "the holder never took the lock"

start=$(date +%s%N)
"$repo/scripts/build.sh" "$build_dir" RelWithDebInfo webhooks_common >"$work/out" 2>&1 ||
  fail "build.sh failed"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))

grep -qF "another build is running in $build_dir; waiting for it to finish" "$work/out" ||
  fail "build.sh did not say it was waiting"
# The holder took the lock at least ~1.9 s before releasing it.
(( elapsed_ms >= 1000 )) || fail "build.sh returned after ${elapsed_ms} ms, before the holder's 2 s"
wait "$holder"
holder=""

# Without another build it does not wait or say so.
"$repo/scripts/build.sh" "$build_dir" RelWithDebInfo webhooks_common >"$work/out" 2>&1 ||
  fail "build.sh failed"
grep -q "waiting" "$work/out" && fail "build.sh waited with no other build running"
echo "PASS"
