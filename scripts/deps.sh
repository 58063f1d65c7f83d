#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, if any are missing.
# As root it runs apt-get itself; otherwise it prints the one command to run.
# Sourced by run.sh and test.sh; safe to run on its own.
set -euo pipefail

WEBHOOKS_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  librocksdb-dev libabsl-dev libssl-dev libcurl4-openssl-dev libpq-dev
  libtcmalloc-minimal4   # the server's allocator
  libgtest-dev libgmock-dev openssl libbenchmark-dev
  postgresql-15   # the real server tests start (tests/fakes/postgres_server.h)
  python3-grpcio python3-protobuf   # the Python client example and its test (client/examples/python)
  python3-cryptography   # its check of Ed25519 ("v1a") signatures
)

webhooks_missing_packages() {
  local missing=()
  for pkg in "${WEBHOOKS_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  echo "${missing[@]:-}"
}

# Usage: webhooks_install_deps [extra packages...]
webhooks_install_deps() {
  local missing
  missing="$(webhooks_missing_packages "$@")"
  [[ -z "${missing// /}" ]] && return 0
  if [[ "$(id -u)" -eq 0 ]]; then
    echo ">> installing Debian packages: $missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "Missing Debian packages. Run this once, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
    exit 1
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  webhooks_install_deps "$@"
fi
