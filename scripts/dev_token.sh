# Sourced by run.sh and cluster.sh: the development admin token they give
# the server. load_dev_token sets $token ($WEBHOOKS_DEV_TOKEN when set;
# otherwise one made once and kept in ./var/dev-token, mode 600) and
# $token_sha256, the only form the server ever sees.
load_dev_token() {
  mkdir -p var
  if [[ -n "${WEBHOOKS_DEV_TOKEN:-}" ]]; then
    token="$WEBHOOKS_DEV_TOKEN"
  else
    if [[ ! -s var/dev-token ]]; then
      (umask 077; echo "dev_$(openssl rand -hex 24)" > var/dev-token)
    fi
    token="$(cat var/dev-token)"
  fi
  token_sha256="$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
}

# The development master key that encrypts webhook secrets at rest
# (--secrets_key_file): made once, kept in ./var/dev-secrets.key (mode 600)
# and shared by every server these scripts start, so a restart (or another
# cluster node) opens what an earlier one sealed. Sets $secrets_key_file.
load_dev_secrets_key() {
  mkdir -p var
  secrets_key_file=var/dev-secrets.key
  if [[ ! -s "$secrets_key_file" ]]; then
    (umask 077; printf 'dev1 %s\n' "$(openssl rand -base64 32)" > "$secrets_key_file")
  fi
}
