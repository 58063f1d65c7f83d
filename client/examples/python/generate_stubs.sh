#!/usr/bin/env bash
# Generates the Python modules of the wink.webhooks.v1 API (messages and gRPC
# stubs) into OUT_DIR, for the example in this directory and for any Python
# program of yours. Generated code is not committed: run this again when the
# protos change.
#
# Usage: client/examples/python/generate_stubs.sh OUT_DIR
#   then: PYTHONPATH=OUT_DIR python3 -c 'from wink.webhooks.v1 import webhook_service_pb2'
#
# Uses Debian's protoc (protobuf-compiler, 3.21) with gRPC's Python plugin
# (protobuf-compiler-grpc), not python3-grpc-tools: that package bundles
# protoc 3.5, which rejects proto3 `optional` fields (Webhook.enabled).
# PROTOC and GRPC_PYTHON_PLUGIN override the two programs.
#
# Only google/protobuf/*.proto are imported besides our own protos; their
# Python modules ship with python3-protobuf, so nothing else is generated.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out_dir="$1"
proto_root="$(cd "$(dirname "$0")/../../../proto" && pwd)"
protoc="${PROTOC:-protoc}"
plugin="${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}"
command -v "$protoc" >/dev/null ||
  { echo "error: $protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
[[ -x "$plugin" ]] ||
  { echo "error: $plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }

mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"  # protoc runs from proto/, below
# Paths relative to proto/ so that the modules are wink.webhooks.v1.*_pb2 and
# import each other by that name. Python 3 finds them as namespace packages:
# no __init__.py is needed.
(cd "$proto_root" && "$protoc" -I . \
  --python_out="$out_dir" \
  --grpc_python_out="$out_dir" \
  --plugin=protoc-gen-grpc_python="$plugin" \
  wink/webhooks/v1/*.proto)
