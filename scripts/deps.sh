#!/usr/bin/env bash
# Install the Debian packages Peregrine builds, tests and benchmarks with.
# Idempotent and fast when everything is present: one dpkg-query, no apt.
set -euo pipefail

packages=(
  # build
  make g++ clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libcpp-httplib-dev libssl-dev libre2-dev
  # containerd's API (gRPC): the client is generated from the .proto files
  # containerd's Go package ships
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  golang-github-containerd-containerd-dev
  # tests and fuzzing
  doctest-dev libclang-rt-14-dev iproute2 procps openssh-client
  # the io_uring evasion test's program (IORING_OP_OPENAT, _CONNECT)
  liburing-dev
  # the default ruleset's noise soak: log rotation as a node runs it
  logrotate
  # container end-to-end tests: real containers, an image made from busybox
  podman runc busybox-static
  # ... and a containerd of their own (its own root, state and socket)
  containerd
  # packaging (make deb, make image) and its tests: dpkg-shlibdeps,
  # systemd-analyze for the unit, the CA bundle the image carries; the
  # stripped binary's debug file is checked with binutils' readelf and gdb
  dpkg-dev systemd ca-certificates binutils gdb
  # format / lint
  clang-format clang-tidy cppcheck
)
# `deps.sh bench` (make bench): the redis workload's server and client,
# the tools measured beside Peregrine (bpftrace, auditd) and the plotter.
if [ "${1:-}" = bench ]; then
  packages+=(redis-server redis-tools bpftrace auditd gnuplot-nox)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: run 'make deps' as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Install without starting services (redis-server's would listen on
  # 6379): the benchmark runs its own server on a private port.
  guard=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -z "$guard" ] || rm -f "$guard"
fi

# promtool (the metrics format test's second opinion) ships only inside
# Debian's `prometheus` package, whose installation would also enable a
# Prometheus server: take just the one binary out of the package instead.
tools=${BUILD:-build}/tools
if ! command -v promtool >/dev/null && [ ! -x "$tools/promtool" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
    if [ "$(id -u)" -ne 0 ]; then
      echo "deps: cannot download Debian's prometheus package for promtool; run 'make deps' as root" >&2
      exit 1
    fi
    apt-get update -qq
    (cd "$tmp" && apt-get download -qq prometheus)
  fi
  mkdir -p "$tools"
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -O ./usr/bin/promtool >"$tools/promtool"
  chmod 0755 "$tools/promtool"
  echo "deps: promtool from Debian's prometheus package is in $tools/"
fi
