#!/usr/bin/env bash
# Checks the module DAG of service/ (docs/ARCHITECTURE.md, "Modules"): a file
# may include headers of its own module and of the modules listed for it
# below, nothing else, so no module reaches up into one above it. Also keeps
# storage internals private: the shared backend helpers and the RocksDB
# backend are included only from inside service/storage.
# Prints every violation as "file: includes header (module X may not
# include module Y)" and exits 1 if there is any. Needs only bash and grep.
#
# Usage: scripts/check_modules.sh [ROOT]   (default: the repository)
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"

# module -> the modules it may include (besides itself). Bottom first.
declare -A allowed=(
  [common]=""
  [metrics]="common"
  [config]="common"
  [domain]="common"
  [signing]="common"
  [secrets]="common domain"
  [http]="common"
  [storage]="common domain"
  [storage/rocksdb]="common domain storage"
  [storage/postgres]="common domain storage"
  [storage/factory]="common config domain storage storage/rocksdb storage/postgres"
  [delivery]="common domain storage http signing secrets metrics"
  [auth]="common config"
  [api]="common config domain storage delivery http auth signing secrets metrics"
  [server]="common config domain storage storage/factory delivery http auth api signing secrets metrics"
  [main]="common config server"
)

# The module a path under service/ belongs to.
module_of() {
  case "$1" in
    service/main.cc) echo main ;;
    service/storage/factory.*) echo storage/factory ;;
    service/storage/rocksdb/*) echo storage/rocksdb ;;
    service/storage/postgres/*) echo storage/postgres ;;
    service/*/*) local rest="${1#service/}"; echo "${rest%%/*}" ;;
    *) echo "?" ;;
  esac
}

# Headers only storage itself may include.
private_to_storage() {
  case "$1" in
    service/storage/records.h | service/storage/listeners.h | service/storage/rocksdb/* | \
      service/storage/postgres/*) return 0 ;;
  esac
  return 1
}

violations=0
while IFS= read -r file; do
  from="$(module_of "$file")"
  if [[ -z "${allowed[$from]+set}" ]]; then
    echo "$file: module '$from' is not in scripts/check_modules.sh's table"
    violations=$((violations + 1))
    continue
  fi
  while IFS= read -r header; do
    to="$(module_of "$header")"
    if [[ "$to" == "$from" ]]; then continue; fi
    if private_to_storage "$header" && [[ "$from" != storage* ]]; then
      echo "$file: includes $header (private to service/storage)"
      violations=$((violations + 1))
      continue
    fi
    if [[ " ${allowed[$from]} " != *" $to "* ]]; then
      echo "$file: includes $header (module $from may not include module $to)"
      violations=$((violations + 1))
    fi
  done < <(grep -hoE '^#include "service/[^"]+"' "$file" | sed -E 's/^#include "([^"]+)"/\1/')
done < <(find service -name '*.h' -o -name '*.cc' | sort)

if [[ $violations -gt 0 ]]; then
  echo "check_modules: $violations include(s) break the module DAG" >&2
  exit 1
fi
echo "check_modules: the module DAG holds"
