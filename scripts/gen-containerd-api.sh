#!/usr/bin/env bash
# Generate the C++ client of containerd's API (gRPC) from the .proto files
# Debian ships in golang-github-containerd-containerd-dev, at build time, so
# none of containerd's files live in this repository.
#
#   scripts/gen-containerd-api.sh PROTO_SRC OUT
#
# PROTO_SRC is the Go source root holding github.com/containerd/containerd/
# api (/usr/share/gocode/src); the generated *.pb.{h,cc} and *.grpc.pb.{h,cc}
# go under OUT with the same relative paths. Only what Peregrine asks is
# generated: the containers, images and events services and the messages
# they carry.
#
# The files are written for gogoproto, a Go-only protoc extension: its
# imports and field options ([(gogoproto.nullable) = false], ...) and
# containerd's own fieldpath options change nothing on the wire, and protoc
# without gogo.proto rejects them, so they are removed from copies first.
set -euo pipefail

src=${1:?usage: gen-containerd-api.sh PROTO_SRC OUT}
out=${2:?usage: gen-containerd-api.sh PROTO_SRC OUT}
api=github.com/containerd/containerd/api
messages=(
  "$api/types/descriptor.proto"
  "$api/events/container.proto"
)
services=(
  "$api/services/containers/v1/containers.proto"
  "$api/services/images/v1/images.proto"
  "$api/services/events/v1/events.proto"
)

for p in "${messages[@]}" "${services[@]}"; do
  if [ ! -f "$src/$p" ]; then
    echo "gen-containerd-api: $src/$p is missing; install golang-github-containerd-containerd-dev (make deps)" >&2
    exit 1
  fi
done
command -v protoc >/dev/null || { echo "gen-containerd-api: protoc is missing; install protobuf-compiler (make deps)" >&2; exit 1; }
plugin=$(command -v grpc_cpp_plugin) || { echo "gen-containerd-api: grpc_cpp_plugin is missing; install protobuf-compiler-grpc (make deps)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in "${messages[@]}" "${services[@]}"; do
  mkdir -p "$tmp/$(dirname "$p")"
  sed -E -e '/^import weak /d' \
    -e '/^[[:space:]]*option \(containerd\.plugin\./d' \
    -e 's/[[:space:]]*\[\(gogoproto[^]]*\]//' \
    "$src/$p" >"$tmp/$p"
  if grep -q 'gogoproto\|containerd\.plugin' "$tmp/$p"; then
    echo "gen-containerd-api: $p still names gogoproto after stripping; its layout changed" >&2
    exit 1
  fi
done
mkdir -p "$out"
protoc -I"$tmp" --cpp_out="$out" "${messages[@]}" "${services[@]}"
protoc -I"$tmp" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" "${services[@]}"
