#!/usr/bin/env bash
# `make bench`: overhead of Peregrine on tight syscall loops, as ratios
# against a baseline measured in the same run (never absolute times: the
# machines are shared and noisy).
#
# For each workload, PAIRS interleaved pairs are run: baseline (nothing
# attached) and with Peregrine attached, the order alternating between
# pairs. The ratio with/baseline of each pair is computed and the median
# reported. Peregrine is either `peregrine trace` (every event of the open
# family to userspace, no filter) or `peregrine run` with Falco's stable
# rules and the kernel filter. The mixed workload also reports how many
# events the attached programs saw, how many crossed to userspace, and the
# alerts with the filter on and off (--no-kernel-filter).
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-7}
GETPPID_N=${GETPPID_N:-2000000}
OPEN_N=${OPEN_N:-200000}
PEREGRINE=build/peregrine
# The loops run on one CPU (the daemon's reader then mostly on another):
# fewer migrations, steadier pairs. BENCH_CPU= (empty) lets them roam.
BENCH_CPU=${BENCH_CPU-1}
loop() { if [ -n "$BENCH_CPU" ]; then taskset -c "$BENCH_CPU" build/bench-loop "$@"; else build/bench-loop "$@"; fi; }
LOOP=loop
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (attaches eBPF programs)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill "${tracer:-}" 2>/dev/null || true; [ -n "${FLOOR_EVENT:-}" ] && echo 0 >"$FLOOR_EVENT" 2>/dev/null; rm -rf "$tmp"' EXIT
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

# The kernel's own floor: with any syscall tracepoint enabled, every syscall
# of every task takes the kernel's syscall-tracing path, whoever listens.
# Enabling one through tracefs (no BPF, a syscall the loops never make,
# tracing off so nothing is written) measures what no eBPF design on
# per-syscall tracepoints can go below.
TRACEFS=/sys/kernel/tracing
[ -d "$TRACEFS/events/syscalls" ] || TRACEFS=/sys/kernel/debug/tracing
FLOOR_EVENT=$TRACEFS/events/syscalls/sys_exit_vhangup/enable
floor_bench() {  # floor_bench NAME LOOP-ARGS...
  local name=$1
  shift
  [ -w "$FLOOR_EVENT" ] || { results+=("$name: skipped (no $FLOOR_EVENT)"); return; }
  local was_on ratios=() base with
  was_on=$(cat "$TRACEFS/tracing_on")
  echo 0 >"$TRACEFS/tracing_on"
  for i in $(seq "$PAIRS"); do
    base=$("$LOOP" "$@")
    echo 1 >"$FLOOR_EVENT"; with=$("$LOOP" "$@"); echo 0 >"$FLOOR_EVENT"
    ratios+=("$(awk -v a="$with" -v b="$base" 'BEGIN {printf "%.4f", a / b}')")
    printf '  %-28s pair %d: baseline %8s ns/op, tracepoint on %8s ns/op, ratio %s\n' \
      "$name" "$i" "$base" "$with" "${ratios[-1]}"
  done
  echo "$was_on" >"$TRACEFS/tracing_on"
  results+=("$(printf '%-44s median ratio %s (%d pairs)' "$name" \
    "$(printf '%s\n' "${ratios[@]}" | median)" "$PAIRS")")
}
floor_bench "getppid, kernel floor (a tracepoint, no BPF)" getppid "$GETPPID_N"
floor_bench "open+close, kernel floor (a tracepoint, no BPF)" openclose "$OPEN_N" "$tmp/target"

open_family=open,openat,openat2,creat
bench "getppid, open family traced (no filter)" "$open_family" getppid "$GETPPID_N"
bench "open+close, open family traced (no filter)" "$open_family" openclose "$OPEN_N" "$tmp/target"

# ---- the kernel filter: `peregrine run` with Falco's rule files ------------
RULES_DIR=${FALCO_RULES:-../shared/falco-rules}
STABLE=$RULES_DIR/falco_rules.yaml
INCUBATING=$RULES_DIR/falco-incubating_rules.yaml
SANDBOX=$RULES_DIR/falco-sandbox_rules.yaml
daemon_rules=(-r "$STABLE")  # the rule files start_daemon loads
daemon_extra=()  # more `peregrine run` arguments for filter_bench

start_daemon() {  # start_daemon LOGNAME ARGS...
  local log=$1
  shift
  "$PEREGRINE" run "${daemon_rules[@]}" -c /dev/null --json "$@" >"$tmp/$log.out" 2>"$tmp/$log.err" &
  tracer=$!
  for _ in $(seq 400); do
    # A second to settle: the daemon's start-up work is not what is measured.
    grep -q ready "$tmp/$log.err" && { sleep 1; return 0; }
    kill -0 "$tracer" 2>/dev/null || { cat "$tmp/$log.err" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench: peregrine run did not become ready" >&2
  exit 1
}

# What the daemon counted, from its exit log: judged (filtered syscalls at
# their programs), passed (of those, sent to userspace), records (all
# records received, lifecycle events included), lifecycle (exec, fork and
# exit events at their programs, threads included).
counts() {
  local err=$1
  judged=$(sed -nE 's/.*: ([0-9]+) events judged, ([0-9]+) passed.*/\1/p' "$err")
  passed=$(sed -nE 's/.*: ([0-9]+) events judged, ([0-9]+) passed.*/\2/p' "$err")
  records=$(sed -nE 's/.*stopped: ([0-9]+) records received.*/\1/p' "$err")
  lifecycle=$(sed -nE 's/.*; ([0-9]+) exec\/fork\/exit events, ([0-9]+) sent.*/\1/p' "$err")
  alerts=$(grep -c '"rule"' "${err%.err}.out" || true)
}

# filter_bench NAME LOWER_IS_BETTER(1|0) COMMAND...: pairs of baseline and
# `peregrine run` (kernel filter on); COMMAND prints one number.
filter_bench() {
  local name=$1 lower=$2
  shift 2
  local ratios=() base with
  for i in $(seq "$PAIRS"); do
    if [ $((i % 2)) -eq 1 ]; then
      base=$("$@")
      start_daemon filter "${daemon_extra[@]}"; with=$("$@"); stop_tracer
    else
      start_daemon filter "${daemon_extra[@]}"; with=$("$@"); stop_tracer
      base=$("$@")
    fi
    ratios+=("$(awk -v a="$with" -v b="$base" 'BEGIN {printf "%.4f", a / b}')")
    counts "$tmp/filter.err"
    printf '  %-34s pair %d: baseline %10s, with peregrine %10s, ratio %s (judged %s, passed %s, records %s)\n' \
      "$name" "$i" "$base" "$with" "${ratios[-1]}" "$judged" "$passed" "$records"
  done
  local m
  m=$(printf '%s\n' "${ratios[@]}" | median)
  results+=("$(printf '%-44s median ratio %s (%d pairs; %s)' "$name" "$m" "$PAIRS" \
    "$([ "$lower" = 1 ] && echo "time, lower is better" || echo "throughput, higher is better")")")
}

# The redis workload: a private redis-server on loopback.
REDIS_PORT=${REDIS_PORT:-6390}
REDIS_N=${REDIS_N:-200000}
redis_rps() {
  redis-benchmark -p "$REDIS_PORT" -q -n "$REDIS_N" -t set,get -P 1 --csv 2>/dev/null |
    awk -F'"' '/^"(SET|GET)"/ {s += $4; n++} END {printf "%.0f", s / n}'
}

# The mixed workload: compile a generated C project with make -j2 while
# find walks /usr; prints wall seconds.
mixed_project() {
  local d=$tmp/proj
  rm -rf "$d"
  mkdir -p "$d"
  for i in $(seq 120); do
    printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\nint f%d(int x) { char b[64]; snprintf(b, sizeof b, "%%d", x); return (int)strlen(b) + x; }\n' "$i" >"$d/f$i.c"
  done
  printf 'int main(void) { return 0; }\n' >"$d/main.c"
  printf 'SRCS := $(wildcard *.c)\nprog: $(SRCS:.c=.o)\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O1 -c $< -o $@\n' >"$d/Makefile"
}
mixed_run() {
  make -s -C "$tmp/proj" clean >/dev/null 2>&1 || rm -f "$tmp/proj"/*.o "$tmp/proj/prog"
  local t0 t1
  t0=$(date +%s.%N)
  find /usr -xdev >/dev/null 2>&1 &
  local fp=$!
  # A build that fails would time nothing: stop the benchmark instead.
  make -s -j2 -C "$tmp/proj" prog >/dev/null 2>"$tmp/proj.err" ||
    { echo "bench: the mixed workload's build failed:" >&2; cat "$tmp/proj.err" >&2; exit 1; }
  wait "$fp" || true
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}

filter_bench "getppid, stable rules (kernel filter)" 1 "$LOOP" getppid "$GETPPID_N"
filter_bench "open+close non-matching, stable rules" 1 "$LOOP" openclose "$OPEN_N" "$tmp/target"
# What raw_syscall_fallback costs: every syscall passes the raw sys_exit
# program (here for init_module/finit_module, which this kernel lacks).
daemon_extra=(-o raw_syscall_fallback=true)
filter_bench "getppid, stable rules + raw syscall fallback" 1 "$LOOP" getppid "$GETPPID_N"
daemon_extra=()

if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no >/dev/null 2>&1 &
  redis_pid=$!
  sleep 0.5
  filter_bench "redis-benchmark set/get, stable rules" 0 redis_rps
  kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
else
  results+=("redis-benchmark: skipped (apt-get install redis-server redis-tools)")
fi

# Per rule set: the non-matching open loop with the BPF cost per call of
# the open program (bpf_stats: run_time_ns / run_cnt while the loop ran),
# and the rules the kernel let the most events through for.
prog_ns() {  # prog_ns NAME: ns per call of the loaded program NAME so far
  bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") == sys.argv[1] and p.get("run_cnt"):
        print("%.0f %d" % (p["run_time_ns"] / p["run_cnt"], p["run_cnt"])); break
else:
    print("- 0")' "$1"
}
# The running daemon's three rules the kernel let the most events through
# for (`peregrine status`: passed the kernel, then matched in userspace).
top_crossings() {
  "$PEREGRINE" status --json 2>/dev/null | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError:
    s = {}
print("; ".join("%s: %d passed, %d matched" % (c["rule"], c["kernel_passed"], c["matches"])
                for c in s.get("kernel_crossings", [])[:3]) or "none")'
}
ruleset_rows() {  # ruleset_rows LABEL RULE-FILES...
  local label=$1
  shift
  local args=() f
  for f in "$@"; do args+=(-r "$f"); done
  daemon_rules=("${args[@]}")
  filter_bench "open+close non-matching, $label" 1 "$LOOP" openclose "$OPEN_N" "$tmp/target"
  local stats_was
  stats_was=$(sysctl -n kernel.bpf_stats_enabled)
  start_daemon cost
  sysctl -qw kernel.bpf_stats_enabled=1
  "$LOOP" openclose "$OPEN_N" "$tmp/target" >/dev/null
  local ns
  ns=$(prog_ns pg_exit_openat)
  top=$(top_crossings)
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  stop_tracer
  counts "$tmp/cost.err"
  results+=("$(printf '%-44s pg_exit_openat %s ns/call over %s calls; %s judged, %s passed (%s%%)' \
    "open non-matching, $label" "${ns% *}" "${ns#* }" "$judged" "$passed" \
    "$(awk -v p="$passed" -v j="$judged" 'BEGIN {printf "%.2f", j ? 100 * p / j : 0}')")")
  results+=("$(printf '%-44s %s' "  top rules by crossings" "$top")")
}
if [ -r "$INCUBATING" ] && [ -r "$SANDBOX" ]; then
  ruleset_rows "stable rules" "$STABLE"
  ruleset_rows "stable+incubating" "$STABLE" "$INCUBATING"
  ruleset_rows "stable+incubating+sandbox" "$STABLE" "$INCUBATING" "$SANDBOX"
  daemon_rules=(-r "$STABLE")
fi

# io_uring (kern/uring.bpf.c): the same non-matching open made as an
# IORING_OP_OPENAT request, with the stable rules; the program on
# io_uring_complete per request (bpf_stats, the open program it tail-calls
# included), and the loop's ratio against no daemon.
if [ -r "$STABLE" ]; then
  daemon_rules=(-r "$STABLE")
  filter_bench "io_uring open+close non-matching, stable rules" 1 "$LOOP" uring-openclose "$OPEN_N" "$tmp/target"
  stats_was=$(sysctl -n kernel.bpf_stats_enabled)
  start_daemon cost
  sysctl -qw kernel.bpf_stats_enabled=1
  "$LOOP" uring-openclose "$OPEN_N" "$tmp/target" >/dev/null
  ns=$(prog_ns pg_uring_complete)
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  stop_tracer
  results+=("$(printf '%-44s pg_uring_complete %s ns/call over %s requests' \
    "io_uring open non-matching, stable rules" "${ns% *}" "${ns#* }")")
fi

mixed_project
filter_bench "make -j2 + find /usr, stable rules" 1 mixed_run
# The same mixed workload once more with the filter on and once with it off:
# the share of events stopped in the kernel, and the alerts of both; then
# with every official file loaded.
mixed_share() {  # mixed_share LABEL: one run with the filter on
  start_daemon share
  mixed_run >/dev/null
  local top
  top=$(top_crossings)
  stop_tracer
  counts "$tmp/share.err"
  local at=$((judged + lifecycle))
  results+=("$(printf '%-44s %s events at attached programs, %s crossed, %s%% stopped in the kernel, %s alerts' \
    "mixed workload, $1" "$at" "$records" \
    "$(awk -v s="$((at - records))" -v t="$at" 'BEGIN {printf "%.2f", t ? 100 * s / t : 0}')" "$alerts")")
  results+=("$(printf '%-44s %s' "  top rules by crossings" "$top")")
}
if [ -r "$INCUBATING" ] && [ -r "$SANDBOX" ]; then
  daemon_rules=(-r "$STABLE" -r "$INCUBATING" -r "$SANDBOX")
  mixed_share "all three official files"
  daemon_rules=(-r "$STABLE")
fi
# Peregrine's own default ruleset (rules/, what `make run` loads): the
# share it lets the kernel stop, and its alerts on this benign workload
# (there should be none).
daemon_rules=(-r rules)
mixed_share "default ruleset (rules/)"
daemon_rules=(-r "$STABLE")
for mode in filter nofilter; do
  if [ "$mode" = filter ]; then start_daemon "$mode"; else start_daemon "$mode" --no-kernel-filter; fi
  mixed_run >/dev/null
  stop_tracer
  counts "$tmp/$mode.err"
  at_programs=$((judged + lifecycle))
  stopped=$((at_programs - records))
  eval "${mode}_alerts=\$alerts"
  results+=("$(printf '%-44s %s events at attached programs, %s crossed, %s stopped in the kernel (%s%%), %s alerts' \
    "mixed workload, $mode" "$at_programs" "$records" "$stopped" \
    "$(awk -v s="$stopped" -v t="$at_programs" 'BEGIN {printf "%.2f", t ? 100 * s / t : 0}')" "$alerts")")
done
results+=("$(printf '%-44s filter on %s, filter off %s' "mixed workload alerts" "$filter_alerts" "$nofilter_alerts")")

# Engine throughput: record a busy run with Falco's stable rules loaded
# (kernel filter off, so every event is recorded), then replay it (one thread: decode, process table, rule evaluation).
if [ -r "$STABLE" ]; then
  "$PEREGRINE" run -r "$STABLE" -c /dev/null --json --no-kernel-filter --record "$tmp/bench.pgrec" \
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
