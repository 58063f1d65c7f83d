#!/usr/bin/env bash
# Where one load's CPU goes, per server thread: the harness behind the
# "half-rate profile" and "drain profile" numbers in docs/BENCHMARKS.md.
#
#   bench/profile.sh rate R     # PublishEvent open loop at R calls/s (1,024 in flight), 14 s
#   bench/profile.sh max        # PublishEvent closed loop (64 in flight), 14 s
#   bench/profile.sh quiet      # as max, to an account without webhooks (row 2b)
#   bench/profile.sh trivial    # ListEventTypes closed loop, 64 in flight (row 1)
#   bench/profile.sh batch      # BatchPublishEvents of 100, 16 in flight (row 3)
#   bench/profile.sh drain N    # N events held for a paused webhook, then resumed
#
# Each run starts a fresh server as bench/run.sh does (empty data directory,
# sealed secrets, loopback allowed, the benchmark receiver's CA trusted, one
# webhook) and prints, per thread name (threads of a name summed), the CPU
# in µs and the voluntary context switches per event, with the share of one
# core each ran and waited for a CPU. rate/max measure over 8 s after 3 s of
# load and count events by the server's `rpc` log lines; drain measures from
# the resume until the receiver has all N. Then the load generator's result
# and the receiver's POST rate and publish-to-delivery percentiles.
#
# Environment:
#   WEBHOOKS_BUILD_DIR  binaries from this build directory (default
#                       build-release; bench/run.sh builds it)
#   PERF_THREAD=NAME    also `perf record -g` the first thread of that name
#                       (all: the whole server) over the measured window and
#                       print the top of `perf report --no-children`
#   PERF_CALLGRAPH=...  perf record's call-graph flag instead of -g, e.g.
#                       "--call-graph dwarf,16384" (the Debian libraries have
#                       no frame pointers, so -g stops at their frames)
#   PERF_KEEP=FILE      keep perf.data there (for perf report -G, --children)
#   SERVER_ARGS="..."   extra server flags (e.g. --config FILE)
#   TIMELINE=FILE       rate/max/quiet/batch: write there, every ~0.5 s of the
#                       load, the receiver's POSTs and publish-to-delivery p99
#                       and max in that window, the commits over 10 ms and
#                       the writes that waited over 10 ms for the writer, how
#                       busy the machine was, and the ms of CPU the RocksDB
#                       background threads ran; then the flushes and
#                       compactions from RocksDB's LOG, with their times, to
#                       set a spike against (the receiver's numbers at the
#                       end then cover only the last window)
#   HISTORY=N           all but drain: first publish N events (batches of 100)
#                       and wait until all are delivered, so that the load meets
#                       a store with history, as bench/run.sh's latency phase
#                       does (flushes and compactions under way)
#
# Compare builds by alternating runs of each (the machine is shared and
# noisy); never read one run alone.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
mode="${1:-}"
load_mode=publish events_per_call=1  # the server logs one line per call
case "$mode" in
  rate) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage; load=(--rate "$2" --concurrency 1024) ;;
  max | quiet) load=(--concurrency 64) ;;
  trivial) load_mode=trivial; load=(--concurrency 64) ;;
  batch) load_mode=batch-publish; events_per_call=100; load=(--concurrency 16 --batch_size 100) ;;
  drain) [[ "${2:-}" =~ ^[1-9][0-9]*00$ ]] || { echo "drain N: a multiple of 100" >&2; usage; }
    events="$2" ;;
  *) usage ;;
esac

build_dir="${WEBHOOKS_BUILD_DIR:-build-release}"
bin_server="$build_dir/service/wink-webhooks-server"
bin_receiver="$build_dir/tests/fakes/webhooks_test_receiver"
bin_loadgen="$build_dir/bench/webhooks_loadgen"
for bin in "$bin_server" "$bin_receiver" "$bin_loadgen"; do
  [[ -x "$bin" ]] || { echo "bench/profile.sh: no $bin (run bench/run.sh once to build)" >&2; exit 1; }
done

work="$(mktemp -d /tmp/wink-profile.XXXXXX)"
server_pid="" receiver_pid="" perf_pid=""
cleanup() {
  set +e
  for pid in "$perf_pid" "$server_pid" "$receiver_pid"; do
    [[ -n "$pid" ]] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

source bench/free_port.sh  # free_port
# shellcheck source=bench/bench_server.sh
source bench/bench_server.sh  # start_bench_server, loadgen

"$bin_receiver" --stats --port 0 --certificate_dir "$work/receiver" >"$work/receiver.log" 2>&1 &
receiver_pid=$!
receiver_url=""
for ((i = 0; i < 100; i++)); do
  receiver_url="$(grep -o 'https://127.0.0.1:[0-9]*' "$work/receiver.log" 2>/dev/null || true)"
  [[ -n "$receiver_url" ]] && break
  sleep 0.1
done
[[ -n "$receiver_url" ]] || { echo "bench/profile.sh: the receiver did not start" >&2; exit 1; }
ca_file="$work/receiver/ca.pem"
receiver() { curl -sS --cacert "$ca_file" "$@"; }
# Waits until the receiver has counted $1 POSTs, polling every $2 seconds.
wait_for_posts() {
  local posts
  while :; do
    kill -0 "$server_pid" 2>/dev/null ||
      { echo "bench/profile.sh: the server exited; its log ends:" >&2; tail -3 "$work/server.log" >&2; exit 1; }
    posts="$(receiver "$receiver_url/_stats" | grep -o '"posts":[0-9]*' | cut -d: -f2)"
    ((posts >= $1)) && return 0
    sleep "$2"
  done
}

# shellcheck disable=SC2086  # SERVER_ARGS is a list of flags
start_bench_server "$ca_file" ${SERVER_ARGS:-}
loadgen --mode wait-ready --timeout 20s >/dev/null ||
  { echo "bench/profile.sh: the server did not start" >&2; tail "$work/server.log" >&2; exit 1; }
loadgen --mode setup --account bench --webhooks 1 --url "$receiver_url/hook" >/dev/null
publish_args=(--account "$([[ "$mode" == quiet ]] && echo bench-quiet || echo bench)"
  --channels 4 --payload_bytes 256)

# Per thread name: "name cpu_ns voluntary_switches wait_ns".
snapshot() {
  local task fields
  for task in "/proc/$server_pid/task/"*; do
    read -ra fields <"$task/schedstat"
    echo "$(<"$task/comm") ${fields[0]} $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$task/status") ${fields[1]}"
  done | awk '{ cpu[$1] += $2; sw[$1] += $3; wait[$1] += $4 }
              END { for (name in cpu) printf "%s %.0f %.0f %.0f\n", name, cpu[name], sw[name], wait[name] }' | sort
}
start_perf() {
  [[ -n "${PERF_THREAD:-}" ]] || return 0
  if [[ "$PERF_THREAD" == all ]]; then
    perf record ${PERF_CALLGRAPH:--g} -p "$server_pid" -o "$work/perf.data" >/dev/null 2>&1 &
    perf_pid=$!
    return 0
  fi
  local task tid=""
  for task in "/proc/$server_pid/task/"*; do
    [[ "$(<"$task/comm")" == "$PERF_THREAD" ]] && { tid="${task##*/}"; break; }
  done
  [[ -n "$tid" ]] || { echo "bench/profile.sh: no thread named $PERF_THREAD" >&2; return 0; }
  perf record ${PERF_CALLGRAPH:--g} -t "$tid" -o "$work/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
}
stop_perf() {
  [[ -n "$perf_pid" ]] || return 0
  kill -INT "$perf_pid" && wait "$perf_pid" 2>/dev/null || true
  perf_pid=""
}
rpc_lines() { grep -c ' rpc ' "$work/server.log" || true; }
# Cumulative counters, one line: commits over 10 ms, writes that waited over
# 10 ms, busy and all jiffies of the machine, ns of CPU of RocksDB's threads.
counters() {
  curl -s "http://$metrics_address/metrics" | awk '
    /^wink_webhooks_storage_commit_duration_seconds_bucket\{le="0.01"\}/ { commits_fast = $2 }
    /^wink_webhooks_storage_commit_duration_seconds_count/ { commits = $2 }
    /^wink_webhooks_storage_write_wait_seconds_bucket\{le="0.01"\}/ { waits_fast = $2 }
    /^wink_webhooks_storage_write_wait_seconds_count/ { waits = $2 }
    END { printf "%d %d ", commits - commits_fast, waits - waits_fast }'
  awk '/^cpu / { printf "%d %d ", $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
  snapshot 2>/dev/null | awk '$1 ~ /^rocksdb/ { ns += $2 } END { printf "%.0f\n", ns }'
}
timeline() {
  set +e
  local before after stats
  printf '%-12s %6s %8s %8s %12s %12s %6s %12s\n' time posts p99_ms max_ms "commits>10ms" \
    "waits>10ms" busy "rocksdb_ms"
  receiver -X POST "$receiver_url/_stats/reset" >/dev/null
  read -ra before <<<"$(counters)"
  while kill -0 "$loadgen_pid" 2>/dev/null; do
    sleep 0.2
    stats="$(receiver -X POST "$receiver_url/_stats/reset" 2>/dev/null)" || break
    read -ra after <<<"$(counters)"
    ((${#after[@]} == 5)) || break
    printf '%-12s %6s %8s %8s %12d %12d %5.0f%% %12.1f\n' "$(date +%T.%3N)" \
      "$(grep -o '"posts":[0-9]*' <<<"$stats" | cut -d: -f2)" \
      "$(grep -o '"latency_p99_ms":[0-9.]*' <<<"$stats" | cut -d: -f2)" \
      "$(grep -o '"latency_max_ms":[0-9.]*' <<<"$stats" | cut -d: -f2)" \
      $((after[0] - before[0])) $((after[1] - before[1])) \
      "$(awk -v b=$((after[2] - before[2])) -v t=$((after[3] - before[3])) 'BEGIN { print t ? 100 * b / t : 0 }')" \
      "$(awk -v ns=$((after[4] - before[4])) 'BEGIN { print ns / 1e6 }')"
    before=("${after[@]}")
  done
}

if [[ "$mode" == drain ]]; then
  loadgen --mode pause --account bench >/dev/null
  loadgen --mode batch-publish "${publish_args[@]}" --batch_size 100 --concurrency 4 \
    --count $((events / 100)) >/dev/null
  sleep 1
  receiver -X POST "$receiver_url/_stats/reset" >/dev/null
  snapshot >"$work/before"
  start=$(date +%s.%N)
  start_perf
  loadgen --mode resume --account bench >/dev/null
  wait_for_posts "$events" 0.05
  seconds="$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')"
  snapshot >"$work/after"
  stop_perf
  echo "drain: $events deliveries in ${seconds} s, $(awk -v n="$events" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }') POSTs/s"
else
  if [[ -n "${HISTORY:-}" ]]; then
    [[ "$HISTORY" =~ ^[1-9][0-9]*00$ ]] || { echo "HISTORY: a multiple of 100" >&2; exit 2; }
    loadgen --mode batch-publish --account bench --channels 4 --payload_bytes 256 \
      --batch_size 100 --concurrency 16 --count $((HISTORY / 100)) >/dev/null
    wait_for_posts "$HISTORY" 0.2
    receiver -X POST "$receiver_url/_stats/reset" >/dev/null
  fi
  loadgen --mode "$load_mode" "${publish_args[@]}" --warmup 0s --duration 14s "${load[@]}" \
    >"$work/loadgen.out" 2>&1 &
  loadgen_pid=$!
  timeline_pid=""
  if [[ -n "${TIMELINE:-}" ]]; then
    timeline >"$TIMELINE" &
    timeline_pid=$!
  fi
  sleep 3
  lines_before="$(rpc_lines)"
  snapshot >"$work/before"
  start_perf
  seconds=8
  sleep "$seconds"
  snapshot >"$work/after"
  stop_perf
  events=$((($(rpc_lines) - lines_before) * events_per_call))
  wait "$loadgen_pid" || true
  echo "loadgen: $(grep -o 'RESULT.*' "$work/loadgen.out" || echo 'no result')"
  echo "events in the ${seconds} s window: $events"
fi
((events > 0)) || { echo "bench/profile.sh: no events measured" >&2; exit 1; }

printf '%-18s %10s %10s %6s %8s\n' thread "µs/event" "sw/event" ran "waited"
join "$work/before" "$work/after" | awk -v n="$events" -v t="$seconds" '
  { us = ($5 - $2) / 1000 / n; sw = ($6 - $3) / n; total += us; switches += sw
    if (us >= 0.5) printf "%-18s %10.1f %10.2f %5.0f%% %7.0f%%\n", $1, us, sw,
                          ($5 - $2) / 1e7 / t, ($7 - $4) / 1e7 / t }
  END { printf "%-18s %10.1f %10.2f\n", "all threads", total, switches }'
if [[ -n "${TIMELINE:-}" && "$mode" != drain ]]; then
  wait "$timeline_pid" 2>/dev/null || true
  { echo "RocksDB flushes and compactions (LOG):"
    grep -E '"event": "(flush_started|compaction_started)"' "$work/data/LOG" |
      sed -E 's/^[0-9/]+-([0-9:.]+) .*"job": ([0-9]+), "event": "([a-z_]+)".*"(flush_reason|compaction_reason)": "([^"]*)".*/\1 job \2 \3 (\5)/'
  } >>"$TIMELINE"
fi
echo "receiver: $(receiver "$receiver_url/_stats" |
  grep -oE '"(posts_per_s|latency_p50_ms|latency_p99_ms|latency_p999_ms)":[0-9.]*' | tr '\n' ' ')"
if [[ -f "$work/perf.data" ]]; then
  [[ -n "${PERF_KEEP:-}" ]] && cp "$work/perf.data" "$PERF_KEEP"
  perf report -i "$work/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -30
fi
