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
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
jobs="${WEBHOOKS_BUILD_JOBS:-$(nproc)}"
if [[ $# -gt 0 ]]; then
  cmake --build "$build_dir" --parallel "$jobs" --target "$@"
else
  cmake --build "$build_dir" --parallel "$jobs"
fi
