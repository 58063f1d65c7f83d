#!/usr/bin/env bash
# One benchmark run of Wink Webhooks on this machine, reported as ONE table
# whose ratios compare numbers measured in the same run (docs/BENCHMARKS.md
# explains every row).
#
# Builds Release, starts the benchmark receiver (webhooks_test_receiver
# --stats: HTTPS keep-alive on 127.0.0.1) and the server
# (build-release/service/wink-webhooks-server, fresh data directory in a
# temporary directory, loopback allowed, the receiver's CA trusted, a random
# admin token), then runs these phases one after the other, each waiting
# until every delivery of the previous one has arrived:
#   1. trivial RPC (ListEventTypes) at max rate          -> baseline 1
#   2. wrk: raw keep-alive HTTPS POSTs to the receiver    -> baseline 2
#   3. PublishEvent at max rate (webhooks enabled): calls/s, and the POSTs/s
#      the receiver got meanwhile (end to end)
#   4. BatchPublishEvents at max rate: events/s
#   5. PublishEvent, open loop at half the rate of 3: RPC latency and
#      publish-to-delivery latency (receive time - the event's sent_ns)
#   6. a backlog published to paused webhooks, then resumed: POSTs/s of the
#      delivery engine alone
#   7. the server's peak RSS (VmHWM)
# Optional scenarios, each on a fresh server (they take minutes):
#   --held [N]     N (default 1,000,000) deliveries held for a paused webhook:
#                  RSS, then resumed for --scenario-seconds
#   --restart [N]  N due deliveries (webhook on a closed port), server
#                  restarted: time from process start to the first OK RPC
#
# Every command is printed (prefixed with "+") as it runs and kept in
# <work dir>/commands.txt with the logs. Processes are stopped on exit.
#
# Usage: bench/run.sh [--duration 10] [--concurrency 64] [--channels 4]
#          [--webhooks 1] [--batch-size 100] [--batch-concurrency 16]
#          [--payload-bytes 256] [--backlog 30000] [--drain-timeout 180]
#          [--held [N]] [--restart [N]] [--scenario-seconds 20] [--micro]
#          [--no-build] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
invocation="bench/run.sh $*"

duration=10 concurrency=64 channels=4 webhooks=1 batch_size=100 batch_concurrency=16
payload_bytes=256 backlog=30000 drain_timeout=180 held=0 restart=0 scenario_seconds=20
micro=0 build=1 keep=0

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
need_number() {  # flag value
  [[ "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || {
    echo "bench/run.sh: $1 needs a positive integer, got '$2'" >&2
    exit 2
  }
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration | --concurrency | --channels | --webhooks | --batch-size | \
      --batch-concurrency | --payload-bytes | --backlog | --drain-timeout | --scenario-seconds)
      need_number "$1" "${2:-}"
      name="${1#--}"
      printf -v "${name//-/_}" '%s' "$2"
      shift 2
      ;;
    --held | --restart)  # optional count
      name="${1#--}" count=1000000
      if [[ "${2:-}" =~ ^[0-9]+$ ]]; then count="$2"; shift; fi
      need_number "--$name" "$count"
      printf -v "$name" '%s' "$count"
      shift
      ;;
    --micro) micro=1; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if ((batch_size > 100)); then
  echo "bench/run.sh: --batch-size is at most 100 (BatchPublishEvents' limit)" >&2
  exit 2
fi

build_dir="build-release"
bin_server="$build_dir/service/wink-webhooks-server"
bin_receiver="$build_dir/tests/fakes/webhooks_test_receiver"
bin_loadgen="$build_dir/bench/webhooks_loadgen"
bin_micro="$build_dir/bench/webhooks_micro_bench"

source scripts/deps.sh
webhooks_install_deps wrk curl

work="$(mktemp -d "${TMPDIR:-/tmp}/wink-bench.XXXXXX")"
server_pid="" receiver_pid="" shutdown_warning=""

# --- helpers ------------------------------------------------------------------

# Prints a command the way it can be pasted into a shell, and logs it.
show() {
  local line
  printf -v line '%q ' "$@"
  echo "+ ${line% }" >&2
  echo "${line% }" >>"$work/commands.txt"
}
run() { show "$@"; "$@"; }
note() { echo ">> $*" >&2; }

# SIGTERM, then SIGKILL after 30 s; fails if SIGKILL was needed.
stop_pid() {
  local pid="$1" i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}
cleanup() {
  stop_pid "$server_pid" || true
  stop_pid "$receiver_pid" || true
  if ((keep)); then
    note "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A TCP port on 127.0.0.1 nobody listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Field of a loadgen "RESULT k=v ..." line.
result_field() { grep -o " $2=[^ ]*" <<<"$1" | cut -d= -f2; }
# Number of a flat JSON object from the receiver's /_stats.
json_field() { grep -o "\"$2\":[-0-9.]*" <<<"$1" | cut -d: -f2; }
# Arithmetic on decimals.
calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }"; }
# 12345.6 -> 12,346
thousands() { calc "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
percent() {  # part whole
  if [[ -n "$1" && -n "$2" ]] && awk "BEGIN { exit !($2 > 0) }"; then
    echo "$(calc "100 * $1 / $2")%"
  else
    echo "n/a"
  fi
}
# Events the server accepted in a loadgen run (0 if it failed).
accepted_of() {
  local events
  events="$(result_field "$1" events_accepted)"
  echo "${events:-0}"
}
now_s() { date +%s.%N; }
rss_mib() { awk -v key="$2:" '$1 == key { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

receiver_stats() { curl -sS --cacert "$ca_file" "$receiver_url/_stats"; }
receiver_reset() {
  show curl -sS --cacert "$ca_file" -X POST "$receiver_url/_stats/reset"
  curl -sS --cacert "$ca_file" -X POST "$receiver_url/_stats/reset" >/dev/null
}
# Polls /_stats until `expected` POSTs arrived since the reset, at most
# --drain-timeout seconds; leaves the last answer in $stats.
wait_delivered() {
  local expected="$1" deadline=$((SECONDS + drain_timeout)) posts
  note "waiting for $expected deliveries (polling GET $receiver_url/_stats)"
  while :; do
    stats="$(receiver_stats)"
    posts="$(json_field "$stats" posts)"
    ((posts >= expected)) && return 0
    if ((SECONDS >= deadline)); then
      note "WARNING: only $posts of $expected deliveries after ${drain_timeout}s"
      return 0
    fi
    sleep 0.2
  done
}

# Runs the load generator; its report goes to stderr, the RESULT line to
# stdout. Never fails the script: a mode the server lacks shows as errors.
loadgen() {
  local out
  show "$bin_loadgen" --target "$server_address" "$@"
  out="$("$bin_loadgen" --target "$server_address" "$@" 2>&1)" || true
  echo "$out" >>"$work/loadgen.log"
  grep -v '^RESULT' <<<"$out" | sed 's/^/   /' >&2 || true
  grep '^RESULT' <<<"$out" || echo "RESULT failed=1 errors=no_result"
}

# Starts the server on $server_address with data in $1; sets server_pid and
# ready_ms (process start to the first successful RPC).
start_server() {
  local data_dir="$1" start_ns result
  start_ns="$(date +%s%N)"
  show "$bin_server" "${server_args[@]}" --data_dir "$data_dir"
  "$bin_server" "${server_args[@]}" --data_dir "$data_dir" >>"$work/server.log" 2>&1 &
  server_pid=$!
  # In rounds of 5 s, so that a server that died is noticed.
  while :; do
    result="$(loadgen --mode wait-ready --since_unix_ns "$start_ns" --timeout 5s)"
    ready_ms="$(result_field "$result" ready_ms)"
    [[ -n "$ready_ms" ]] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench/run.sh: the server did not start; see $work/server.log" >&2
      tail -n 20 "$work/server.log" >&2
      exit 1
    fi
  done
}
stop_server() {
  local start_s
  start_s="$(now_s)"
  show kill -TERM "$server_pid"
  if stop_pid "$server_pid"; then
    note "server stopped $(calc "$(now_s) - $start_s" 1)s after SIGTERM"
  else
    note "WARNING: the server did not stop within 30s of SIGTERM; killed (see $work/server.log)"
    shutdown_warning=" Server needed SIGKILL after SIGTERM at least once (see server.log)."
  fi
  server_pid=""
}

# Publishes `events` events to the account with batch-publish (publish if
# batches are not available); sets accepted.
publish_events() {
  local account="$1" events="$2" result
  if [[ "$batch_ok" == 1 ]]; then
    result="$(loadgen --mode batch-publish --account "$account" --batch_size "$batch_size" \
      --concurrency "$batch_concurrency" --channels "$channels" \
      --payload_bytes "$payload_bytes" --count $(((events + batch_size - 1) / batch_size)))"
  else
    result="$(loadgen --mode publish --account "$account" --concurrency "$concurrency" \
      --channels "$channels" --payload_bytes "$payload_bytes" --count "$events")"
  fi
  accepted="$(accepted_of "$result")"
}

# --- build and start ------------------------------------------------------------

if ((build)); then
  run scripts/build.sh "$build_dir" Release wink-webhooks-server webhooks_test_receiver \
    webhooks_loadgen webhooks_micro_bench
fi

WEBHOOKS_TOKEN="bench_$(openssl rand -hex 16)"
export WEBHOOKS_TOKEN  # read by webhooks_loadgen; never printed
token_sha256="$(printf %s "$WEBHOOKS_TOKEN" | sha256sum | cut -d' ' -f1)"

show "$bin_receiver" --stats --port 0 --certificate_dir "$work/receiver"
"$bin_receiver" --stats --port 0 --certificate_dir "$work/receiver" >"$work/receiver.log" 2>&1 &
receiver_pid=$!
for ((i = 0; i < 100; i++)); do
  receiver_url="$(grep -o 'https://127.0.0.1:[0-9]*' "$work/receiver.log" || true)"
  [[ -n "$receiver_url" ]] && break
  sleep 0.1
done
[[ -n "$receiver_url" ]] || { echo "bench/run.sh: the receiver did not start" >&2; cat "$work/receiver.log" >&2; exit 1; }
ca_file="$work/receiver/ca.pem"

server_address="127.0.0.1:$(free_port)"
server_args=(--listen "$server_address" --admin_token_sha256 "$token_sha256"
  --allow_private_targets 127.0.0.0/8 --extra_ca_file "$ca_file")
start_server "$work/data"
startup_ms="$ready_ms"

loadgen --mode setup --account bench --webhooks "$webhooks" --url "$receiver_url/hook" >/dev/null
common=(--account bench --channels "$channels" --payload_bytes "$payload_bytes"
  --duration "${duration}s")

# --- 1. trivial RPC ---------------------------------------------------------------
note "1. trivial RPC (baseline 1)"
trivial="$(loadgen --mode trivial "${common[@]}" --concurrency "$concurrency")"

# --- 2. wrk ---------------------------------------------------------------------
note "2. wrk: raw HTTPS keep-alive POSTs to the same receiver (baseline 2)"
wrk_connections=$((16 * webhooks))  # the server's default per-webhook limit
receiver_reset
show env WRK_DATA_BYTES="$payload_bytes" wrk -t2 -c"$wrk_connections" -d"${duration}s" \
  -s bench/wrk_post.lua "$receiver_url/wrk"
wrk_out="$(WRK_DATA_BYTES="$payload_bytes" wrk -t2 -c"$wrk_connections" -d"${duration}s" \
  -s bench/wrk_post.lua "$receiver_url/wrk")"
sed 's/^/   /' <<<"$wrk_out" >&2
wrk_rate="$(awk '/^Requests\/sec:/ { print $2 }' <<<"$wrk_out")"
wrk_receiver_rate="$(json_field "$(receiver_stats)" posts_per_s)"

# --- 3. publish at max rate ---------------------------------------------------------
note "3. PublishEvent at max rate, delivering meanwhile"
receiver_reset
publish="$(loadgen --mode publish "${common[@]}" --concurrency "$concurrency")"
stats="$(receiver_stats)"
delivered_during="$(json_field "$stats" posts_per_s)"
publish_stop="$(now_s)"
wait_delivered $(($(accepted_of "$publish") * webhooks))
catch_up_s="$(calc "$(now_s) - $publish_stop" 1)"

# --- 4. batch publish at max rate -----------------------------------------------------
note "4. BatchPublishEvents ($batch_size events per call) at max rate"
receiver_reset
batch="$(loadgen --mode batch-publish "${common[@]}" --concurrency "$batch_concurrency" \
  --batch_size "$batch_size")"
batch_ok=0
[[ "$(result_field "$batch" ok)" =~ ^[1-9] ]] && batch_ok=1
wait_delivered $(($(accepted_of "$batch") * webhooks))

# --- 5. latency at half the max publish rate -------------------------------------------
half_rate="$(calc "$(result_field "$publish" calls_per_s) / 2")"
note "5. PublishEvent at $half_rate calls/s (half the max), open loop: latencies"
receiver_reset
latency="$(loadgen --mode publish "${common[@]}" --rate "$half_rate" --warmup 0s \
  --concurrency $((concurrency * 16)))"
wait_delivered $(($(accepted_of "$latency") * webhooks))
latency_stats="$stats"

# --- 6. backlog drain -------------------------------------------------------------
note "6. $backlog events held for paused webhooks, then resumed: the delivery engine alone"
loadgen --mode pause --account bench >/dev/null
publish_events bench "$backlog"
receiver_reset
loadgen --mode resume --account bench >/dev/null
wait_delivered $((accepted * webhooks))
drain_stats="$stats"

# --- 7. memory --------------------------------------------------------------------
peak_rss="$(rss_mib "$server_pid" VmHWM)"

# --- optional scenarios -------------------------------------------------------------
if ((held)); then
  note "scenario: $held deliveries held for a paused webhook (fresh server)"
  stop_server
  start_server "$work/data-held"
  loadgen --mode setup --account held --url "$receiver_url/held" --paused >/dev/null
  start_s="$(now_s)"
  publish_events held "$held"
  held_accepted="$accepted"
  held_publish_s="$(calc "$(now_s) - $start_s")"
  held_rss="$(rss_mib "$server_pid" VmRSS)"
  held_hwm="$(rss_mib "$server_pid" VmHWM)"
  held_disk="$(du -sm "$work/data-held" | cut -f1)"
  receiver_reset
  loadgen --mode resume --account held >/dev/null
  show sleep "$scenario_seconds"
  sleep "$scenario_seconds"
  held_release_stats="$(receiver_stats)"
  held_release_hwm="$(rss_mib "$server_pid" VmHWM)"
fi

if ((restart)); then
  note "scenario: restart with $restart due deliveries (fresh server)"
  stop_server
  start_server "$work/data-restart"
  # Port 1 on loopback refuses connections: every attempt fails at once and
  # is retried 5 s later (default schedule), so nothing is ever delivered and
  # every delivery is due now or within seconds. Loopback is allowed by
  # --allow_private_targets; a refusing endpoint gets one request in flight,
  # so failed attempts cost little meanwhile.
  loadgen --mode setup --account restart --url "https://127.0.0.1:1/hook" >/dev/null
  publish_events restart "$restart"
  restart_accepted="$accepted"
  stop_server
  start_server "$work/data-restart"
  restart_ready_ms="$ready_ms"
  show sleep "$scenario_seconds"
  sleep "$scenario_seconds"
  restart_hwm="$(rss_mib "$server_pid" VmHWM)"
  restart_disk="$(du -sm "$work/data-restart" | cut -f1)"
fi

if ((micro)); then
  note "micro-benchmarks (server and receiver stopped first: they would compete for the cores)"
  stop_server
  stop_pid "$receiver_pid" || true
  run "$bin_micro" --benchmark_min_time=0.2 | tee "$work/micro.txt" >&2
fi

# --- the table ------------------------------------------------------------------
trivial_rate="$(result_field "$trivial" calls_per_s)"
publish_rate="$(result_field "$publish" calls_per_s)"
batch_rate="$(result_field "$batch" events_per_s)"
ms3() {
  printf '%.1f / %.1f / %.1f ms' "$(result_field "$1" p50_ms)" "$(result_field "$1" p99_ms)" \
    "$(result_field "$1" p999_ms)"
}
stats_ms3() {
  printf '%.1f / %.1f / %.1f ms' "$(json_field "$1" latency_p50_ms)" \
    "$(json_field "$1" latency_p99_ms)" "$(json_field "$1" latency_p999_ms)"
}
errors_note() {
  local errors
  errors="$(result_field "$1" errors)"
  [[ -n "$errors" && "$errors" != "no_result" ]] && echo " (errors: $errors)"
  [[ "$errors" == "no_result" ]] && echo " (loadgen failed)"
  true
}
drain_posts="$(json_field "$drain_stats" posts)"
drain_rate="$(json_field "$drain_stats" posts_per_s)"

echo
echo "Wink Webhooks benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, Release"
echo "command: $invocation"
echo "settings: ${duration}s per phase, $concurrency calls in flight over $channels channels" \
  "(batches: $batch_concurrency x $batch_size events), $webhooks webhook(s) on every event," \
  "${payload_bytes}-byte payloads, storage sync: server default (fsync)"
echo
echo "| # | measurement | result | vs baseline |"
echo "|---|---|---|---|"
echo "| 1 | trivial RPC (ListEventTypes), max rate | $(thousands "$trivial_rate") calls/s$(errors_note "$trivial") | baseline 1 |"
echo "| 2 | PublishEvent, max rate, delivering meanwhile | $(thousands "$publish_rate") calls/s$(errors_note "$publish") | $(percent "$publish_rate" "$trivial_rate") of 1 |"
if ((batch_ok)); then
  echo "| 3 | BatchPublishEvents, $batch_size per call, max rate | $(thousands "$batch_rate") events/s ($(thousands "$(result_field "$batch" calls_per_s)") calls/s)$(errors_note "$batch") | $(percent "$batch_rate" "$trivial_rate") of 1; $(calc "$batch_rate / $publish_rate" 1)x row 2 |"
else
  echo "| 3 | BatchPublishEvents, $batch_size per call | not available$(errors_note "$batch") | |"
fi
echo "| 4 | wrk: keep-alive HTTPS POSTs to the receiver, $wrk_connections connections | $(thousands "$wrk_rate") POSTs/s (receiver counted $(thousands "$wrk_receiver_rate")/s) | baseline 2 |"
echo "| 5 | delivered POSTs/s end to end, while row 2 published | $(thousands "$delivered_during") POSTs/s (all delivered ${catch_up_s}s after publishing stopped) | $(percent "$delivered_during" "$wrk_rate") of 4 |"
echo "| 6 | delivered POSTs/s draining a backlog ($(thousands "$drain_posts") released at once) | $(thousands "$drain_rate") POSTs/s | $(percent "$drain_rate" "$wrk_rate") of 4 |"
echo "| 7 | PublishEvent RPC latency p50 / p99 / p99.9 at $(thousands "$half_rate") calls/s (half of 2) | $(ms3 "$latency")$(errors_note "$latency") | |"
echo "| 8 | publish-to-delivery latency p50 / p99 / p99.9, same run as 7 | $(stats_ms3 "$latency_stats") | |"
echo "| 9 | server peak RSS (VmHWM) after 1-6 | $peak_rss MiB | |"
echo "| 10 | server start to first successful RPC, empty data dir | ${startup_ms} ms | |"
if ((held)); then
  echo "| 11 | $(thousands "$held_accepted") deliveries held for a paused webhook (published in ${held_publish_s}s) | RSS $held_rss MiB, peak $held_hwm MiB; data dir $held_disk MiB | |"
  echo "| 12 | ... then resumed: first ${scenario_seconds}s of the release | $(thousands "$(json_field "$held_release_stats" posts_per_s)") POSTs/s; peak RSS $held_release_hwm MiB | $(percent "$(json_field "$held_release_stats" posts_per_s)" "$wrk_rate") of 4 |"
fi
if ((restart)); then
  echo "| 13 | restart with $(thousands "$restart_accepted") deliveries due: process start to first successful RPC | ${restart_ready_ms} ms (data dir $restart_disk MiB) | $(calc "$restart_ready_ms / $startup_ms" 1)x row 10 |"
  echo "| 14 | ... peak RSS ${scenario_seconds}s after that restart | $restart_hwm MiB | |"
fi
echo
if ((keep)); then
  echo "Logs and the full command list: $work.$shutdown_warning"
else
  echo "Logs and the full command list were in $work (removed; --keep keeps them).$shutdown_warning"
fi
