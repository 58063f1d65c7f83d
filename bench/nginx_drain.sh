#!/usr/bin/env bash
# Delivers N held events to nginx, the receiver most webhook endpoints sit
# behind, instead of the benchmark receiver: what a real server's early
# answer (nginx's `return 204` answers before it reads the body) does to
# deliveries, over HTTP/2 or HTTP/1.1.
#
#   bench/nginx_drain.sh h2 N       # nginx offers h2 and http/1.1 (ALPN)
#   bench/nginx_drain.sh http1 N    # nginx offers http/1.1 only
#
# Needs nginx (`apt-get install nginx-light`). Starts nginx (one worker, its
# own certificate from a throwaway CA on 127.0.0.1) and a fresh server as
# bench/profile.sh does, with one webhook to nginx, paused; publishes N
# events (batches of 100), resumes the webhook and waits until the server
# counts N deliveries succeeded (at most 120 s). Prints the drain's
# POSTs/s, the CPU per POST of the server and of nginx, and how many
# attempts were delivered and retried, with their errors.
#
# Environment: WEBHOOKS_BUILD_DIR (default build-release, as bench/run.sh
# builds it).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '7,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ "${1:-}" == h2 || "${1:-}" == http1 ]] || usage
[[ "${2:-}" =~ ^[1-9][0-9]*00$ ]] || { echo "N: a multiple of 100" >&2; usage; }
protocol="$1" events="$2"
command -v nginx >/dev/null || { echo "bench/nginx_drain.sh: needs nginx (apt-get install nginx-light)" >&2; exit 1; }
build_dir="${WEBHOOKS_BUILD_DIR:-build-release}"
bin_server="$build_dir/service/wink-webhooks-server"
bin_loadgen="$build_dir/bench/webhooks_loadgen"
for bin in "$bin_server" "$bin_loadgen"; do
  [[ -x "$bin" ]] || { echo "bench/nginx_drain.sh: no $bin (run bench/run.sh once to build)" >&2; exit 1; }
done

work="$(mktemp -d /tmp/wink-nginx.XXXXXX)"
server_pid=""
cleanup() {
  set +e
  [[ -n "$server_pid" ]] && kill -INT "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [[ -f "$work/nginx.pid" ]] && nginx -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/free_port.sh
source bench/free_port.sh  # free_port
# shellcheck source=bench/bench_server.sh
source bench/bench_server.sh  # start_bench_server, loadgen

# A throwaway CA and nginx's certificate for 127.0.0.1.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj /CN=nginx-drain-ca -days 2 -out "$work/ca.pem"
key "$work/nginx.key"
openssl req -new -key "$work/nginx.key" -subj /CN=127.0.0.1 -out "$work/nginx.csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san"
openssl x509 -req -in "$work/nginx.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/san" -out "$work/nginx.pem" 2>/dev/null

nginx_port="$(free_port)"
mkdir -p "$work/logs"
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
error_log $work/logs/error.log;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$nginx_port ssl$([[ "$protocol" == h2 ]] && echo " http2");
    ssl_certificate $work/nginx.pem;
    ssl_certificate_key $work/nginx.key;
    location / { return 204; }
  }
}
EOF
nginx -p "$work" -c "$work/nginx.conf"
nginx_url="https://127.0.0.1:$nginx_port/hook"

start_bench_server "$work/ca.pem"
loadgen --mode wait-ready --timeout 20s >/dev/null ||
  { echo "bench/nginx_drain.sh: the server did not start" >&2; tail "$work/server.log" >&2; exit 1; }
loadgen --mode setup --account bench --webhooks 1 --url "$nginx_url" >/dev/null
loadgen --mode pause --account bench >/dev/null
loadgen --mode batch-publish --account bench --channels 4 --payload_bytes 256 --batch_size 100 \
  --concurrency 4 --count $((events / 100)) >/dev/null
sleep 1

succeeded() {
  curl -s "http://$metrics_address/metrics" |
    awk '/^wink_webhooks_deliveries_finished_total\{outcome="succeeded"\}/ { printf "%d", $2 }'
}
cpu_ticks() {  # PID...: user + system clock ticks
  local pid fields total=0
  for pid in "$@"; do
    read -ra fields <"/proc/$pid/stat"
    total=$((total + fields[13] + fields[14]))
  done
  echo "$total"
}
nginx_workers="$(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')"
# shellcheck disable=SC2086  # a list of pids
read -r server_before nginx_before <<<"$(cpu_ticks "$server_pid") $(cpu_ticks $nginx_workers)"
start="$(date +%s.%N)"
loadgen --mode resume --account bench >/dev/null
deadline=$(($(date +%s) + 120))
while :; do
  delivered="$(succeeded)"
  ((${delivered:-0} >= events)) && break
  (($(date +%s) > deadline)) && { echo "only ${delivered:-0} of $events delivered after 120 s"; break; }
  sleep 0.05
done
end="$(date +%s.%N)"
# shellcheck disable=SC2086
read -r server_after nginx_after <<<"$(cpu_ticks "$server_pid") $(cpu_ticks $nginx_workers)"
awk -v n="${delivered:-0}" -v s="$start" -v e="$end" -v sc=$((server_after - server_before)) \
  -v nc=$((nginx_after - nginx_before)) -v hz="$(getconf CLK_TCK)" -v p="$protocol" 'BEGIN {
  printf "nginx %s: %d deliveries in %.2f s, %.0f POSTs/s; CPU per POST: server %.1f µs, nginx %.1f µs\n",
    p, n, e - s, n / (e - s), n ? sc * 1e6 / hz / n : 0, n ? nc * 1e6 / hz / n : 0 }'
echo "attempts: $(grep -c 'outcome=delivered' "$work/server.log" || true) delivered," \
  "$(grep -c 'outcome=retry' "$work/server.log" || true) retried"
grep -o 'outcome=retry .*error="[^"]*"' "$work/server.log" | grep -o 'error=.*' | sort | uniq -c |
  sort -rn | head -3 || true
