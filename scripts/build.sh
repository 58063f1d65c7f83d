#!/usr/bin/env bash
# Configures and builds with CMake (Ninja when installed).
# Usage: scripts/build.sh BUILD_DIR BUILD_TYPE [targets...]
# Assumes the packages of deps.sh are installed. WEBHOOKS_BUILD_JOBS sets the
# parallelism (default: one job per core).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="$1"; build_type="$2"; shift 2
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# One build at a time per directory. The README starts scripts/receiver.sh and
# scripts/run.sh in two terminals, and both build in build-release: two
# ninjas in one directory truncate its logs ("premature end of file") and
# rebuild everything next time, or race on the same outputs. The second waits.
mkdir -p "$build_dir"
if command -v flock >/dev/null; then
  exec 9>"$build_dir/.build.lock"
  if ! flock -n 9; then
    echo "build.sh: another build is running in $build_dir; waiting for it to finish" >&2
    flock 9
  fi
fi
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
jobs="${WEBHOOKS_BUILD_JOBS:-$(nproc)}"
if [[ $# -gt 0 ]]; then
  cmake --build "$build_dir" --parallel "$jobs" --target "$@"
else
  cmake --build "$build_dir" --parallel "$jobs"
fi
