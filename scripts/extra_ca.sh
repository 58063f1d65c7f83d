# shellcheck shell=bash
# Sourced by run.sh and cluster.sh.
#
# wait_for_extra_ca_files BUILD_DIR [SERVER_FLAG...]: returns once every file
# the flags name with --extra_ca_file exists, or when none has appeared for
# $WEBHOOKS_CA_WAIT_SECONDS (whole seconds, default 15) with no build running
# in BUILD_DIR; the server then says which one it cannot read.
#
# Why: the README starts scripts/receiver.sh and run.sh at once. Both build
# in build-release, one after the other (build.sh's lock), and the receiver
# makes its CA certificate (var/receiver/ca.pem) only when it starts, after
# its build, which may finish after ours.
wait_for_extra_ca_files() {
  local build_dir="$1"; shift
  local -a args=("$@") missing=()
  local i value path
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --extra_ca_file=*) value="${args[i]#*=}" ;;
      --extra_ca_file) value="${args[i + 1]:-}" ;;
      *) continue ;;
    esac
    local -a paths
    IFS=, read -r -a paths <<<"$value"
    for path in "${paths[@]}"; do
      [[ -n "$path" && ! -e "$path" ]] && missing+=("$path")
    done
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "waiting for ${missing[*]} (scripts/receiver.sh makes var/receiver/ca.pem once built)" >&2
  local grace="${WEBHOOKS_CA_WAIT_SECONDS:-15}" idle_since=$SECONDS lock="$build_dir/.build.lock"
  while true; do
    local all_there=true
    for path in "${missing[@]}"; do [[ -e "$path" ]] || all_there=false; done
    $all_there && return 0
    # A build holding the lock is probably the receiver's: wait for it.
    if [[ -e "$lock" ]] && command -v flock >/dev/null && ! flock -n "$lock" true; then
      idle_since=$SECONDS
    fi
    ((SECONDS - idle_since >= grace)) && return 0
    sleep 0.5
  done
}
