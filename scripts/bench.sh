#!/usr/bin/env bash
# `make bench`: overhead of Peregrine on tight syscall loops, as ratios
# against a baseline measured in the same run (never absolute times: the
# machines are shared and noisy).
#
# For each workload, PAIRS interleaved pairs are run: baseline (nothing
# attached) and with `peregrine trace` attached (output discarded), the
# order alternating between pairs. The ratio with/baseline of each pair is
# computed and the median reported.
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-7}
GETPPID_N=${GETPPID_N:-2000000}
OPEN_N=${OPEN_N:-200000}
PEREGRINE=build/peregrine
LOOP=build/bench-loop
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (attaches eBPF programs)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill "${tracer:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
echo x > "$tmp/target"

start_tracer() {
  "$PEREGRINE" trace --json --syscalls "$1" >/dev/null 2>"$tmp/tracer.err" &
  tracer=$!
  for _ in $(seq 200); do
    grep -q ready "$tmp/tracer.err" && return 0
    kill -0 "$tracer" 2>/dev/null || { cat "$tmp/tracer.err" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench: tracer did not become ready" >&2
  exit 1
}

stop_tracer() {
  kill -TERM "$tracer"
  wait "$tracer" || true
  tracer=
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# bench NAME SYSCALLS LOOP-ARGS...
bench() {
  local name=$1 syscalls=$2
  shift 2
  local ratios=() base with
  for i in $(seq "$PAIRS"); do
    if [ $((i % 2)) -eq 1 ]; then
      base=$("$LOOP" "$@")
      start_tracer "$syscalls"; with=$("$LOOP" "$@"); stop_tracer
    else
      start_tracer "$syscalls"; with=$("$LOOP" "$@"); stop_tracer
      base=$("$LOOP" "$@")
    fi
    ratios+=("$(awk -v a="$with" -v b="$base" 'BEGIN {printf "%.4f", a / b}')")
    printf '  %-28s pair %d: baseline %8s ns/op, traced %8s ns/op, ratio %s\n' \
      "$name" "$i" "$base" "$with" "${ratios[-1]}"
  done
  local m
  m=$(printf '%s\n' "${ratios[@]}" | median)
  results+=("$(printf '%-44s median ratio %s (%d pairs)' "$name" "$m" "$PAIRS")")
}

results=()
open_family=open,openat,openat2,creat
bench "getppid, open family attached" "$open_family" getppid "$GETPPID_N"
bench "open+close, open family attached" "$open_family" openclose "$OPEN_N" "$tmp/target"

# Engine throughput: record a busy run with Falco's stable rules loaded,
# then replay it (one thread: decode, process table, rule evaluation).
STABLE=../shared/falco-rules/falco_rules.yaml
if [ -r "$STABLE" ]; then
  "$PEREGRINE" run -r "$STABLE" -c /dev/null --json --record "$tmp/bench.pgrec" \
    >/dev/null 2>"$tmp/record.err" &
  tracer=$!
  for _ in $(seq 200); do grep -q ready "$tmp/record.err" && break; sleep 0.05; done
  "$LOOP" openclose "$OPEN_N" "$tmp/target" >/dev/null
  find /usr -xdev >/dev/null 2>&1 || true
  "$LOOP" openclose "$OPEN_N" /etc/hostname >/dev/null
  stop_tracer
  best=0
  for _ in 1 2 3; do
    "$PEREGRINE" replay -r "$STABLE" -c /dev/null --json "$tmp/bench.pgrec" >/dev/null 2>"$tmp/replay.err"
    rate=$(sed -nE 's/.*\(([0-9]+) events\/s.*/\1/p' "$tmp/replay.err")
    events=$(sed -nE 's/.*replayed ([0-9]+) events.*/\1/p' "$tmp/replay.err")
    [ "${rate:-0}" -gt "$best" ] && best=$rate
  done
  results+=("$(printf '%-44s %s events/s (best of 3; %s events, stable rules)' "replay throughput, one thread" "$best" "$events")")
fi

# Kubernetes audit webhook under load (no BPF; see the script).
audit_line=$(scripts/bench/audit-webhook.sh) || audit_line="$audit_line  FAILED: events lost or refused"
results+=("$audit_line")

echo
echo "== make bench results (traced / baseline, lower is better)"
printf '%s\n' "${results[@]}"
