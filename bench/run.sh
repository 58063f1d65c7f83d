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
#   3b. PublishEvent at max rate to an account without webhooks: the publish
#      path alone, nothing to deliver
#   4. BatchPublishEvents at max rate: events/s
#   5. PublishEvent, open loop at half the rate of 3: RPC latency and
#      publish-to-delivery latency (receive time - the event's sent_ns)
#   6. a backlog published to paused webhooks, then resumed: POSTs/s of the
#      delivery engine alone
#   7. the server's peak RSS (VmHWM)
# For phases 1, 3 (publish to delivered) and 3b it reports the server's CPU
# per call or event, by thread name (/proc schedstat).
# Optional scenarios, each on a fresh server (they take minutes):
#   --held [N]     N (default 1,000,000) deliveries held for a paused webhook:
#                  RSS, then resumed for --scenario-seconds
#   --restart [N]  N due deliveries (webhook on a closed port), server
#                  restarted: time from process start to the first OK RPC
#   --cluster      a local PostgreSQL 15 (one server in the work dir, no
#                  standbys), then phase 3 again over it: 1 node, then 2 nodes
#                  sharing it (one load generator per node, half the calls in
#                  flight each); --webhooks defaults to 8 with it (at least 8
#                  are used for these rows, so that both nodes have work)
#
# Every command is printed (prefixed with "+") as it runs and kept in
# <work dir>/commands.txt with the logs. Processes are stopped on exit.
# WEBHOOKS_BUILD_DIR picks another build directory than build-release (with
# --no-build, its binaries are used as they are, whatever their build type;
# the banner names it).
#
# Usage: bench/run.sh [--duration 10] [--concurrency 64] [--channels 4]
#          [--webhooks 1] [--batch-size 100] [--batch-concurrency 16]
#          [--payload-bytes 256] [--backlog 30000] [--drain-timeout 180]
#          [--held [N]] [--restart [N]] [--cluster] [--scenario-seconds 20] [--micro]
#          [--server-arg FLAG]... [--no-build] [--keep]
#        --server-arg: one more flag for every server the run starts, e.g.
#          --server-arg --config=delivery.textproto (the banner lists them)
#        WEBHOOKS_BUILD_DIR=DIR: binaries from DIR instead of build-release
set -euo pipefail
cd "$(dirname "$0")/.."
invocation="bench/run.sh $*"

duration=10 concurrency=64 channels=4 webhooks=1 batch_size=100 batch_concurrency=16
payload_bytes=256 backlog=30000 drain_timeout=180 held=0 restart=0 scenario_seconds=20
micro=0 build=1 keep=0 cluster=0 webhooks_given=0 extra_server_args=()

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
      [[ "$name" == webhooks ]] && webhooks_given=1
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
    --server-arg)
      [[ -n "${2:-}" ]] || { echo "bench/run.sh: --server-arg needs a flag" >&2; exit 2; }
      extra_server_args+=("$2")
      shift 2
      ;;
    --cluster) cluster=1; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
# The cluster rows need several webhooks (a webhook's deliveries are all sent
# by one node); the whole run then uses as many, so rows 15-18 compare with
# rows 2 and 5 like for like.
if ((cluster && !webhooks_given)); then webhooks=8; fi
cluster_webhooks=$((webhooks > 8 ? webhooks : 8))
if ((batch_size > 100)); then
  echo "bench/run.sh: --batch-size is at most 100 (BatchPublishEvents' limit)" >&2
  exit 2
fi

build_dir="${WEBHOOKS_BUILD_DIR:-build-release}"
bin_server="$build_dir/service/wink-webhooks-server"
bin_receiver="$build_dir/tests/fakes/webhooks_test_receiver"
bin_loadgen="$build_dir/bench/webhooks_loadgen"
bin_micro="$build_dir/bench/webhooks_micro_bench"

source scripts/deps.sh
webhooks_install_deps wrk curl

work="$(mktemp -d "${TMPDIR:-/tmp}/wink-bench.XXXXXX")"
server_pid="" receiver_pid="" shutdown_warning=""
node_pids=() node_addresses=() loadgen_jobs=() pg_data="" pg_port="" pg_pass=""

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
  local pid
  # Load generators started in the background (a subshell each, whose child
  # is the load generator): by parent pid, then the subshell.
  for pid in "${loadgen_jobs[@]}"; do
    kill -TERM $(pgrep -P "$pid") 2>/dev/null || true
    stop_pid "$pid" || true
  done
  for pid in "${node_pids[@]}"; do stop_pid "$pid" || true; done
  pg_stop
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

source bench/free_port.sh  # free_port

# The server's /metrics, saved to $1 (empty if it does not answer).
scrape_metrics() { curl -s --max-time 5 "http://$metrics_address/metrics" >"$1" || : >"$1"; }
# Quantile $4 (0-1) of histogram $1 over what it observed between the
# scrapes $2 and $3, in ms, interpolated linearly inside its bucket (the
# buckets are coarse: "12.0" means somewhere in the 10-25 ms bucket). "n/a"
# when it observed nothing.
histogram_quantile_ms() {
  awk -v name="$1_bucket" -v q="$4" '
    function le(line) { match(line, /le="[^"]*"/); return substr(line, RSTART + 4, RLENGTH - 5) }
    index($1, name "{") != 1 { next }
    FNR == NR { before[le($1)] = $2; next }
    { bound = le($1); n++; bounds[n] = bound; counts[n] = $2 - before[bound] }
    END {
      total = counts[n]
      if (total <= 0) { print "n/a"; exit }
      target = q * total; lower = 0; below = 0
      for (i = 1; i <= n; i++) {
        if (counts[i] >= target) {
          if (bounds[i] == "+Inf") { printf ">%.1f", lower * 1000; exit }
          inside = counts[i] - below
          share = inside > 0 ? (target - below) / inside : 1
          printf "%.1f", (lower + (bounds[i] - lower) * share) * 1000
          exit
        }
        lower = bounds[i]; below = counts[i]
      }
    }' "$2" "$3"
}
# Observations of histogram $1 between the scrapes $2 and $3 above $4 (a
# bucket bound, in seconds), as "count of total".
histogram_above() {
  awk -v name="$1_bucket" -v bound="$4" '
    function le(line) { match(line, /le="[^"]*"/); return substr(line, RSTART + 4, RLENGTH - 5) }
    index($1, name "{") != 1 { next }
    FNR == NR { before[le($1)] = $2; next }
    le($1) == bound { at = $2 - before[bound] }
    le($1) == "+Inf" { total = $2 - before["+Inf"] }
    END { printf "%d of %d", total - at, total }' "$2" "$3"
}
# Mean of histogram $1 between the scrapes $2 and $3 (sum / count).
histogram_mean() {
  awk -v sum="$1_sum" -v count="$1_count" '
    FNR == NR && $1 == sum { s0 = $2 } FNR == NR && $1 == count { c0 = $2 } FNR == NR { next }
    $1 == sum { s1 = $2 } $1 == count { c1 = $2 }
    END { if (c1 > c0) printf "%.1f", (s1 - s0) / (c1 - c0); else print "n/a" }' "$2" "$3"
}

# The server's threads and /metrics at the start or end of phase $1
# ($work/cpu-PHASE-WHEN.threads and .metrics), for the CPU per unit of work.
cpu_snapshot() {  # PHASE before|after
  snapshot_threads "$work/cpu-$1-$2.threads"
  scrape_metrics "$work/cpu-$1-$2.metrics"
}
# Units of work of phase $1 by the counter $2 (a prefix of its samples).
units_of() { echo $(($(counter_sum "$2" "$work/cpu-$1-after.metrics") - $(counter_sum "$2" "$work/cpu-$1-before.metrics"))); }
# Every server thread as "tid name cpu_ns runqueue_wait_ns" (schedstat), to $1.
snapshot_threads() {
  local task
  for task in /proc/"$server_pid"/task/*; do
    echo "${task##*/} $(tr ' ' _ <"$task/comm" 2>/dev/null) $(cat "$task/schedstat" 2>/dev/null)"
  done >"$1" 2>/dev/null || true
}
# Between two snapshots taken $3 seconds apart: per thread name, the share
# of one core it ran and the share of the time it was ready but waiting for
# a CPU, the busiest first (table rows).
thread_rows() {
  awk -v seconds="$3" '
    FNR == NR { cpu0[$1] = $3; wait0[$1] = $4; next }
    NF >= 4 { name[$2]; n[$2]++; cpu[$2] += $3 - cpu0[$1]; wait[$2] += $4 - wait0[$1] }
    END {
      for (k in name) {
        printf "%d| %s | %d | %.0f%% | %.0f%% |\n", cpu[k], k, n[k], cpu[k] / seconds / 1e7,
          wait[k] / seconds / 1e7
      }
    }' "$1" "$2" | sort -t'|' -k1,1nr | cut -d'|' -f2- | head -8 | sed 's/^/|/'
}

# Sum of a counter's samples (every label set) in the scrape $2.
counter_sum() { awk -v name="$1" 'index($1, name) == 1 && substr($1, length(name) + 1, 1) ~ /^[{]?$/ { s += $2 } END { printf "%d", s }' "$2"; }
# The server's CPU per unit of work in several phases, each given as
# "before after units" (thread snapshots and the units done between them):
# per thread name, µs per unit, the busiest (by all phases) first, then the
# total, then how often the threads were switched onto a CPU per unit (each
# wake-up costs CPU beyond the work it does) (table rows).
cpu_rows() {  # BEFORE AFTER UNITS, once per phase
  local files=() units=""
  while (($# >= 3)); do
    files+=("$1" "$2")
    units+=" $3"
    shift 3
  done
  awk -v units="$units" '
    BEGIN { phases = split(units, unit, " ") }
    FNR == 1 { file++ }
    file % 2 == 1 { before[file, $1] = $3; slices_before[file, $1] = $5; next }
    NF >= 5 {
      p = file / 2; name[$2]; cpu[p, $2] += $3 - before[file - 1, $1]
      slices[p] += $5 - slices_before[file - 1, $1]
    }
    END {
      for (k in name) {
        line = ""; weight = 0
        for (p = 1; p <= phases; p++) {
          us = unit[p] > 0 ? cpu[p, k] / unit[p] / 1000 : 0
          line = line sprintf(" %.1f |", us); weight += us; total[p] += us
        }
        printf "%012.1f| %s |%s\n", weight, k, line
      }
      line = ""; switches = ""
      for (p = 1; p <= phases; p++) {
        line = line sprintf(" **%.1f** |", total[p])
        switches = switches sprintf(" %.1f |", unit[p] > 0 ? slices[p] / unit[p] : 0)
      }
      printf "000000000.1| **all threads** |%s\n", line
      printf "000000000.0| times a thread was switched onto a CPU, all threads |%s\n", switches
    }' "${files[@]}" | sort -t'|' -k1,1r | cut -d'|' -f2- \
    | awk 'NR <= 8 || /all threads/' | sed 's/^/|/'
}

# Field of a loadgen "RESULT k=v ..." line (empty if absent: a failed load
# generator shows in the table as an error, it does not end the run).
result_field() { grep -o " $2=[^ ]*" <<<"$1" | cut -d= -f2 || true; }
# Number of a flat JSON object from the receiver's /_stats.
json_field() { grep -o "\"$2\":[-0-9.]*" <<<"$1" | cut -d: -f2 || true; }
# Arithmetic on decimals.
calc() { awk "BEGIN { printf \"%.${2:-0}f\", $1 }"; }
# 12345.6 -> 12,346
thousands() { calc "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
ratio_x() {  # a b -> "1.23x"
  if [[ -n "$1" && -n "$2" ]] && awk "BEGIN { exit !($2 > 0) }"; then
    echo "$(calc "$1 / $2" 2)x"
  else
    echo "n/a"
  fi
}
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
loadgen() { loadgen_at "$server_address" "$@"; }
loadgen_at() {  # TARGET ARGS...
  local out target="$1"
  shift
  show "$bin_loadgen" --target "$target" "$@"
  out="$("$bin_loadgen" --target "$target" "$@" 2>&1)" || true
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

# --- the cluster scenario's PostgreSQL and nodes --------------------------------------

pg_bin=/usr/lib/postgresql/15/bin
# PostgreSQL refuses to run as root: as root, its server tools run as `postgres`.
as_pg=()
if [[ "$(id -u)" -eq 0 ]]; then as_pg=(runuser -u postgres --); fi
run_pg() { run "${as_pg[@]}" "$pg_bin/$1" "${@:2}"; }
pg_stop() {
  [[ -n "$pg_data" && -f "$pg_data/postmaster.pid" ]] || return 0
  run_pg pg_ctl -D "$pg_data" -m fast -w -t 60 stop >/dev/null || true
}
# psql as the superuser; SQL on stdin; one row per line, columns '|'-separated.
pg_sql() {  # DBNAME <<<SQL
  PGPASSFILE="$pg_pass" "$pg_bin/psql" -XAtq -v ON_ERROR_STOP=1 \
    "host=127.0.0.1 port=$pg_port user=postgres dbname=$1 connect_timeout=3"
}
pg_query() {  # DBNAME SQL (printed as it runs)
  show env PGPASSFILE="$pg_pass" psql "host=127.0.0.1 port=$pg_port user=postgres dbname=$1" -XAtc "$2"
  pg_sql "$1" <<<"$2"
}

# A PostgreSQL 15 in $work/pg on a free loopback port: one server, no
# standbys; fsync and synchronous_commit on (their defaults, written out),
# everything else at its default; TCP on 127.0.0.1 only, scram-sha-256 with
# the password in a password file ($work/pgpass).
pg_start() {
  local pg_dir="$work/pg" password
  pg_port="$(free_port)"
  pg_data="$pg_dir/data"
  pg_pass="$work/pgpass"
  mkdir -p "$pg_data"
  password="$(openssl rand -hex 16)"
  (umask 077; printf '127.0.0.1:*:*:*:%s\n' "$password" >"$pg_pass"
   printf '%s\n' "$password" >"$pg_dir/pwfile")
  if ((${#as_pg[@]})); then
    # The server runs as postgres: it must reach $work (search permission only).
    run chmod o+x "$work"
    run chown -R postgres:postgres "$pg_dir"
  fi
  chmod 700 "$pg_dir"
  if ! run_pg initdb -D "$pg_data" -U postgres --pwfile="$pg_dir/pwfile" \
    --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C --no-instructions \
    >"$work/pg-initdb.log" 2>&1; then
    cat "$work/pg-initdb.log" >&2
    echo "bench/run.sh: initdb failed" >&2
    exit 1
  fi
  rm -f "$pg_dir/pwfile"
  show tee -a "$pg_data/postgresql.conf"
  printf '%s\n' "# --- bench/run.sh --cluster ---" "listen_addresses = '127.0.0.1'" \
    "port = $pg_port" "unix_socket_directories = ''" "fsync = on" "synchronous_commit = on" \
    | "${as_pg[@]}" tee -a "$pg_data/postgresql.conf" >&2
  if ! run_pg pg_ctl -D "$pg_data" -l "$pg_dir/postgres.log" -w -t 60 start >/dev/null; then
    tail -n 20 "$pg_dir/postgres.log" >&2 || true
    echo "bench/run.sh: PostgreSQL did not start; see $pg_dir/postgres.log" >&2
    exit 1
  fi
}

# Starts cluster node-N over database DB on a free port; appends its pid to
# node_pids and its address to node_addresses.
start_node() {  # N DB
  local n="$1" db="$2" config="$work/node-config-$2.textproto" address start_ns result pid
  if [[ ! -f "$config" ]]; then
    # The conninfo names the password file, never a password.
    printf '%s\n' "storage {" "  postgres {" \
      "    conninfo: \"host=127.0.0.1 port=$pg_port dbname=$db user=postgres passfile=$pg_pass\"" \
      "    partition_handover_drain { seconds: 1 }" "  }" "}" >"$config"
    show cat "$config"
    sed 's/^/   /' "$config" >&2
  fi
  address="127.0.0.1:$(free_port)"
  start_ns="$(date +%s%N)"
  show "$bin_server" --config "$config" --node_id "node-$n" --listen "$address" \
    "${server_common_args[@]}"
  "$bin_server" --config "$config" --node_id "node-$n" --listen "$address" \
    "${server_common_args[@]}" >>"$work/node-$n.log" 2>&1 &
  pid=$!
  node_pids+=("$pid")
  node_addresses+=("$address")
  while :; do
    result="$(loadgen_at "$address" --mode wait-ready --since_unix_ns "$start_ns" --timeout 5s)"
    [[ -n "$(result_field "$result" ready_ms)" ]] && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench/run.sh: node-$n did not start; see $work/node-$n.log" >&2
      tail -n 20 "$work/node-$n.log" >&2
      exit 1
    fi
  done
}
stop_nodes() {
  local pid
  for pid in "${node_pids[@]}"; do
    show kill -TERM "$pid"
    stop_pid "$pid" \
      || shutdown_warning=" A cluster node needed SIGKILL after SIGTERM (see node-N.log)."
  done
  node_pids=() node_addresses=()
}

# Waits (at most 60 s) until the live leases in DB are split as WANT
# (partitions per owner, ordered by owner, e.g. "128 128"); sets lease_split
# to the split it saw last.
wait_partitions() {  # DB WANT
  local db="$1" want="$2" deadline=$((SECONDS + 60)) sql
  sql="SELECT string_agg(n::text, ' ' ORDER BY owner) FROM (SELECT owner, count(*) AS n FROM partitions WHERE expires_at > clock_timestamp() AND owner <> '' GROUP BY owner) o"
  note "waiting until the live partition leases are split as '$want', polling every 0.5 s:"
  show env PGPASSFILE="$pg_pass" psql "host=127.0.0.1 port=$pg_port user=postgres dbname=$db" -XAtc "$sql"
  lease_split=""
  while ((SECONDS < deadline)); do
    lease_split="$(pg_sql "$db" <<<"$sql" 2>/dev/null || true)"
    [[ "$lease_split" == "$want" ]] && return 0
    sleep 0.5
  done
  note "WARNING: partitions per node after 60 s: '$lease_split', not '$want'"
}

# Phase 3 over PostgreSQL, on the nodes in node_addresses: one closed-loop
# publish load generator per node, all at once, the calls in flight and the
# channels split evenly between them; then waits for every delivery. Sets
# cl_calls (calls/s, summed), cl_each ("a + b"), cl_errors, cl_delivered
# (POSTs/s meanwhile), cl_catch_up_s.
cluster_publish() {
  local nodes=${#node_addresses[@]} i pids=() accepted_sum=0 rate errors stop_s out
  local each_concurrency=$(((concurrency + nodes - 1) / nodes))
  local each_channels=$(((channels + nodes - 1) / nodes))
  receiver_reset
  for ((i = 0; i < nodes; i++)); do
    loadgen_at "${node_addresses[$i]}" --mode publish --account bench \
      --channels "$each_channels" --payload_bytes "$payload_bytes" --duration "${duration}s" \
      --concurrency "$each_concurrency" >"$work/cluster-result-$i" &
    pids+=($!)
  done
  loadgen_jobs=("${pids[@]}")
  for i in "${pids[@]}"; do wait "$i" || true; done
  loadgen_jobs=()
  stats="$(receiver_stats)"
  cl_delivered="$(json_field "$stats" posts_per_s)"
  stop_s="$(now_s)"
  cl_calls=0 cl_each="" cl_errors=""
  for ((i = 0; i < nodes; i++)); do
    out="$(cat "$work/cluster-result-$i")"
    rate="$(result_field "$out" calls_per_s)"
    cl_calls="$(calc "$cl_calls + ${rate:-0}" 1)"
    cl_each+="${cl_each:+ + }$(thousands "${rate:-0}")"
    accepted_sum=$((accepted_sum + $(accepted_of "$out")))
    errors="$(errors_note "$out")"
    if [[ -n "$errors" ]]; then cl_errors+=" node-$((i + 1))$errors"; fi
  done
  wait_delivered $((accepted_sum * cluster_webhooks))
  cl_catch_up_s="$(calc "$(now_s) - $stop_s" 1)"
  cl_arrived="all delivered ${cl_catch_up_s}s after publishing stopped"
  if (($(json_field "$stats" posts) < accepted_sum * cluster_webhooks)); then
    cl_arrived="only $(json_field "$stats" posts) of $((accepted_sum * cluster_webhooks)) delivered ${cl_catch_up_s}s after publishing stopped"
  fi
}
errors_note() {
  local errors
  errors="$(result_field "$1" errors)"
  [[ -n "$errors" && "$errors" != "no_result" ]] && echo " (errors: $errors)"
  [[ "$errors" == "no_result" ]] && echo " (loadgen failed)"
  true
}
# A log's lines at WARN or above, counted by event name ("2x WARN name, ..."),
# without ssrf_guard_relaxed (expected: the bench allows loopback targets).
log_problems() {
  local found
  found="$(awk '$2 ~ /^(WARN|ERROR|FATAL)$/ && $3 != "ssrf_guard_relaxed" { print $2 " " $3 }' "$1" \
    | sort | uniq -c | awk '{ printf "%s%sx %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }')"
  echo "${found:-none}"
}
# PostgreSQL's ERROR/FATAL/PANIC lines, counted by message.
pg_log_problems() {
  local found
  found="$(sed -n 's/^.*\] \(ERROR\|FATAL\|PANIC\): *//p' "$1" | sort | uniq -c \
    | awk '{ n = $1; $1 = ""; printf "%s%sx%s", (NR > 1 ? ", " : ""), n, $0 }')"
  echo "${found:-none}"
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
# Webhook secrets sealed at rest, as in production: every attempt opens them.
(umask 077; printf 'bench %s\n' "$(openssl rand -base64 32)" >"$work/secrets.key")
server_common_args=(--admin_token_sha256 "$token_sha256" --secrets_key_file "$work/secrets.key"
  --allow_private_targets 127.0.0.0/8 --extra_ca_file "$ca_file" "${extra_server_args[@]}")
metrics_address="127.0.0.1:$(free_port)"
server_args=(--listen "$server_address" --metrics_listen "$metrics_address"
  "${server_common_args[@]}")
start_server "$work/data"
startup_ms="$ready_ms"

loadgen --mode setup --account bench --webhooks "$webhooks" --url "$receiver_url/hook" >/dev/null
common=(--account bench --channels "$channels" --payload_bytes "$payload_bytes"
  --duration "${duration}s")

# --- 1. trivial RPC ---------------------------------------------------------------
note "1. trivial RPC (baseline 1)"
cpu_snapshot 1 before
trivial="$(loadgen --mode trivial "${common[@]}" --concurrency "$concurrency")"
cpu_snapshot 1 after

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
cpu_snapshot 3 before
publish="$(loadgen --mode publish "${common[@]}" --concurrency "$concurrency")"
stats="$(receiver_stats)"
delivered_during="$(json_field "$stats" posts_per_s)"
publish_stop="$(now_s)"
wait_delivered $(($(accepted_of "$publish") * webhooks))
catch_up_s="$(calc "$(now_s) - $publish_stop" 1)"
cpu_snapshot 3 after

# --- 3b. publish with nothing to deliver ------------------------------------------------
note "3b. PublishEvent at max rate to an account without webhooks: nothing to deliver"
cpu_snapshot 3b before
quiet="$(loadgen --mode publish "${common[@]}" --account bench-quiet --concurrency "$concurrency")"
cpu_snapshot 3b after

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
cpu_snapshot 5 before
phase5_start="$(now_s)"
latency="$(loadgen --mode publish "${common[@]}" --rate "$half_rate" --warmup 0s \
  --concurrency $((concurrency * 16)))"
wait_delivered $(($(accepted_of "$latency") * webhooks))
latency_stats="$stats"
cpu_snapshot 5 after
phase5_seconds="$(calc "$(now_s) - $phase5_start" 3)"

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

if ((cluster)); then
  note "scenario: PostgreSQL 15 (one server, no standbys), phase 3 on 1 node, then on 2 nodes ($cluster_webhooks webhooks)"
  note "the RocksDB server is stopped first: it would compete for the cores"
  stop_server
  pg_start
  pg_query postgres "CREATE DATABASE bench_1node" >/dev/null
  pg_query postgres "CREATE DATABASE bench_2nodes" >/dev/null

  note "cluster (a): 1 node over PostgreSQL"
  start_node 1 bench_1node
  loadgen_at "${node_addresses[0]}" --mode setup --account bench --webhooks "$cluster_webhooks" \
    --url "$receiver_url/hook" >/dev/null
  wait_partitions bench_1node 256
  cluster_publish
  c1_calls="$cl_calls" c1_errors="$cl_errors" c1_delivered="$cl_delivered" c1_arrived="$cl_arrived"
  stop_nodes

  note "cluster (b): 2 nodes over the same PostgreSQL (a fresh database), one load generator each"
  start_node 1 bench_2nodes
  start_node 2 bench_2nodes
  loadgen_at "${node_addresses[0]}" --mode setup --account bench --webhooks "$cluster_webhooks" \
    --url "$receiver_url/hook" >/dev/null
  wait_partitions bench_2nodes "128 128"
  c2_split_before="$lease_split"
  # Every takeover of a partition increments its epoch: equal sums before and
  # after mean that no partition changed hands during the measurement.
  epochs_sql="SELECT sum(epoch) FROM partitions"
  c2_epochs_before="$(pg_query bench_2nodes "$epochs_sql")"
  cluster_publish
  c2_calls="$cl_calls" c2_each="$cl_each" c2_errors="$cl_errors" c2_delivered="$cl_delivered"
  c2_arrived="$cl_arrived"
  # Which node sent what: a delivery belongs to its webhook's partition, sent
  # by the partition's owner.
  c2_work="$(pg_query bench_2nodes "SELECT string_agg(format('%s: %s webhook(s), %s deliveries', owner, webhooks, deliveries), '; ' ORDER BY owner) FROM (SELECT p.owner, count(DISTINCT d.webhook_id) AS webhooks, count(*) AS deliveries FROM deliveries d JOIN partitions p USING (part) GROUP BY p.owner) o")"
  c2_epochs_after="$(pg_query bench_2nodes "$epochs_sql")"
  stop_nodes
  pg_stop
  cluster_log_problems="node-1.log: $(log_problems "$work/node-1.log"); node-2.log: $(log_problems "$work/node-2.log"); pg/postgres.log: $(pg_log_problems "$work/pg/postgres.log")"
  note "cluster logs, lines at WARN or above: $cluster_log_problems"
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
quiet_rate="$(result_field "$quiet" calls_per_s)"
batch_rate="$(result_field "$batch" events_per_s)"
ms3() {
  printf '%.1f / %.1f / %.1f ms' "$(result_field "$1" p50_ms)" "$(result_field "$1" p99_ms)" \
    "$(result_field "$1" p999_ms)"
}
stats_ms3() {
  printf '%.1f / %.1f / %.1f ms' "$(json_field "$1" latency_p50_ms)" \
    "$(json_field "$1" latency_p99_ms)" "$(json_field "$1" latency_p999_ms)"
}
drain_posts="$(json_field "$drain_stats" posts)"
drain_rate="$(json_field "$drain_stats" posts_per_s)"

echo
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)"
[[ "$build_dir" == build-release ]] || build_type="${build_type:-unknown build type} ($build_dir)"
echo "Wink Webhooks benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, ${build_type:-Release}"
echo "command: $invocation"
echo "settings: ${duration}s per phase, $concurrency calls in flight over $channels channels" \
  "(batches: $batch_concurrency x $batch_size events), $webhooks webhook(s) on every event," \
  "${payload_bytes}-byte payloads, storage sync: server default (fsync)"
if ((${#extra_server_args[@]})); then
  echo "extra server flags (--server-arg): ${extra_server_args[*]}"
fi
if ((cluster)); then
  echo "cluster rows 15-18: $cluster_webhooks webhooks; one PostgreSQL 15 server on 127.0.0.1, no" \
    "standbys (a commit waits for its local fsync only, not for a replica)," \
    "synchronous_commit=on, fsync=on, other settings default; partition_handover_drain 1s;" \
    "the RocksDB server stopped meanwhile"
fi
echo
echo "| # | measurement | result | vs baseline |"
echo "|---|---|---|---|"
echo "| 1 | trivial RPC (ListEventTypes), max rate | $(thousands "$trivial_rate") calls/s$(errors_note "$trivial") | baseline 1 |"
echo "| 2 | PublishEvent, max rate, delivering meanwhile | $(thousands "$publish_rate") calls/s$(errors_note "$publish") | $(percent "$publish_rate" "$trivial_rate") of 1 |"
echo "| 2b | PublishEvent, max rate, to an account without webhooks (nothing to deliver) | $(thousands "$quiet_rate") calls/s$(errors_note "$quiet") | $(percent "$quiet_rate" "$trivial_rate") of 1 |"
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
if ((cluster)); then
  unlike=""
  ((cluster_webhooks == webhooks)) || unlike=" (rows 2 and 5 had $webhooks webhook(s): not like for like)"
  stable="leases unchanged during the run"
  [[ "$c2_epochs_before" == "$c2_epochs_after" ]] \
    || stable="partitions changed hands during the run (epoch sum $c2_epochs_before -> $c2_epochs_after)"
  echo "| 15 | PostgreSQL, 1 node: PublishEvent, max rate, delivering meanwhile$unlike | $(thousands "$c1_calls") calls/s$c1_errors | $(percent "$c1_calls" "$trivial_rate") of 1; $(ratio_x "$c1_calls" "$publish_rate") row 2 |"
  echo "| 16 | ... delivered POSTs/s meanwhile | $(thousands "$c1_delivered") POSTs/s ($c1_arrived) | $(percent "$c1_delivered" "$wrk_rate") of 4; $(ratio_x "$c1_delivered" "$delivered_during") row 5 |"
  echo "| 17 | PostgreSQL, 2 nodes ($c2_split_before partitions), one load generator per node, $(((concurrency + 1) / 2)) calls in flight each: PublishEvent, max rate | $(thousands "$c2_calls") calls/s ($c2_each)$c2_errors | $(percent "$c2_calls" "$trivial_rate") of 1; $(ratio_x "$c2_calls" "$publish_rate") row 2; $(ratio_x "$c2_calls" "$c1_calls") row 15 |"
  echo "| 18 | ... delivered POSTs/s meanwhile | $(thousands "$c2_delivered") POSTs/s ($c2_arrived; $c2_work; $stable) | $(percent "$c2_delivered" "$wrk_rate") of 4; $(ratio_x "$c2_delivered" "$delivered_during") row 5; $(ratio_x "$c2_delivered" "$c1_delivered") row 16 |"
fi
echo
# Rows 7-8 seen from inside the server: where a publish and a delivery spent
# their time, from the server's own histograms over phase 5 only.
m0="$work/cpu-5-before.metrics" m1="$work/cpu-5-after.metrics"
q50_99() {
  echo "$(histogram_quantile_ms "$1" "$m0" "$m1" 0.5) / $(histogram_quantile_ms "$1" "$m0" "$m1" 0.99) ms"
}
echo "Inside the server during rows 7-8 (its /metrics histograms, phase 5 only; p50 / p99"
echo "interpolated within coarse buckets):"
echo
echo "| what | p50 / p99 | |"
echo "|---|---|---|"
echo "| publish: call arrived to durable acknowledgement | $(q50_99 wink_webhooks_publish_latency_seconds) | the rest of row 7 is gRPC, the network stack and scheduling |"
echo "| storage writer queue: a write's wait before the writer starts it | $(q50_99 wink_webhooks_storage_write_wait_seconds) | publishes and attempt results alike |"
echo "| storage writer, per group: running the operations / telling the callers | $(histogram_quantile_ms wink_webhooks_storage_group_run_seconds "$m0" "$m1" 0.5) / $(histogram_quantile_ms wink_webhooks_storage_group_run_seconds "$m0" "$m1" 0.99) ms; $(histogram_quantile_ms wink_webhooks_storage_group_finish_seconds "$m0" "$m1" 0.5) / $(histogram_quantile_ms wink_webhooks_storage_group_finish_seconds "$m0" "$m1" 0.99) ms | before and after the commit |"
echo "| storage commit: one group's WAL write + fsync | $(q50_99 wink_webhooks_storage_commit_duration_seconds) | $(histogram_above wink_webhooks_storage_commit_duration_seconds "$m0" "$m1" 0.025) commits took over 25 ms; $(histogram_mean wink_webhooks_storage_commit_operations "$m0" "$m1") operations per commit on average |"
echo "| delivery waiting to be sent: due (the publish) to request sent | $(q50_99 wink_webhooks_delivery_send_delay_seconds) | the publish's commit, then a free slot of its webhook (max_in_flight_per_webhook) or the scheduler |"
echo "| delivery attempt: the HTTPS exchange | $(q50_99 wink_webhooks_delivery_attempt_duration_seconds) | |"
echo "| publish to delivered, as the server sees it | $(q50_99 wink_webhooks_publish_to_delivery_latency_seconds) | row 8 adds the receiver's side |"
echo
accepted_counter='wink_webhooks_events_published_total{outcome="accepted"}'
echo "The server's CPU per unit of work, by thread name (/proc schedstat; threads of a name"
echo "summed; the busiest 8 and all threads), in µs: per trivial call in row 1; per event"
echo "published and delivered in row 2 (from the start of its calls until the last delivery"
echo "arrived); per event published in row 2b; per event published and delivered at half the"
echo "rate, in rows 7-8:"
echo
echo "| thread | row 1: per call | row 2: per event | row 2b: per event | rows 7-8: per event |"
echo "|---|---|---|---|---|"
cpu_rows "$work/cpu-1-before.threads" "$work/cpu-1-after.threads" \
  "$(units_of 1 wink_webhooks_rpcs_total)" \
  "$work/cpu-3-before.threads" "$work/cpu-3-after.threads" "$(units_of 3 "$accepted_counter")" \
  "$work/cpu-3b-before.threads" "$work/cpu-3b-after.threads" "$(units_of 3b "$accepted_counter")" \
  "$work/cpu-5-before.threads" "$work/cpu-5-after.threads" "$(units_of 5 "$accepted_counter")"
echo
echo "The server's threads during the phase of rows 7-8 (${phase5_seconds}s; /proc schedstat, by thread"
echo "name, the busiest 8): the share of one core each ran, and the share of the phase it was"
echo "ready to run but waiting for a CPU (the machine's other processes, the load generator and"
echo "the receiver, compete for the same cores):"
echo
echo "| thread | count | ran | waited for a CPU |"
echo "|---|---|---|---|"
thread_rows "$work/cpu-5-before.threads" "$work/cpu-5-after.threads" "$phase5_seconds"
echo
if ((cluster)); then
  echo "Cluster logs, lines at WARN or above (ssrf_guard_relaxed not counted): $cluster_log_problems."
  echo
fi
if ((keep)); then
  echo "Logs and the full command list: $work.$shutdown_warning"
else
  echo "Logs and the full command list were in $work (removed; --keep keeps them).$shutdown_warning"
fi
