# Sourced by bench/profile.sh and bench/nginx_drain.sh (from the repository
# root, after bench/free_port.sh, with $work, $bin_server and $bin_loadgen
# set).
#
# start_bench_server CA_FILE [FLAG...]: starts a fresh server as
# bench/run.sh does (data directory $work/data, sealed secrets, a random
# admin token exported as WEBHOOKS_TOKEN for webhooks_loadgen, loopback
# allowed, CA_FILE trusted, then FLAGs; its log in $work/server.log) and
# sets address, metrics_address and server_pid. Does not wait for it.
start_bench_server() {
  local ca_file="$1" token_sha256
  shift
  WEBHOOKS_TOKEN="bench_$(openssl rand -hex 16)"
  export WEBHOOKS_TOKEN  # never printed
  token_sha256="$(printf %s "$WEBHOOKS_TOKEN" | sha256sum | cut -d' ' -f1)"
  (umask 077; printf 'bench %s\n' "$(openssl rand -base64 32)" >"$work/secrets.key")
  address="127.0.0.1:$(free_port)"
  metrics_address="127.0.0.1:$(free_port)"
  "$bin_server" --listen "$address" --metrics_listen "$metrics_address" \
    --data_dir "$work/data" --admin_token_sha256 "$token_sha256" \
    --secrets_key_file "$work/secrets.key" --allow_private_targets 127.0.0.0/8 \
    --extra_ca_file "$ca_file" "$@" >"$work/server.log" 2>&1 &
  server_pid=$!
}

# loadgen ARGS...: webhooks_loadgen against the server.
loadgen() { "$bin_loadgen" --target "$address" "$@"; }
