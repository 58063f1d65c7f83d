# Sourced by bench/run.sh, bench/profile.sh and bench/nginx_drain.sh (from the
# repository root).
# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
