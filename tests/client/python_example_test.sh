#!/usr/bin/env bash
# The Python client example end to end, as docs/CLIENT.md has it run: stubs
# from generate_stubs.sh, the real server binary (loopback, free port, temp
# data dir), the example's HTTPS receiver (receiver.py) behind a fresh
# self-signed certificate, then wink_example.py creating a webhook,
# publishing and watching the delivery. Nothing is faked.
#
# Usage: python_example_test.sh SERVER_BINARY PYTHON3
#   PYTHON3: the interpreter Debian's python3-grpcio is installed for
#   (/usr/bin/python3), not whichever python3 comes first on PATH.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
example="$repo/client/examples/python"
server="$1"
python="$2"
work="$(mktemp -d)"
server_pid=""
receiver_pid=""
cleanup() {
  for pid in "$receiver_pid" "$server_pid"; do
    if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in server receiver example; do
    echo "--- $log output:" >&2
    cat "$work/$log.out" >&2 2>/dev/null || true
  done
  exit 1
}
# wait_for_line FILE PATTERN PID WHAT: waits (up to 60 s) until FILE has a
# line matching PATTERN, failing early if PID exits.
wait_for_line() {
  for _ in $(seq 1 600); do
    grep -q -- "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || fail "$4 exited before it was ready"
    sleep 0.1
  done
  fail "$4 not ready after 60 s"
}

[[ -x "$server" ]] || fail "no server binary at $server"
# Missing packages are a failure, not a skip: scripts/deps.sh installs them.
"$python" -c 'import grpc, google.protobuf' 2>"$work/import.err" ||
  fail "$python cannot import grpc/protobuf (apt-get install python3-grpcio python3-protobuf,
or scripts/deps.sh): $(cat "$work/import.err")"

# 1. Stubs, with the script the docs give, and a relative OUT_DIR as there.
(cd "$work" && exec bash "$example/generate_stubs.sh" stubs) >"$work/stubs.out" 2>&1 ||
  { cat "$work/stubs.out" >&2; fail "generate_stubs.sh failed"; }
for module in webhook_service_pb2 webhook_service_pb2_grpc delivery_service_pb2 \
  delivery_service_pb2_grpc; do
  [[ -f "$work/stubs/wink/webhooks/v1/$module.py" ]] || fail "generate_stubs.sh made no $module.py"
done

# 2. The receiver's certificate: self-signed for 127.0.0.1, so it is its own
# CA, which the server is told to trust.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 ||
  fail "openssl could not make a certificate"

# 3. The receiver on a free port; the secret file is filled in by the example.
: >"$work/secret"
chmod 600 "$work/secret"
(cd "$example" && exec "$python" -u receiver.py --port 0 --cert "$work/cert.pem" \
  --key "$work/key.pem" --secret_file "$work/secret") >"$work/receiver.out" 2>&1 &
receiver_pid=$!
wait_for_line "$work/receiver.out" "^listening on https://127.0.0.1:" "$receiver_pid" receiver
receiver_port="$(sed -n 's|^listening on https://127.0.0.1:\([0-9]*\)$|\1|p' "$work/receiver.out")"

# 4. The server: port 0 (the ready line names the port), allowed to deliver
# to loopback, trusting the receiver's certificate, with an admin token.
token="python-example-test-token"
token_sha256="$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)"
"$server" --listen 127.0.0.1:0 --data_dir "$work/data" --admin_token_sha256 "$token_sha256" \
  --allow_private_targets 127.0.0.0/8 --extra_ca_file "$work/cert.pem" >"$work/server.out" 2>&1 &
server_pid=$!
wait_for_line "$work/server.out" " ready .*listen=127.0.0.1:[0-9]" "$server_pid" server
server_port="$(sed -n 's/.* ready .*listen=127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.out")"

# 5. The example.
account="py-example"
url="https://127.0.0.1:$receiver_port/hooks/python"
rc=0
(cd "$example" && WEBHOOKS_TOKEN="$token" PYTHONPATH="$work/stubs" exec "$python" \
  wink_example.py --target "127.0.0.1:$server_port" --account "$account" --url "$url" \
  --secret_file "$work/secret" --watch_timeout 60) >"$work/example.out" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "wink_example.py exited with $rc"

out="$work/example.out"
webhook="$(sed -n "s|^webhook: \(accounts/$account/webhooks/wh_[0-9a-z]*\) -> $url\$|\1|p" "$out")"
[[ -n "$webhook" ]] || fail "no 'webhook: accounts/$account/webhooks/wh_... -> $url' line"
event_id="$(sed -n "s|^event: accounts/$account/events/\(evt_[0-9a-z]*\) matched_webhooks=1 .*|\1|p" "$out")"
[[ -n "$event_id" ]] || fail "no 'event: accounts/$account/events/evt_... matched_webhooks=1' line"
grep -q "^secret: written to $work/secret\$" "$out" || fail "the secret was not written"
grep -q "^whsec_" "$work/secret" || fail "the secret file holds no whsec_ secret"
delivery="$webhook/deliveries/$event_id"
grep -q "^delivery $delivery SUCCEEDED attempts=1 http=204\$" "$out" ||
  fail "the watch did not show $delivery SUCCEEDED after one attempt answered 204"
grep -q "^delivered: $delivery\$" "$out" || fail "no 'delivered: $delivery' line"
grep -q "^deleted: $webhook\$" "$out" || fail "the example did not delete $webhook"

# 6. The receiver got exactly one POST, for that event, and it verified.
posts="$(grep -c '^POST ' "$work/receiver.out" || true)"
[[ "$posts" == 1 ]] || fail "the receiver logged $posts POSTs, not 1"
grep -q "^POST /hooks/python webhook-id=$event_id verified=yes -> 204\$" "$work/receiver.out" ||
  fail "the receiver's POST was not $event_id verified"

# 7. And it refuses what the secret did not sign: the same kind of request
# with a wrong signature answers 401 with the reason.
refused="$(cd "$example" && "$python" - "$receiver_port" "$work/cert.pem" <<'PY'
import http.client, ssl, sys, time
context = ssl.create_default_context(cafile=sys.argv[2])
connection = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=context)
connection.request("POST", "/hooks/python", body=b'{"type":"booking.created"}', headers={
    "webhook-id": "evt_forged", "webhook-timestamp": str(int(time.time())),
    "webhook-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="})
response = connection.getresponse()
print(response.status, response.read().decode())
PY
)" || fail "could not send the forged request"
[[ "$refused" == "401 webhook-signature: no matching signature" ]] ||
  fail "a forged signature got [$refused], not 401 webhook-signature: no matching signature"
grep -q "^POST /hooks/python verified=no (webhook-signature: no matching signature) -> 401\$" \
  "$work/receiver.out" || fail "the receiver did not log the refused POST"
echo "PASS"
