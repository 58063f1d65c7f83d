#!/usr/bin/env bash
# A cluster to try by hand, on this machine: 2 service nodes over a PostgreSQL
# 15 primary with 2 synchronous quorum standbys, all on 127.0.0.1, all data
# under ./var/cluster. See docs/CLUSTER.md ("Trying a cluster by hand").
#
#   scripts/cluster.sh up [server flags...]   install, build, start what is not running
#   scripts/cluster.sh status                 PostgreSQL roles and replication, nodes, leases
#   scripts/cluster.sh kill-node N            kill -9 service node N (1 or 2)
#   scripts/cluster.sh start-node N           start it again
#   scripts/cluster.sh failover               kill -9 the primary, promote a standby
#   scripts/cluster.sh rejoin                 make the failed old primary a standby again
#   scripts/cluster.sh down [--purge]         stop everything (--purge: delete var/cluster)
#
# Server flags after `up` go to both nodes and are kept for later `up` and
# `start-node` (e.g. --allow_private_targets 127.0.0.0/8 --extra_ca_file
# var/receiver/ca.pem, for scripts/receiver.sh). `up` with no flags reuses them.
#
# Ports (comma-separated; PostgreSQL's are fixed when var/cluster is made,
# until `down --purge`; the nodes' may change at any `up` or `start-node`):
#   WEBHOOKS_CLUSTER_PG_PORTS       PostgreSQL pg1,pg2,pg3   (default 15431,15432,15433)
#   WEBHOOKS_CLUSTER_GRPC_PORTS     node-1,node-2 gRPC       (default 15061,15062)
#   WEBHOOKS_CLUSTER_METRICS_PORTS  node-1,node-2 metrics    (default 9471,9472)
# The defaults are below Linux's ephemeral range (32768-60999): a port in it
# can be held for a minute by some other program's outgoing connection (in
# TIME-WAIT), and a server's bind then fails although nothing listens.
# WEBHOOKS_BUILD_DIR picks another build directory than build-release;
# WEBHOOKS_SKIP_BUILD=1 uses its binaries as they are (when another build runs
# there). The admin token is the one run.sh uses: $WEBHOOKS_DEV_TOKEN, else
# ./var/dev-token (made once, mode 600); only its SHA-256 reaches the nodes.
# So is the master key that encrypts webhook secrets (./var/dev-secrets.key):
# every node must have the same one.
#
# PostgreSQL refuses to run as root: as root, initdb, pg_ctl and pg_basebackup
# run as the user `postgres`, in var/cluster/postgres, which it owns.
# Connections take a password (scram-sha-256), kept in
# var/cluster/postgres/pgpass (mode 600), so other local users cannot get in.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bin=/usr/lib/postgresql/15/bin
cluster_dir=var/cluster
pg_dir="$PWD/$cluster_dir/postgres"   # absolute: pg_ctl and the standbys use it
pgpass="$pg_dir/pgpass"
settings_file="$cluster_dir/settings"
node_args_file="$cluster_dir/node-args"
pg_names=(pg1 pg2 pg3)
node_count=2

usage() {
  cat <<'USAGE'
Usage: scripts/cluster.sh COMMAND

A local Wink Webhooks cluster for trying cluster mode by hand: 2 service nodes
(node-1, node-2) over a PostgreSQL 15 primary and 2 synchronous quorum standbys,
all on 127.0.0.1, data under ./var/cluster.

Commands:
  up [server flags...]  install missing packages, build, start whatever is not
                        running, wait until the nodes are ready, print how to
                        connect. Flags go to both nodes and are kept (e.g.
                        --allow_private_targets 127.0.0.0/8
                        --extra_ca_file var/receiver/ca.pem)
  status                each PostgreSQL (primary/standby, replication) and each
                        node (pid, last partition_leases log line)
  kill-node N           kill -9 node N (1 or 2), to see the other take over
  start-node N          start node N again
  failover              kill -9 the primary PostgreSQL, promote the standby that
                        received the most WAL, repoint the other standby at it
  rejoin                make the old primary a standby of the new one again
                        (fresh pg_basebackup), so that failover can run again
  down [--purge]        stop nodes (SIGTERM, SIGKILL after 15 s) and PostgreSQL;
                        --purge also deletes ./var/cluster (same as `purge`)

Environment: WEBHOOKS_CLUSTER_PG_PORTS (15431,15432,15433),
WEBHOOKS_CLUSTER_GRPC_PORTS (15061,15062), WEBHOOKS_CLUSTER_METRICS_PORTS
(9471,9472), WEBHOOKS_BUILD_DIR (build-release), WEBHOOKS_SKIP_BUILD=1,
WEBHOOKS_DEV_TOKEN. See docs/CLUSTER.md.
USAGE
}

die() { echo "cluster.sh: $*" >&2; exit 1; }
# A process that runs: not gone, and not a zombie. (A process whose parent
# exited, like every server this script starts, can stay a zombie for a while
# on machines whose pid 1 reaps slowly, and `kill -0` succeeds on zombies.)
pid_alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z* ]]
}
say() { echo ">> $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- settings

# PostgreSQL's ports are written into its config, so they are fixed when
# var/cluster is made: an environment variable that asks for others later is
# an error rather than silently ignored. The nodes' ports may change at any
# `up` or `start-node`; each command uses the last ones saved.
load_settings() {
  local saved_pg="" saved_grpc="" saved_metrics="" saved_build="" key value
  if [[ -f "$settings_file" ]]; then
    while IFS='=' read -r key value; do
      case "$key" in
        pg_ports) saved_pg="$value" ;;
        grpc_ports) saved_grpc="$value" ;;
        metrics_ports) saved_metrics="$value" ;;
        build_dir) saved_build="$value" ;;
      esac
    done <"$settings_file"
  fi
  pick_setting() {  # NAME ENV_VALUE SAVED_VALUE DEFAULT
    if [[ -n "$3" && "$1" != WEBHOOKS_CLUSTER_PG_PORTS ]]; then
      echo "${2:-$3}"
    elif [[ -n "$3" ]]; then
      if [[ -n "$2" && "$2" != "$3" ]]; then
        die "$1=$2, but $cluster_dir was made with $3; use those, or" \
            "'scripts/cluster.sh down --purge' to start over with other ports"
      fi
      echo "$3"
    else
      echo "${2:-$4}"
    fi
  }
  pg_ports_setting="$(pick_setting WEBHOOKS_CLUSTER_PG_PORTS \
    "${WEBHOOKS_CLUSTER_PG_PORTS:-}" "$saved_pg" 15431,15432,15433)"
  grpc_ports_setting="$(pick_setting WEBHOOKS_CLUSTER_GRPC_PORTS \
    "${WEBHOOKS_CLUSTER_GRPC_PORTS:-}" "$saved_grpc" 15061,15062)"
  metrics_ports_setting="$(pick_setting WEBHOOKS_CLUSTER_METRICS_PORTS \
    "${WEBHOOKS_CLUSTER_METRICS_PORTS:-}" "$saved_metrics" 9471,9472)"
  # The build directory may change freely (it only names the binaries);
  # later commands (start-node) use the one `up` used.
  build_dir="${WEBHOOKS_BUILD_DIR:-${saved_build:-build-release}}"
  IFS=, read -r -a pg_ports <<<"$pg_ports_setting"
  IFS=, read -r -a grpc_ports <<<"$grpc_ports_setting"
  IFS=, read -r -a metrics_ports <<<"$metrics_ports_setting"
  check_ports_list WEBHOOKS_CLUSTER_PG_PORTS 3 "${pg_ports[@]}"
  check_ports_list WEBHOOKS_CLUSTER_GRPC_PORTS "$node_count" "${grpc_ports[@]}"
  check_ports_list WEBHOOKS_CLUSTER_METRICS_PORTS "$node_count" "${metrics_ports[@]}"
  server="$build_dir/service/wink-webhooks-server"
}

check_ports_list() {
  local name="$1" want="$2"; shift 2
  [[ $# -eq "$want" ]] || die "$name: expected $want comma-separated ports, got '$*'"
  local port
  for port in "$@"; do
    [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]] \
      || die "$name: '$port' is not a port number"
  done
}

save_settings() {
  mkdir -p "$cluster_dir"
  cat >"$settings_file" <<EOF
pg_ports=$pg_ports_setting
grpc_ports=$grpc_ports_setting
metrics_ports=$metrics_ports_setting
build_dir=$build_dir
EOF
}

# The admin token, as run.sh makes it (and the same file, so both print the
# same one).
# shellcheck source=scripts/dev_token.sh
source scripts/dev_token.sh

# Whether something listens on 127.0.0.1:PORT (then our bind would fail).
port_in_use() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

require_free_port() {  # PORT WHAT ENV_NAME
  if port_in_use "$1"; then
    local hint
    hint="Choose others with $3=..., e.g. $3=$(suggest_ports "$3")"
    if [[ -f "$settings_file" && "$3" == WEBHOOKS_CLUSTER_PG_PORTS ]]; then
      hint+=", after 'scripts/cluster.sh down --purge' (PostgreSQL's ports are fixed when $cluster_dir is made)"
    fi
    die "port $1 ($2) is taken by another process (see: ss -ltnp 'sport = :$1'). $hint"
  fi
}
suggest_ports() {
  case "$1" in
    WEBHOOKS_CLUSTER_PG_PORTS) echo "15441,15442,15443" ;;
    WEBHOOKS_CLUSTER_GRPC_PORTS) echo "15071,15072" ;;
    *) echo "9481,9482" ;;
  esac
}

# ---------------------------------------------------------------- PostgreSQL

# PostgreSQL refuses to run as root, so as root its tools run as `postgres`.
if [[ "$(id -u)" -eq 0 ]]; then
  as_pg=(runuser -u postgres --)
else
  as_pg=()
fi
pg() { "${as_pg[@]}" "$pg_bin/$1" "${@:2}"; }

pg_index() {  # pg1 -> 0
  local i
  for i in "${!pg_names[@]}"; do [[ "${pg_names[$i]}" == "$1" ]] && { echo "$i"; return; }; done
  die "no PostgreSQL named '$1'"
}
pg_port() { echo "${pg_ports[$(pg_index "$1")]}"; }
pg_data() { echo "$pg_dir/$1"; }
pg_log() { echo "$pg_dir/$1.log"; }
pg_failed_marker() { echo "$cluster_dir/$1.failed"; }
pg_exists() { [[ -f "$(pg_data "$1")/PG_VERSION" ]]; }
pg_failed() { [[ -f "$(pg_failed_marker "$1")" ]]; }
# A standby until promoted: PostgreSQL removes standby.signal on promotion.
pg_is_standby_dir() { [[ -f "$(pg_data "$1")/standby.signal" ]]; }
pg_postmaster_pid() { head -n 1 "$(pg_data "$1")/postmaster.pid" 2>/dev/null || true; }
# Our postmaster runs (not just anything on its port). Not `pg_ctl status`:
# a postmaster killed by `failover` may stay a zombie for a while (its parent,
# pg_ctl, is gone), and pg_ctl counts that as running.
pg_running() {
  local pid state
  pid="$(pg_postmaster_pid "$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state="$(ps -o stat=,comm= -p "$pid" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z* && "$state" == *postgres* ]]
}

# psql as the superuser; one row per line, columns separated by '|'.
# SQL comes on stdin, so that a password in it never shows in `ps`.
pg_sql() {  # NAME [DBNAME] <<<SQL
  PGPASSFILE="$pgpass" "$pg_bin/psql" -XAtq -v ON_ERROR_STOP=1 \
    "host=127.0.0.1 port=$(pg_port "$1") user=postgres dbname=${2:-postgres} connect_timeout=3"
}
pg_query() { pg_sql "$1" <<<"$2"; }

# The one data directory that is neither a standby nor the failed old primary.
current_primary() {
  local name found=""
  for name in "${pg_names[@]}"; do
    if pg_exists "$name" && ! pg_failed "$name" && ! pg_is_standby_dir "$name"; then
      [[ -z "$found" ]] || die "both $found and $name look like primaries; 'scripts/cluster.sh down --purge' and up again"
      found="$name"
    fi
  done
  echo "$found"
}

pg_start() {
  local name="$1"
  if pg_running "$name"; then return 0; fi
  require_free_port "$(pg_port "$name")" "PostgreSQL $name" WEBHOOKS_CLUSTER_PG_PORTS
  if ! pg pg_ctl -D "$(pg_data "$name")" -l "$(pg_log "$name")" -w -t 60 start >/dev/null; then
    tail -n 20 "$(pg_log "$name")" >&2 || true
    die "PostgreSQL $name did not start (log: $(pg_log "$name"))"
  fi
}

# The settings every server shares. The quorum names all three servers, so the
# same line stays right whichever is primary after a failover: the primary
# waits for any 1 of the others.
pg_conf_lines() {  # PORT
  cat <<EOF

# --- scripts/cluster.sh ---
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = ''     # TCP on loopback only
wal_level = replica
max_wal_senders = 10
wal_keep_size = '512MB'          # a restarted standby catches up without a slot
hot_standby = on
synchronous_standby_names = 'ANY 1 (pg1, pg2, pg3)'
synchronous_commit = on
shared_buffers = '64MB'
EOF
}

# A standby of PRIMARY, copied with pg_basebackup. -R writes standby.signal and
# a primary_conninfo with our application_name (the quorum matches on it).
pg_make_standby() {  # NAME PRIMARY
  local name="$1" primary="$2"
  pg pg_basebackup -D "$(pg_data "$name")" -R -X stream -c fast \
    -d "host=127.0.0.1 port=$(pg_port "$primary") user=postgres application_name=$name passfile=$pgpass" \
    >/dev/null
  # The copied postgresql.conf names the primary's port; the last line wins.
  echo "port = $(pg_port "$name")" | "${as_pg[@]}" tee -a "$(pg_data "$name")/postgresql.conf" >/dev/null
}

# Waits until the standbys are streaming from PRIMARY, in the quorum.
pg_wait_replication() {  # PRIMARY COUNT
  local primary="$1" want="$2" i got
  for ((i = 0; i < 60; i++)); do
    got="$(pg_query "$primary" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state IN ('quorum', 'sync')" 2>/dev/null || echo 0)"
    [[ "$got" -ge "$want" ]] && return 0
    sleep 0.5
  done
  return 1
}

pg_create() {
  local primary=pg1 name password
  say "creating PostgreSQL pg1 (primary), pg2 and pg3 (standbys) in $pg_dir"
  mkdir -p "$pg_dir"
  chmod 700 "$pg_dir"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown postgres:postgres "$pg_dir"
    # The servers run as postgres and must reach their directory (search
    # permission only; var/cluster's node logs stay unlisted).
    chmod o+x "$cluster_dir"
    runuser -u postgres -- test -x "$pg_dir" \
      || die "user postgres cannot reach $pg_dir (a parent directory is private to $(id -un));" \
             "give the parents o+x or clone the repository elsewhere"
  fi
  # One password for the superuser `postgres` and the service's role
  # `webhooks`; libpq reads it from the password file (never argv).
  password="$(openssl rand -hex 16)"
  (umask 077; printf '127.0.0.1:*:*:*:%s\n' "$password" >"$pgpass"
   printf '%s\n' "$password" >"$pg_dir/pwfile")
  if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$pgpass" "$pg_dir/pwfile"; fi

  mkdir -p "$(pg_data "$primary")"
  if [[ "$(id -u)" -eq 0 ]]; then chown postgres:postgres "$(pg_data "$primary")"; fi
  if ! pg initdb -D "$(pg_data "$primary")" -U postgres --pwfile="$pg_dir/pwfile" \
         --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C \
         --no-instructions >"$pg_dir/initdb.log" 2>&1; then
    cat "$pg_dir/initdb.log" >&2
    die "initdb failed"
  fi
  rm -f "$pg_dir/pwfile"
  pg_conf_lines "$(pg_port "$primary")" \
    | "${as_pg[@]}" tee -a "$(pg_data "$primary")/postgresql.conf" >/dev/null
  # Loopback only, passwords always; replication (the standbys' walreceivers
  # and pg_basebackup) as the superuser.
  "${as_pg[@]}" tee "$(pg_data "$primary")/pg_hba.conf" >/dev/null <<'EOF'
# scripts/cluster.sh: loopback only, scram-sha-256 passwords (var/cluster/postgres/pgpass)
# TYPE  DATABASE     USER      ADDRESS        METHOD
local   all          all                      peer
host    all          all       127.0.0.1/32   scram-sha-256
host    replication  postgres  127.0.0.1/32   scram-sha-256
EOF
  pg_start "$primary"
  # Until a standby streams, a commit on the primary waits for it (the
  # quorum), so the role and database are made with synchronous_commit off.
  pg_sql "$primary" >/dev/null <<SQL
SET synchronous_commit = off;
CREATE ROLE webhooks LOGIN PASSWORD '$password';
CREATE DATABASE webhooks OWNER webhooks;
SQL
  for name in pg2 pg3; do
    pg_make_standby "$name" "$primary"
    pg_start "$name"
  done
  pg_wait_replication "$primary" 2 \
    || say "warning: the standbys are not both streaming yet ('scripts/cluster.sh status')"
}

# ------------------------------------------------------------------- nodes

node_pidfile() { echo "$cluster_dir/node-$1.pid"; }
node_logfile() { echo "$cluster_dir/node-$1.log"; }
node_pid() { cat "$(node_pidfile "$1")" 2>/dev/null || true; }
# Our server runs under the pid we wrote (not a recycled pid).
node_running() {
  local pid
  pid="$(node_pid "$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "wink-webhooks-server.* --node_id node-$1 "
}

check_node_number() {
  [[ "${1:-}" =~ ^[0-9]+$ && "$1" -ge 1 && "$1" -le "$node_count" ]] \
    || die "expected a node number, 1 to $node_count (got '${1:-}')"
}

node_conninfo() {
  # Every server, in order: libpq tries each and keeps the one that accepts
  # writes, so a node finds a promoted standby by itself.
  local hosts ports
  hosts="$(printf '127.0.0.1,%.0s' "${pg_ports[@]}")"
  ports="$(IFS=,; echo "${pg_ports[*]}")"
  echo "host=${hosts%,} port=$ports dbname=webhooks user=webhooks passfile=$pgpass target_session_attrs=read-write connect_timeout=2"
}

load_node_args() {
  node_args=()
  if [[ -f "$node_args_file" ]]; then mapfile -d '' -t node_args <"$node_args_file"; fi
}

node_server_args() {  # N
  local i=$(($1 - 1))
  # The caller's flags go last, so they win (as in run.sh).
  printf '%s\0' --admin_token_sha256 "$token_sha256" --postgres "$(node_conninfo)" \
    --secrets_key_file "$secrets_key_file" --node_id "node-$1" --listen "127.0.0.1:${grpc_ports[$i]}" \
    --metrics_listen "127.0.0.1:${metrics_ports[$i]}" "${node_args[@]}"
}

# Starts node N in the background (its own session, so a Ctrl-C in this
# terminal leaves it alone); echoes the log offset its lines start at.
node_launch() {
  local n="$1" i=$(($1 - 1)) log args offset
  log="$(node_logfile "$n")"
  mapfile -d '' -t args < <(node_server_args "$n")
  [[ -x "$server" ]] || die "$server is missing (build it, or set WEBHOOKS_BUILD_DIR)"
  require_free_port "${grpc_ports[$i]}" "node-$n gRPC" WEBHOOKS_CLUSTER_GRPC_PORTS
  require_free_port "${metrics_ports[$i]}" "node-$n metrics" WEBHOOKS_CLUSTER_METRICS_PORTS
  echo "---- $(date -u +%Y-%m-%dT%H:%M:%SZ) scripts/cluster.sh starts node-$n" >>"$log"
  offset="$(stat -c %s "$log")"
  # Not a job-control shell: the background child is no group leader, so
  # setsid runs the server in the same process, and $! is the server's pid.
  setsid "$server" "${args[@]}" >>"$log" 2>&1 </dev/null &
  echo $! >"$(node_pidfile "$n")"
  echo "$offset"
}

# Waits for node N's "ready" line after OFFSET; prints its listen address.
node_wait_ready() {  # N OFFSET
  local n="$1" offset="$2" log line i pid
  log="$(node_logfile "$n")"
  pid="$(node_pid "$n")"
  for ((i = 0; i < 120; i++)); do
    line="$(tail -c +"$((offset + 1))" "$log" | grep -m 1 -E ' INFO ready |"event":"ready"' || true)"
    if [[ -n "$line" ]]; then
      sed -n -E 's/.*[ "]listen[=":]+([^ ",]+).*/\1/p' <<<"$line"
      return 0
    fi
    if ! pid_alive "$pid"; then
      tail -c +"$((offset + 1))" "$log" | tail -n 20 >&2
      if tail -c +"$((offset + 1))" "$log" | grep -q 'cannot listen'; then
        die "node-$n could not bind its port although nothing listens there (an outgoing" \
            "connection may hold it for a minute: 'ss -tan | grep :PORT'); try again, or" \
            "pick others (WEBHOOKS_CLUSTER_GRPC_PORTS, WEBHOOKS_CLUSTER_METRICS_PORTS)"
      fi
      die "node-$n exited before it was ready (log: $log)"
    fi
    sleep 0.5
  done
  die "node-$n is not ready after 60 s (log: $log)"
}

node_start() {  # N: starts it and waits until it is ready
  local n="$1" offset address
  if node_running "$n"; then
    say "node-$n is already running (pid $(node_pid "$n"))"
    return 0
  fi
  offset="$(node_launch "$n")"
  address="$(node_wait_ready "$n" "$offset")"
  say "node-$n ready on $address (pid $(node_pid "$n"), log $(node_logfile "$n"))"
}

# SIGTERM to every running node, then wait up to 15 s for all, then SIGKILL.
nodes_stop() {
  local n pids=() pid i
  for ((n = 1; n <= node_count; n++)); do
    if node_running "$n"; then
      pid="$(node_pid "$n")"
      say "stopping node-$n (pid $pid)"
      kill -TERM "$pid"
      pids+=("$pid")
    fi
    rm -f "$(node_pidfile "$n")"
  done
  for ((i = 0; i < 30; i++)); do
    local alive=()
    for pid in "${pids[@]}"; do
      if pid_alive "$pid"; then alive+=("$pid"); fi
    done
    pids=("${alive[@]}")
    [[ ${#pids[@]} -eq 0 ]] && return 0
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    say "pid $pid still runs after 15 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- commands

cmd_up() {
  # shellcheck source=scripts/deps.sh
  source scripts/deps.sh
  webhooks_install_deps
  load_settings
  if [[ "${WEBHOOKS_SKIP_BUILD:-}" == 1 ]]; then
    say "WEBHOOKS_SKIP_BUILD=1: using the binaries in $build_dir as they are"
  else
    scripts/build.sh "$build_dir" Release wink-webhooks-server webhookctl
  fi
  load_dev_token
  load_dev_secrets_key
  mkdir -p "$cluster_dir"
  # Flags given now replace the kept ones; none given reuses them.
  if [[ $# -gt 0 ]]; then printf '%s\0' "$@" >"$node_args_file"; fi
  load_node_args
  # A bad flag stops here, with the server's message, before anything starts.
  local check_args
  mapfile -d '' -t check_args < <(node_server_args 1)
  source scripts/extra_ca.sh
  wait_for_extra_ca_files "$build_dir" "${check_args[@]}"
  "$server" "${check_args[@]}" --check_config >/dev/null || exit $?

  local name n
  if ! pg_exists pg1 && ! pg_exists pg2 && ! pg_exists pg3; then
    # Every port before anything starts, so a taken one leaves nothing half made.
    for name in "${pg_names[@]}"; do
      require_free_port "$(pg_port "$name")" "PostgreSQL $name" WEBHOOKS_CLUSTER_PG_PORTS
    done
    for ((n = 1; n <= node_count; n++)); do
      require_free_port "${grpc_ports[$((n - 1))]}" "node-$n gRPC" WEBHOOKS_CLUSTER_GRPC_PORTS
      require_free_port "${metrics_ports[$((n - 1))]}" "node-$n metrics" WEBHOOKS_CLUSTER_METRICS_PORTS
    done
    rm -f "$cluster_dir"/pg*.failed
    save_settings
    pg_create
  else
    save_settings
    local primary already=1
    primary="$(current_primary)"
    [[ -n "$primary" ]] || die "no primary PostgreSQL in $pg_dir; 'scripts/cluster.sh down --purge' and up again"
    # The primary first: the standbys connect to it.
    for name in "$primary" "${pg_names[@]}"; do
      if pg_failed "$name"; then continue; fi
      if ! pg_exists "$name"; then
        say "warning: $name has no data directory ('scripts/cluster.sh down --purge' and up again)"
        continue
      fi
      if ! pg_running "$name"; then already=0; say "starting PostgreSQL $name"; pg_start "$name"; fi
    done
    for name in "${pg_names[@]}"; do
      if pg_failed "$name"; then
        say "$name stays down: it was the primary before a failover ('scripts/cluster.sh rejoin' makes it a standby)"
      fi
    done
    for ((n = 1; n <= node_count; n++)); do
      if ! node_running "$n"; then already=0; fi
    done
    if [[ "$already" -eq 1 ]]; then say "the cluster is already up"; fi
  fi

  # Both nodes start at once and are waited for together (each takes a few
  # seconds to connect and take its partitions).
  local offsets=() addresses=()
  for ((n = 1; n <= node_count; n++)); do
    if node_running "$n"; then
      offsets[n]=""
    else
      offsets[n]="$(node_launch "$n")"
    fi
  done
  for ((n = 1; n <= node_count; n++)); do
    if [[ -n "${offsets[n]}" ]]; then
      addresses[n]="$(node_wait_ready "$n" "${offsets[n]}")"
    else
      addresses[n]="127.0.0.1:${grpc_ports[$((n - 1))]}"
    fi
  done
  banner "${addresses[@]}"
}

banner() {
  local a1="$1" a2="$2" primary standbys="" name
  primary="$(current_primary)"
  local path_dir="\$PWD/$build_dir"
  if [[ "$build_dir" == /* ]]; then path_dir="$build_dir"; fi
  for name in "${pg_names[@]}"; do
    [[ "$name" == "$primary" ]] && continue
    if pg_failed "$name"; then standbys+=" $name :$(pg_port "$name") (down, failed)"
    else standbys+=" $name :$(pg_port "$name")"; fi
  done
  cat <<MSG
------------------------------------------------------------------------------
Wink Webhooks cluster: 2 nodes over PostgreSQL 15 with synchronous quorum replication
node-1:       $a1   metrics http://127.0.0.1:${metrics_ports[0]}/metrics   log $cluster_dir/node-1.log
node-2:       $a2   metrics http://127.0.0.1:${metrics_ports[1]}/metrics   log $cluster_dir/node-2.log
PostgreSQL:   primary $primary 127.0.0.1:$(pg_port "$primary"), standbys$standbys
              data and logs in $cluster_dir/postgres; psql as the service's role:
              PGPASSFILE=$pgpass psql "host=127.0.0.1 port=$(pg_port "$primary") user=webhooks dbname=webhooks"
Node flags:   ${node_args[*]:-(none)}
Admin token:  $token
CLI:          export WEBHOOKS_ADDR=$a1 WEBHOOKS_TOKEN=$token
              export PATH=$path_dir/client/webhookctl:\$PATH
              webhookctl event-types list --account acme         (node-1)
              webhookctl --addr $a2 events list --account acme   (node-2)
Commands:     scripts/cluster.sh status | kill-node N | start-node N | failover
                                 | rejoin | down [--purge]     (docs/CLUSTER.md)
------------------------------------------------------------------------------
MSG
}

cmd_status() {
  load_settings
  if ! pg_exists pg1 && ! pg_exists pg2 && ! pg_exists pg3 && [[ ! -f "$(node_pidfile 1)" ]]; then
    echo "No cluster in $cluster_dir ('scripts/cluster.sh up' makes one)."
    return 0
  fi
  local name port rows recovery
  echo "PostgreSQL ($pg_dir):"
  for name in "${pg_names[@]}"; do
    port="$(pg_port "$name")"
    printf '  %-4s 127.0.0.1:%-6s ' "$name" "$port"
    if ! pg_exists "$name"; then echo "no data directory"; continue; fi
    if ! pg_running "$name"; then
      if pg_failed "$name"; then
        echo "down: the primary before a failover ('scripts/cluster.sh rejoin' makes it a standby)"
      else
        echo "down"
      fi
      continue
    fi
    if ! "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2; then
      echo "running, not accepting connections (pid $(pg_postmaster_pid "$name"))"
      continue
    fi
    recovery="$(pg_query "$name" "SELECT pg_is_in_recovery()" 2>/dev/null || echo "?")"
    case "$recovery" in
      f)
        echo "running, PRIMARY (pid $(pg_postmaster_pid "$name")), current WAL $(pg_query "$name" "SELECT pg_current_wal_lsn()")"
        rows="$(pg_query "$name" "SELECT application_name, state, sync_state, replay_lsn FROM pg_stat_replication ORDER BY application_name")"
        if [[ -z "$rows" ]]; then
          echo "       pg_stat_replication: no standby connected (commits wait for one)"
        else
          echo "       pg_stat_replication (application_name|state|sync_state|replay_lsn):"
          sed 's/^/         /' <<<"$rows"
        fi
        ;;
      t)
        rows="$(pg_query "$name" "SELECT coalesce(r.status, 'no walreceiver') || ' from port ' || coalesce(r.sender_port::text, '?') || ', received ' || coalesce(pg_last_wal_receive_lsn()::text, '-') || ', replayed ' || coalesce(pg_last_wal_replay_lsn()::text, '-') FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver r ON true")"
        echo "running, standby (pid $(pg_postmaster_pid "$name")): $rows"
        ;;
      *) echo "running, role unknown (psql failed)" ;;
    esac
  done

  echo "Nodes:"
  local n log pid leases last metrics_lines
  for ((n = 1; n <= node_count; n++)); do
    log="$(node_logfile "$n")"
    printf '  node-%s 127.0.0.1:%-6s ' "$n" "${grpc_ports[$((n - 1))]}"
    if node_running "$n"; then
      pid="$(node_pid "$n")"
      echo "running (pid $pid), metrics http://127.0.0.1:${metrics_ports[$((n - 1))]}/metrics"
      # Lease metrics, once the server exports any.
      metrics_lines="$(curl -fsS -m 2 "http://127.0.0.1:${metrics_ports[$((n - 1))]}/metrics" 2>/dev/null \
        | grep -E '^[a-z_]*(lease|partition)[a-z_]*[{ ]' || true)"
      if [[ -n "$metrics_lines" ]]; then sed 's/^/       /' <<<"$metrics_lines"; fi
    elif [[ -n "$(node_pid "$n")" ]]; then
      echo "NOT running (pid $(node_pid "$n") is gone: killed or crashed; 'scripts/cluster.sh start-node $n')"
    else
      echo "not running ('scripts/cluster.sh start-node $n')"
    fi
    if [[ -f "$log" ]]; then
      # The last change of its leases, and a failed renewal if one came
      # after it. Renewals log nothing, so a later good one stays silent
      # (leases that lapsed log a new partition_leases line).
      leases="$(grep -E ' partition_leases |"event":"partition_leases"' "$log" | tail -n 1 || true)"
      echo "       leases: ${leases:-(no partition_leases line yet)}"
      last="$(grep -E 'partition_leases' "$log" | tail -n 1 || true)"
      if [[ -n "$last" && "$last" != "$leases" ]]; then
        echo "       since then (a later renewal that worked logs nothing): $last"
      fi
    fi
  done
}

cmd_kill_node() {
  check_node_number "${1:-}"
  load_settings
  if ! node_running "$1"; then
    say "node-$1 is not running"
    return 0
  fi
  local pid
  pid="$(node_pid "$1")"
  kill -KILL "$pid"
  say "killed node-$1 (pid $pid) with SIGKILL. Its leases lapse within 10 s, then the" \
      "other node takes its partitions ('scripts/cluster.sh status' shows the lease lines);" \
      "'scripts/cluster.sh start-node $1' starts it again"
}

cmd_start_node() {
  check_node_number "${1:-}"
  load_settings
  [[ -n "$(current_primary)" ]] || die "no cluster in $cluster_dir ('scripts/cluster.sh up')"
  save_settings
  load_dev_token
  load_dev_secrets_key
  load_node_args
  node_start "$1"
}

cmd_failover() {
  load_settings
  local old new="" other="" name pid lsn best=-1 value t0 standbys=() resumed=0
  old="$(current_primary)"
  if [[ -z "$old" ]]; then
    # An interrupted failover: the primary is marked failed, nobody promoted.
    for name in "${pg_names[@]}"; do
      if pg_failed "$name" && ! pg_running "$name"; then old="$name"; resumed=1; fi
    done
    [[ -n "$old" ]] || die "no primary in $pg_dir ('scripts/cluster.sh up')"
    say "no primary: finishing the failover of $old, which is down"
  fi
  for name in "${pg_names[@]}"; do
    [[ "$name" == "$old" ]] && continue
    pg_failed "$name" && continue
    pg_running "$name" && standbys+=("$name")
  done
  # With one standby left, the promoted one would have none, and every commit
  # would wait for one forever (synchronous replication).
  [[ ${#standbys[@]} -eq 2 ]] \
    || die "only ${#standbys[@]} standby running (${standbys[*]:-none}); a failover needs 2 so that" \
           "synchronous replication goes on: 'scripts/cluster.sh rejoin' or 'up' first"

  t0="$(now)"
  if [[ "$resumed" -eq 1 ]]; then
    :
  elif pg_running "$old"; then
    pid="$(pg_postmaster_pid "$old")"
    # The postmaster and all its children at once, as if the machine died.
    local victims
    victims="$pid $(ps -o pid= --ppid "$pid" | tr '\n' ' ' || true)"
    # shellcheck disable=SC2086
    kill -KILL $victims 2>/dev/null || true
    say "killed the primary $old (postmaster pid $pid and its children) with SIGKILL"
  else
    say "the primary $old was not running"
  fi
  touch "$(pg_failed_marker "$old")"

  # The standby that received the most WAL has every commit the quorum
  # acknowledged (ANY 1 of them had it); the other can then follow it.
  for name in "${standbys[@]}"; do
    lsn="$(pg_query "$name" "SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())")"
    value=$(( (16#${lsn%/*} << 32) + 16#${lsn#*/} ))
    say "$name received WAL up to $lsn"
    if (( value > best )); then
      [[ -n "$new" ]] && other="$new"
      best=$value
      new="$name"
    else
      other="$name"
    fi
  done
  pg pg_ctl promote -w -t 60 -D "$(pg_data "$new")" >/dev/null
  local i
  for ((i = 0; i < 60; i++)); do
    [[ "$(pg_query "$new" "SELECT pg_is_in_recovery()" 2>/dev/null || true)" == f ]] && break
    sleep 0.5
  done
  say "promoted $new (127.0.0.1:$(pg_port "$new")) to primary after $(elapsed "$t0") s"

  # primary_conninfo is read at start, so the other standby restarts on the
  # new primary; recovery_target_timeline 'latest' (the default) follows the
  # promotion's new timeline.
  pg_sql "$other" >/dev/null <<SQL
ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$(pg_port "$new") user=postgres application_name=$other passfile=''$pgpass''';
SQL
  pg pg_ctl restart -D "$(pg_data "$other")" -l "$(pg_log "$other")" -m fast -w -t 60 >/dev/null
  if pg_wait_replication "$new" 1; then
    say "$other now streams from $new; synchronous replication goes on (after $(elapsed "$t0") s in all)"
  else
    say "warning: $other is not streaming from $new yet; commits wait until it does ($(pg_log "$other"))"
  fi
  say "the nodes reconnect by themselves (their conninfo lists every server, target_session_attrs=read-write)"
  say "$old stays down; 'scripts/cluster.sh rejoin' makes it a standby of $new"
}

cmd_rejoin() {
  load_settings
  local primary name done_any=0
  primary="$(current_primary)"
  [[ -n "$primary" ]] || die "no primary in $pg_dir"
  pg_running "$primary" || die "the primary $primary is not running ('scripts/cluster.sh up')"
  for name in "${pg_names[@]}"; do
    pg_failed "$name" || continue
    done_any=1
    # Its WAL may have gone past the promotion point: copy it afresh rather
    # than rewind (a small database; pg_rewind would need wal_log_hints).
    pg_running "$name" && pg pg_ctl stop -D "$(pg_data "$name")" -m immediate >/dev/null
    say "rebuilding $name as a standby of $primary (pg_basebackup)"
    "${as_pg[@]}" rm -rf "$(pg_data "$name")"
    pg_make_standby "$name" "$primary"
    rm -f "$(pg_failed_marker "$name")"
    pg_start "$name"
  done
  [[ "$done_any" -eq 1 ]] || { say "nothing to rejoin: no failed primary"; return 0; }
  if pg_wait_replication "$primary" 2; then
    say "both standbys stream from $primary"
  else
    say "warning: not both standbys streaming yet ('scripts/cluster.sh status')"
  fi
}

cmd_down() {
  local purge=0
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "down: unknown argument '$1' (only --purge)" ;;
  esac
  if [[ ! -d "$cluster_dir" ]]; then
    say "nothing to stop: no $cluster_dir"
    return 0
  fi
  load_settings
  nodes_stop
  local primary name order=()
  primary="$(current_primary 2>/dev/null || true)"
  # The primary first, so that the standbys receive its shutdown checkpoint.
  if [[ -n "$primary" ]]; then order+=("$primary"); fi
  for name in "${pg_names[@]}"; do [[ "$name" == "$primary" ]] || order+=("$name"); done
  for name in "${order[@]}"; do
    if pg_exists "$name" && pg_running "$name"; then
      say "stopping PostgreSQL $name"
      pg pg_ctl stop -D "$(pg_data "$name")" -m fast -w -t 60 >/dev/null \
        || say "warning: $name did not stop ($(pg_log "$name"))"
    fi
  done
  if [[ "$purge" -eq 1 ]]; then
    rm -rf "$cluster_dir"
    say "deleted $cluster_dir"
  else
    say "stopped; data kept in $cluster_dir ('scripts/cluster.sh up' starts it again)"
  fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  status) cmd_status ;;
  kill-node) cmd_kill_node "${2:-}" ;;
  start-node) cmd_start_node "${2:-}" ;;
  failover) cmd_failover ;;
  rejoin) cmd_rejoin ;;
  down) shift; cmd_down "$@" ;;
  purge) cmd_down --purge ;;
  "" | -h | --help | help) usage ;;
  *) usage >&2; die "unknown command '$1'" ;;
esac
