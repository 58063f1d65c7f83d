#!/usr/bin/env bash
# Checks the module DAG of service/ (scripts/check_modules.sh), then lints the
# protobuf contract with buf (npm @bufbuild/buf, installed into tools/npm on
# first use). Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check_modules.sh
BUF_VERSION=1.47.2
buf=tools/npm/node_modules/.bin/buf
if [[ ! -x "$buf" ]]; then
  if ! command -v npm >/dev/null; then
    # buf ships through npm; Debian's npm package brings Node.js with it.
    source scripts/deps.sh
    WEBHOOKS_PACKAGES=()
    webhooks_install_deps npm
  fi
  for attempt in 1 2 3; do   # the registry is remote: ride out a passing failure
    npm install --silent --no-audit --no-fund --prefix tools/npm \
      "@bufbuild/buf@$BUF_VERSION" >/dev/null && break
    [[ $attempt -eq 3 ]] && { echo "lint: could not install @bufbuild/buf from npm" >&2; exit 1; }
    sleep $((attempt * 5))
  done
fi
(cd proto && "../$buf" lint)
echo "buf lint: clean"
