#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs the whole test suite
# through ctest, then lints the protobuf contract. Exit status is non-zero if
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
webhooks_install_deps

scripts/build.sh build RelWithDebInfo
(cd build && ctest --output-on-failure --timeout 600 -j "$(nproc)")
scripts/lint.sh
