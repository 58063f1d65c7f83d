#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang-14, ASan + UBSan) in build-fuzz/
# and runs each for a while on a temporary copy of its seed corpus
# (fuzz/corpus/<target>/; generated inputs never land in the repo). See
# docs/FUZZING.md.
#
# Usage: scripts/fuzz.sh [--seconds N] [--seed N] [target...]
#   --seconds N   how long to run each target (default 30)
#   --seed N      libFuzzer's random seed (default: a new one each run); CI
#                 fixes it so that two runs of one commit explore alike
#   target...     e.g. json_fuzz url_fuzz (default: every fuzz/*_fuzz.cc)
#
# Prints one line per target: name, outcome (ok, crash, leak, timeout, oom),
# executions per second. Inputs that fail go to var/fuzz/<target>/, with the
# end of the fuzzer's log on stderr. Exits non-zero if any target failed.
# As root it installs the packages it needs (scripts/deps.sh plus clang and
# libFuzzer); otherwise it prints the apt-get line. WEBHOOKS_BUILD_JOBS sets
# the build's parallelism (default: one job per core).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
seed=""
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#--seconds=}"; shift ;;
    --seed) seed="$2"; shift 2 ;;
    --seed=*) seed="${1#--seed=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ! "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "--seconds wants a positive whole number, got '$seconds'" >&2
  exit 2
fi
all_targets=()
for source in fuzz/*_fuzz.cc; do all_targets+=("$(basename "$source" .cc)"); done
[[ ${#targets[@]} -eq 0 ]] && targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [[ ! -f "fuzz/$target.cc" ]]; then
    echo "no such target: $target (have: ${all_targets[*]})" >&2
    exit 2
  fi
done

# The fuzz build's compiler and runtime on top of the main build's packages;
# extra arguments, not part of deps.sh's list, since only this build needs them.
source scripts/deps.sh
webhooks_install_deps clang-14 libclang-rt-14-dev libfuzzer-14-dev

build_dir=build-fuzz
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # -O2 without -DNDEBUG: assertions stay on under the fuzzer.
  cmake -S . -B "$build_dir" "${generator[@]}" -DWEBHOOKS_FUZZ=ON \
    -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" >/dev/null
fi
cmake --build "$build_dir" --parallel "${WEBHOOKS_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
failed=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" "var/fuzz/$target"
  [[ -d "fuzz/corpus/$target" ]] && cp -R "fuzz/corpus/$target/." "$corpus/"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="var/fuzz/$target/")
  [[ -f "fuzz/$target.dict" ]] && options+=(-dict="fuzz/$target.dict")
  [[ -n "$seed" ]] && options+=(-seed="$seed")
  log="$work/$target.log"
  rc=0
  # TMPDIR: the one temporary file config_fuzz needs goes with the rest.
  TMPDIR="$work" "$build_dir/fuzz/$target" "${options[@]}" "$corpus" >"$log" 2>&1 || rc=$?

  runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
  execs="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)"
  outcome=ok
  if [[ $rc -ne 0 ]]; then
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then outcome=timeout
    elif grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then outcome=oom
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then outcome=leak
    else outcome=crash
    fi
    failed+=("$target")
  fi
  printf '%-20s %-8s %9s execs/s  %s runs\n' "$target" "$outcome" "${execs:-?}" "${runs:-?}"
  if [[ $outcome != ok ]]; then
    artifact="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)"
    {
      echo "---- $target: last lines of the log"
      grep -vE '^(stat::|#[0-9]+ )' "$log" | tail -40
      echo "---- reproduce: $build_dir/fuzz/$target ${artifact:-var/fuzz/$target/<file>}"
    } >&2
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing failed: ${failed[*]} (inputs in var/fuzz/)" >&2
  exit 1
fi
