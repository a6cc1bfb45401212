#!/usr/bin/env bash
# `make bench`: what Peregrine costs, as ratios against a baseline measured
# in the same run (never absolute times alone: the machines are shared and
# noisy, and single wall-time runs swing by a third).
#
# 1. Tight loops (getppid, open+close of a file no rule names, fork+exec of
#    /bin/true) under each setup: nothing attached, the kernel's floor (a
#    syscall tracepoint enabled through tracefs, no BPF), empty BPF programs
#    on Peregrine's hooks, a cache probe (the least any sound judgement of
#    an open does: the opened file's dentry looked up in a hash map, see
#    scripts/bench/probe.bpf.c), bpftrace with one string filter, auditd
#    with one path rule, and Peregrine with Falco's stable / stable+incubating / all
#    three rule files. Setups are interleaved in ROUNDS rounds (the order
#    rotating); in each round every workload runs REPS short pinned times
#    per setup and keeps its minimum; a setup's figure is the median over
#    rounds of its round minimum divided by that round's baseline.
# 2. bpf_stats per setup: ns per call of each program on the open loop and
#    on a fork+exec storm, the BPF time per spawned process, and the
#    daemon's own CPU per process and per crossed event.
# 3. Workloads with the daemon's CPU counted: redis-benchmark (CPU per
#    request of server + client + daemon) and a mixed build (CPU seconds of
#    make, cc, find and the daemon); the share of the mixed workload's
#    events the kernel stops, and its alerts with the filter on and off.
# 4. Engine replay throughput and the Kubernetes audit webhook under load.
# Plots of 1 and 2 (gnuplot, SVG) and their data go to BENCH_OUT.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
# The system's tools, not a login's shims: a pyenv `python3` is a bash
# script that tries an exec in every PATH directory, and what the bench runs
# between measurements (status queries, bpf_stats snapshots) would count as
# hundreds of events of the workload's.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ROUNDS=${ROUNDS:-5}
REPS=${REPS:-3}
GETPPID_N=${GETPPID_N:-500000}
OPEN_N=${OPEN_N:-50000}
SPAWN_N=${SPAWN_N:-150}
PAIRS=${PAIRS:-5}  # the redis and mixed workloads: interleaved pairs
OUT=${BENCH_OUT:-build/bench}
PEREGRINE=build/peregrine
# The loops run on one CPU (the daemon's reader then mostly on another):
# fewer migrations, steadier runs. BENCH_CPU= (empty) lets them roam.
BENCH_CPU=${BENCH_CPU-1}
loop() { if [ -n "$BENCH_CPU" ]; then taskset -c "$BENCH_CPU" build/bench-loop "$@"; else build/bench-loop "$@"; fi; }
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (attaches eBPF programs)" >&2; exit 1; }

tmp=$(mktemp -d)
mkdir -p "$OUT"
tracer=
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  [ -n "$tracer" ] && kill "$tracer" 2>/dev/null
  [ -n "${FLOOR_EVENT:-}" ] && echo 0 >"$FLOOR_EVENT" 2>/dev/null
  [ -n "${tracing_was:-}" ] && echo "$tracing_was" >"$TRACEFS/tracing_on" 2>/dev/null
  if [ -n "${audit_on:-}" ]; then auditctl -D >/dev/null 2>&1; auditctl -e 0 >/dev/null 2>&1; fi
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  rm -rf "$tmp"
}
trap cleanup EXIT
echo x >"$tmp/target"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b ? a / b : 0}'; }
# CPU time (utime + stime) of a process, in seconds.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU seconds of a shell's waited-for children (cutime + cstime): the
# caller passes its own $BASHPID, taken outside any $(...), which is a
# subshell with a pid of its own.
children_cpu() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }

# wait_ready LOG PID WHAT: until LOG says ready (and a second more: start-up
# work is not what is measured); fails the bench when PID dies first.
wait_ready() {
  for _ in $(seq 600); do
    grep -q "$4" "$1" 2>/dev/null && { sleep 1; return 0; }
    kill -0 "$2" 2>/dev/null || { cat "$1" >&2; echo "bench: $3 did not start" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench: $3 did not become ready" >&2
  exit 1
}

# ---- the setups -------------------------------------------------------------
RULES_DIR=${FALCO_RULES:-../shared/falco-rules}
STABLE=$RULES_DIR/falco_rules.yaml
INCUBATING=$RULES_DIR/falco-incubating_rules.yaml
SANDBOX=$RULES_DIR/falco-sandbox_rules.yaml
[ -r "$STABLE" ] || { echo "bench: Falco's rule files are not in $RULES_DIR (set FALCO_RULES)" >&2; exit 1; }

TRACEFS=/sys/kernel/tracing
[ -d "$TRACEFS/events/syscalls" ] || TRACEFS=/sys/kernel/debug/tracing
# The floor: with any syscall tracepoint enabled, every syscall of every
# task takes the kernel's syscall-tracing path, whoever listens. One the
# loops never make, tracing off so nothing is written.
FLOOR_EVENT=$TRACEFS/events/syscalls/sys_exit_vhangup/enable

# start_daemon LOGNAME ARGS...: `peregrine run` with ARGS, the kernel filter on
start_daemon() {
  local log=$1
  shift
  "$PEREGRINE" run -c /dev/null --json "$@" >"$tmp/$log.out" 2>"$tmp/$log.err" &
  tracer=$!
  wait_ready "$tmp/$log.err" "$tracer" "peregrine run" ready
}
stop_tracer() {
  [ -n "$tracer" ] || return 0
  kill -TERM "$tracer"
  wait "$tracer" || true
  tracer=
}

# Each setup: NAME|program-name prefixes for bpf_stats (- for none). The
# functions setup_start/setup_stop switch on NAME; setup_pid is the
# process whose CPU is the setup's own (the daemon), if any.
SETUPS=(
  "baseline|-"
  "floor|-"
  "empty program|empty_"
  "cache probe|probe_"
  "bpftrace|sys_"
  "auditd|-"
  "stable|pg_"
)
if [ -r "$INCUBATING" ] && [ -r "$SANDBOX" ]; then
  SETUPS+=("stable+incubating|pg_" "all three files|pg_")
else
  echo "bench: incubating or sandbox rules absent in $RULES_DIR: those setups skipped" >&2
fi
command -v bpftrace >/dev/null || echo "bench: bpftrace not installed: setup skipped" >&2
# The auditd setup owns the kernel's audit state while it runs: it is
# skipped on a host whose audit is in use, which the bench must not touch.
audit_free() {
  ! pgrep -x auditd >/dev/null && auditctl -s 2>/dev/null | grep -qx 'enabled 0' &&
    [ "$(auditctl -l 2>/dev/null)" = "No rules" ]
}
if ! command -v auditctl >/dev/null || ! command -v auditd >/dev/null; then
  echo "bench: auditd not installed: setup skipped" >&2
elif ! audit_free; then
  echo "bench: this host's audit is in use (auditd running, rules or auditing on): auditd setup skipped" >&2
fi
setup_ok() {
  case $1 in
    floor) [ -w "$FLOOR_EVENT" ] ;;
    bpftrace) command -v bpftrace >/dev/null ;;
    auditd) command -v auditctl >/dev/null && command -v auditd >/dev/null && audit_free ;;
    *) true ;;
  esac
}
setup_pid=
setup_start() {
  setup_pid=
  case $1 in
    baseline) ;;
    floor)
      tracing_was=$(cat "$TRACEFS/tracing_on")
      echo 0 >"$TRACEFS/tracing_on"; echo 1 >"$FLOOR_EVENT" ;;
    "empty program")
      build/bench-attach build/bench/empty.bpf.o 2>"$tmp/empty.err" &
      tracer=$!; setup_pid=$tracer
      wait_ready "$tmp/empty.err" "$tracer" "the empty programs" ready ;;
    "cache probe")
      build/bench-attach build/bench/probe.bpf.o 2>"$tmp/probe.err" &
      tracer=$!; setup_pid=$tracer
      wait_ready "$tmp/probe.err" "$tracer" "the cache probe" ready ;;
    bpftrace)
      # One string filter, as a single-rule tool would have: opens of /etc/shadow.
      bpftrace -e 'tracepoint:syscalls:sys_enter_openat /str(args->filename) == "/etc/shadow"/ { printf("%s %d\n", comm, pid); }' \
        >"$tmp/bpftrace.out" 2>&1 &
      tracer=$!; setup_pid=$tracer
      wait_ready "$tmp/bpftrace.out" "$tracer" bpftrace Attaching ;;
    auditd)
      auditd -n >/dev/null 2>"$tmp/auditd.err" &
      tracer=$!; setup_pid=$tracer; audit_on=1
      sleep 0.5
      auditctl -D >/dev/null; auditctl -w /etc/shadow -p r -k pg_bench >/dev/null; auditctl -e 1 >/dev/null ;;
    stable) start_daemon setup -r "$STABLE"; setup_pid=$tracer ;;
    stable+incubating) start_daemon setup -r "$STABLE" -r "$INCUBATING"; setup_pid=$tracer ;;
    "all three files") start_daemon setup -r "$STABLE" -r "$INCUBATING" -r "$SANDBOX"; setup_pid=$tracer ;;
  esac
}
setup_stop() {
  case $1 in
    floor) echo 0 >"$FLOOR_EVENT"; echo "$tracing_was" >"$TRACEFS/tracing_on" ;;
    auditd) auditctl -D >/dev/null; auditctl -e 0 >/dev/null; audit_on=; stop_tracer ;;
    baseline) ;;
    *) stop_tracer ;;
  esac
}

WORKLOADS=("getppid|getppid $GETPPID_N"
  "open+close|openclose $OPEN_N $tmp/target"
  "fork+exec|spawn $SPAWN_N /bin/true")

# ---- 1. tight loops, setups interleaved in rounds ---------------------------
echo "== tight loops: $ROUNDS rounds, each workload the minimum of $REPS runs per setup"
declare -A best base_ns ratios
n_setups=${#SETUPS[@]}
for r in $(seq "$ROUNDS"); do
  for k in $(seq 0 $((n_setups - 1))); do
    # Rotate the order each round; the baseline always first, so each
    # round's ratios divide by a baseline of that round.
    if [ "$k" -eq 0 ]; then idx=0; else idx=$(( (k - 1 + r) % (n_setups - 1) + 1 )); fi
    name=${SETUPS[$idx]%%|*}
    setup_ok "$name" || continue
    setup_start "$name"
    line=""
    for w in "${WORKLOADS[@]}"; do
      wname=${w%%|*}
      read -ra args <<<"${w#*|}"
      m=
      for _ in $(seq "$REPS"); do
        v=$(loop "${args[@]}")
        m=$(awk -v a="$v" -v b="${m:-$v}" 'BEGIN {print (a < b) ? a : b}')
      done
      if [ "$name" = baseline ]; then
        base_ns[$wname]=$m
      else
        ratios[$name|$wname]+="$(ratio "$m" "${base_ns[$wname]}") "
      fi
      best[$name|$wname]=$(awk -v a="$m" -v b="${best[$name|$wname]:-$m}" 'BEGIN {print (a < b) ? a : b}')
      line+=$(printf ' %s %s ns' "$wname" "$m")
    done
    setup_stop "$name"
    printf '  round %d %-18s%s\n' "$r" "$name" "$line"
  done
done

results=()
: >"$OUT/overhead.dat"
header=$(printf '%-20s' setup)
for w in "${WORKLOADS[@]}"; do header+=$(printf ' %24s' "${w%%|*}"); done
results+=("tight loops: median over $ROUNDS rounds of (setup minimum / baseline minimum); best ns per iteration in brackets")
results+=("$header")
for s in "${SETUPS[@]}"; do
  name=${s%%|*}
  setup_ok "$name" || { results+=("$(printf '%-20s skipped' "$name")"); continue; }
  row=$(printf '%-20s' "$name")
  dat="\"$name\""
  for w in "${WORKLOADS[@]}"; do
    wname=${w%%|*}
    if [ "$name" = baseline ]; then
      med=1.000
    else
      med=$(printf '%s\n' ${ratios[$name|$wname]} | median)
    fi
    row+=$(printf ' %24s' "$(printf '%.3f (%s)' "$med" "${best[$name|$wname]}")")
    dat+=" $med"
  done
  results+=("$row")
  echo "$dat" >>"$OUT/overhead.dat"
done

# ---- 2. bpf_stats per setup --------------------------------------------------
# One pass per setup with BPF programs: run_time_ns / run_cnt of each of the
# setup's programs over the open loop and over a fork+exec storm, and the
# setup's own process CPU over the storm.
STORM_N=${STORM_N:-1000}
# The running daemon's three rules the kernel let the most events through
# for (`peregrine status`: passed the kernel, then matched in userspace).
top_crossings() {
  "$PEREGRINE" status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("; ".join("%s: %d passed, %d matched" % (c["rule"], c["kernel_passed"], c["matches"])
                for c in s.get("kernel_crossings", [])[:3]) or "none")' 2>/dev/null || echo "?"
}
received() {  # records the running daemon has received (0 for other setups)
  [ "$prefix" = pg_ ] || { echo 0; return; }
  "$PEREGRINE" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["events"]["received"])'
}
results+=("" "bpf_stats: ns per call (open loop of $OPEN_N; fork+exec storm of $STORM_N); BPF and daemon CPU per spawned process")
: >"$OUT/bpf.dat"
for s in "${SETUPS[@]}"; do
  name=${s%%|*} prefix=${s#*|}
  [ "$prefix" != - ] && setup_ok "$name" || continue
  setup_start "$name"
  sysctl -qw kernel.bpf_stats_enabled=1
  scripts/bench/progstats.py snap "$tmp/s0"
  loop openclose "$OPEN_N" "$tmp/target" >/dev/null
  scripts/bench/progstats.py snap "$tmp/s1"
  rec0=$(received)
  cpu0=$(cpu_of "$setup_pid")
  scripts/bench/progstats.py snap "$tmp/s2"
  loop spawn "$STORM_N" /bin/true >/dev/null
  scripts/bench/progstats.py snap "$tmp/s3"
  # The daemon reads the ring at least every 10 ms: let it drain.
  sleep 0.2
  cpu1=$(cpu_of "$setup_pid")
  rec1=$(received)
  top=
  [ "$prefix" = pg_ ] && top=$(top_crossings)
  sysctl -qw kernel.bpf_stats_enabled=0
  setup_stop "$name"
  open_stats=$(scripts/bench/progstats.py delta "$tmp/s0" "$tmp/s1" "$prefix")
  storm_stats=$(scripts/bench/progstats.py delta "$tmp/s2" "$tmp/s3" "$prefix")
  open_prog=$(awk '$1 != "total" && $2 >= '"$OPEN_N"' {printf "%s %s ns/call; ", $1, $3}' <<<"$open_stats")
  storm_progs=$(awk '$1 != "total" && $2 > 0 {printf "%s %s ns (%s calls); ", $1, $3, $2}' <<<"$storm_stats")
  storm_total=$(awk '$1 == "total" {print $2}' <<<"$storm_stats")
  per_proc_us=$(awk -v t="$storm_total" -v n="$STORM_N" 'BEGIN {printf "%.1f", t / n / 1000}')
  cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$STORM_N" 'BEGIN {printf "%.0f", (b - a) * 1e6 / n}')
  crossed=$((rec1 - rec0))
  per_cross=$(awk -v a="$cpu0" -v b="$cpu1" -v c="$crossed" 'BEGIN {printf "%.1f", c ? (b - a) * 1e6 / c : 0}')
  results+=("$(printf '%-20s open loop: %s' "$name" "${open_prog:-no program ran per open}")")
  results+=("$(printf '%-20s storm: %s' "" "$storm_progs")")
  results+=("$(printf '%-20s storm: %s us of BPF per process; own CPU %s us per process%s' "" "$per_proc_us" "$cpu_us" \
    "$([ "$prefix" = pg_ ] && printf '; %d records crossed (%s us of daemon CPU each)' "$crossed" "$per_cross")")")
  [ -n "$top" ] && results+=("$(printf '%-20s top rules by crossings: %s' "" "$top")")
  # Plot data: the open program, exec, fork, exit ns per call.
  pick() { awk -v p="$1" '$1 ~ p {v = $3} END {print v == "" ? "-" : v}' <<<"$2"; }
  printf '"%s" %s %s %s %s\n' "$name" "$(pick 'exit_openat$|sys_enter_opena' "$open_stats")" \
    "$(pick 'exec$' "$storm_stats")" "$(pick 'fork$' "$storm_stats")" "$(pick '(^pg|_)exit$' "$storm_stats")" >>"$OUT/bpf.dat"
done

# ---- 3. workloads with the daemon's CPU counted ----------------------------
# pair_bench NAME LOWER_IS_BETTER COMMAND...: interleaved pairs of no daemon
# and `peregrine run` with the stable rules; COMMAND prints "METRIC CPU",
# CPU in seconds of the workload's processes; the daemon's own CPU over the
# command is added.
daemon_rules=(-r "$STABLE")
counts() {  # from a daemon's exit log
  local err=$1
  judged=$(sed -nE 's/.*: ([0-9]+) events judged, ([0-9]+) passed.*/\1/p' "$err")
  passed=$(sed -nE 's/.*: ([0-9]+) events judged, ([0-9]+) passed.*/\2/p' "$err")
  records=$(sed -nE 's/.*stopped: ([0-9]+) records received.*/\1/p' "$err")
  lifecycle=$(sed -nE 's/.*; ([0-9]+) exec\/fork\/exit events, ([0-9]+) sent.*/\1/p' "$err")
  alerts=$(grep -c '"rule"' "${err%.err}.out" || true)
}
run_measured() {  # prints "METRIC CPU" with the daemon's CPU over the run added
  local d0 out
  d0=$([ -n "$tracer" ] && cpu_of "$tracer" || echo 0)
  out=$("$@")
  local d1
  d1=$([ -n "$tracer" ] && cpu_of "$tracer" || echo 0)
  awk -v o="$out" -v a="$d0" -v b="$d1" 'BEGIN {split(o, f, " "); printf "%s %.2f", f[1], f[2] + b - a}'
}
pair_bench() {
  local name=$1 lower=$2
  shift 2
  local wall=() cpu=() base with
  for i in $(seq "$PAIRS"); do
    if [ $((i % 2)) -eq 1 ]; then
      base=$(run_measured "$@")
      start_daemon pair "${daemon_rules[@]}"; with=$(run_measured "$@"); stop_tracer
    else
      start_daemon pair "${daemon_rules[@]}"; with=$(run_measured "$@"); stop_tracer
      base=$(run_measured "$@")
    fi
    wall+=("$(ratio "${with% *}" "${base% *}")")
    cpu+=("$(ratio "${with#* }" "${base#* }")")
    counts "$tmp/pair.err"
    printf '  %-34s pair %d: baseline %s, with peregrine %s (metric, CPU s); judged %s, passed %s, records %s\n' \
      "$name" "$i" "$base" "$with" "$judged" "$passed" "$records"
  done
  results+=("$(printf '%-44s %s ratio %s, CPU (workload + daemon) ratio %s (medians of %d pairs)' "$name" \
    "$([ "$lower" = 1 ] && echo "time" || echo "throughput")" \
    "$(printf '%s\n' "${wall[@]}" | median)" "$(printf '%s\n' "${cpu[@]}" | median)" "$PAIRS")")
}
results+=("" "workloads, Falco's stable rules, kernel filter on")

# The redis workload: a private redis-server on loopback. Prints requests/s
# and the CPU seconds of server and client for its requests.
REDIS_PORT=${REDIS_PORT:-6390}
REDIS_N=${REDIS_N:-200000}
redis_run() {
  local s0 s1 rps c0 me=$BASHPID
  s0=$(cpu_of "$redis_pid")
  c0=$(children_cpu "$me")
  rps=$(redis-benchmark -p "$REDIS_PORT" -q -n "$REDIS_N" -t set,get -P 1 --csv 2>/dev/null |
    awk -F'"' '/^"(SET|GET)"/ {s += $4; n++} END {printf "%.0f", s / n}')
  s1=$(cpu_of "$redis_pid")
  awk -v r="$rps" -v a="$s0" -v b="$s1" -v c0="$c0" -v c1="$(children_cpu "$me")" 'BEGIN {printf "%s %.2f", r, b - a + c1 - c0}'
}
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no >/dev/null 2>&1 &
  redis_pid=$!
  sleep 0.5
  pair_bench "redis-benchmark set/get" 0 redis_run
  kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
else
  results+=("redis-benchmark: skipped (apt-get install redis-server redis-tools)")
fi

# The mixed workload: compile a generated C project with make -j2 while
# find walks /usr; prints wall seconds and the CPU seconds of make, the
# compilers and find.
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
mixed_run() (
  make -s -C "$tmp/proj" clean >/dev/null 2>&1 || rm -f "$tmp/proj"/*.o "$tmp/proj/prog"
  t0=$(date +%s.%N)
  find /usr -xdev >/dev/null 2>&1 &
  fp=$!
  # A build that fails would time nothing: stop the benchmark instead.
  make -s -j2 -C "$tmp/proj" prog >/dev/null 2>"$tmp/proj.err" ||
    { echo "bench: the mixed workload's build failed:" >&2; cat "$tmp/proj.err" >&2; exit 1; }
  wait "$fp" || true
  t1=$(date +%s.%N)
  # This subshell's waited-for children: make (with the compilers) and find.
  me=$BASHPID
  awk -v a="$t0" -v b="$t1" -v c="$(children_cpu "$me")" 'BEGIN {printf "%.3f %s", b - a, c}'
)
mixed_project
pair_bench "make -j2 + find /usr" 1 mixed_run

# io_uring (kern/uring.bpf.c): the same non-matching open made as an
# IORING_OP_OPENAT request, with the stable rules: the program on
# io_uring_complete per request (bpf_stats, the open program it tail-calls
# included).
start_daemon uring -r "$STABLE"
sysctl -qw kernel.bpf_stats_enabled=1
scripts/bench/progstats.py snap "$tmp/u0"
loop uring-openclose "$OPEN_N" "$tmp/target" >/dev/null
scripts/bench/progstats.py snap "$tmp/u1"
sysctl -qw kernel.bpf_stats_enabled=0
stop_tracer
results+=("$(printf '%-44s %s' "io_uring open non-matching, stable rules" \
  "$(scripts/bench/progstats.py delta "$tmp/u0" "$tmp/u1" pg_uring_complete | awk '$1 != "total" {printf "%s %s ns/call over %s requests", $1, $3, $2}')")")

# The share of the mixed workload's events the kernel stops, with the
# filter on; with every official file, and with Peregrine's own rules
# (rules/, what `make run` loads; on this benign workload they should not
# alert). With the stable rules once more with the filter off: the alerts
# must be the same.
# The kernel's counters of the running daemon, summed over CPUs from the
# pinned maps: "judged passed lifecycle sent" (as the daemon logs at exit).
# Read right after the workload: what the bench itself runs afterwards
# (`peregrine status`, python) is not the workload's.
kernel_counts() {
  local m
  for m in pg_fstats pg_flc; do
    bpftool -j map dump pinned "/sys/fs/bpf/peregrine/$m" | python3 -c '
import json, sys
s = p = 0
for e in json.load(sys.stdin):
    for v in e.get("formatted", e)["values"]:
        s += v["value"]["seen"]
        p += v["value"]["passed"]
print(s, p, end=" ")'
  done
}
mixed_share() {  # mixed_share LABEL MODE RULE-ARGS...
  local label=$1 mode=$2
  shift 2
  if [ "$mode" = filter ]; then start_daemon share "$@"; else start_daemon share "$@" --no-kernel-filter; fi
  mixed_run >/dev/null
  local top
  read -r judged passed lifecycle sent <<<"$(kernel_counts)"
  records=$((passed + sent))
  top=$(top_crossings)
  stop_tracer
  alerts=$(grep -c '"rule"' "$tmp/share.out" || true)
  local at=$((judged + lifecycle))
  results+=("$(printf '%-44s %s events at attached programs, %s crossed, %s%% stopped in the kernel, %s alerts' \
    "mixed workload, $label" "$at" "$records" \
    "$(awk -v s="$((at - records))" -v t="$at" 'BEGIN {printf "%.2f", t ? 100 * s / t : 0}')" "$alerts")")
  [ "$mode" = filter ] && results+=("$(printf '%-44s %s' "  top rules by crossings" "$top")")
  share_alerts=$alerts
}
results+=("")
if [ -r "$INCUBATING" ] && [ -r "$SANDBOX" ]; then
  mixed_share "all three official files" filter -r "$STABLE" -r "$INCUBATING" -r "$SANDBOX"
fi
mixed_share "default ruleset (rules/)" filter -r rules
mixed_share "stable rules, filter on" filter -r "$STABLE"
on=$share_alerts
mixed_share "stable rules, filter off" nofilter -r "$STABLE"
results+=("$(printf '%-44s filter on %s, filter off %s' "mixed workload alerts, stable rules" "$on" "$share_alerts")")

# ---- 4. engine throughput and the audit webhook ------------------------------
# Record a busy run with the stable rules (kernel filter off, so every
# event is recorded), then replay it (one thread: decode, process table,
# rule evaluation).
"$PEREGRINE" run -r "$STABLE" -c /dev/null --json --no-kernel-filter --record "$tmp/bench.pgrec" \
  >/dev/null 2>"$tmp/record.err" &
tracer=$!
wait_ready "$tmp/record.err" "$tracer" "peregrine run --record" ready
loop openclose "$OPEN_N" "$tmp/target" >/dev/null
find /usr -xdev >/dev/null 2>&1 || true
loop openclose "$OPEN_N" /etc/hostname >/dev/null
stop_tracer
best_rate=0
for _ in 1 2 3; do
  "$PEREGRINE" replay -r "$STABLE" -c /dev/null --json "$tmp/bench.pgrec" >/dev/null 2>"$tmp/replay.err"
  rate=$(sed -nE 's/.*\(([0-9]+) events\/s.*/\1/p' "$tmp/replay.err")
  events=$(sed -nE 's/.*replayed ([0-9]+) events.*/\1/p' "$tmp/replay.err")
  [ "${rate:-0}" -gt "$best_rate" ] && best_rate=$rate
done
results+=("" "$(printf '%-44s %s events/s (best of 3; %s events, stable rules)' "replay throughput, one thread" "$best_rate" "$events")")

# Kubernetes audit webhook under load (no BPF; see the script).
audit_line=$(scripts/bench/audit-webhook.sh) || audit_line="$audit_line  FAILED: events lost or refused"
results+=("$audit_line")

# ---- plots -------------------------------------------------------------------
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal svg size 1100,440 dynamic font "sans,12"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top left
set grid ytics
set xtics nomirror font ",10"
set output "$OUT/overhead.svg"
set title "make bench: time per iteration, ratio to no tracing (median of $ROUNDS rounds)"
set ylabel "ratio to baseline"
plot "$OUT/overhead.dat" using 2:xtic(1) title "getppid", '' using 3 title "open+close (no rule names the file)", '' using 4 title "fork+exec /bin/true"
set output "$OUT/bpf-ns.svg"
set title "bpf\\\\_stats: ns per program call"
set ylabel "ns per call"
set logscale y
set datafile missing "-"
plot "$OUT/bpf.dat" using 2:xtic(1) title "open", '' using 3 title "exec", '' using 4 title "fork", '' using 5 title "exit"
EOF
  results+=("" "plots: $OUT/overhead.svg, $OUT/bpf-ns.svg")
else
  results+=("" "plots: skipped (apt-get install gnuplot-nox)")
fi

echo
echo "== make bench results"
printf '%s\n' "${results[@]}" | tee "$OUT/results.txt"
