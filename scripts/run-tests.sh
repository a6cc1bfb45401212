#!/usr/bin/env bash
# Run every test binary and print one summary line: "N passed, M failed, K skipped".
# Unit tests always run; end-to-end tests need root and BPF and are skipped
# (and counted as skipped, with the reason) where those are missing.
set -uo pipefail
cd "$(dirname "$0")/.."

unit_only=0
[ "${1:-}" = "--unit-only" ] && unit_only=1

passed=0 failed=0 skipped=0
log_dir=build/test-logs
mkdir -p "$log_dir"

# doctest's summary line: "[doctest] test cases: 12 | 11 passed | 1 failed | 0 skipped"
run_suite() {
  local name=$1 bin=$2
  shift 2
  echo "=== $name"
  "$bin" --no-intro=true "$@" >"$log_dir/$name.log" 2>&1
  # Show the failures (with their context), not every passing test's chatter.
  grep -E -B2 -A6 'ERROR|CRASHED' "$log_dir/$name.log" | head -300
  grep -E 'MESSAGE: (storm|bench)' "$log_dir/$name.log" | sed -E 's/.*MESSAGE: /  note: /'
  grep -m1 -E '^note: the official Falco rule files' "$log_dir/$name.log" | sed -E 's/^/  /'
  local line
  line=$(grep -E '^\[doctest\] test cases:' "$log_dir/$name.log" | tail -1)
  if [ -z "$line" ]; then
    echo "$name: no summary (crashed?); see $log_dir/$name.log"
    failed=$((failed + 1))
    return
  fi
  echo "$line"
  local p f s
  p=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$line")
  s=$(sed -E 's/.*\| *([0-9]+) skipped.*/\1/' <<<"$line")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_suite unit-policy build/unit-policy
run_suite unit-user build/unit-user

if [ $unit_only -eq 0 ]; then
  reason=""
  [ "$(id -u)" -eq 0 ] || reason="not running as root"
  [ -z "$reason" ] && [ ! -r /sys/kernel/btf/vmlinux ] && reason="the kernel has no BTF"
  if [ -z "$reason" ] && ! grep -q bpf /proc/filesystems; then reason="the kernel has no BPF filesystem"; fi
  if [ -n "$reason" ]; then
    n=$(build/e2e-tests --count 2>/dev/null | sed -nE 's/.*test cases passing the current filters: ([0-9]+).*/\1/p')
    echo "=== e2e: skipped ($reason; end-to-end tests need root and BPF)"
    skipped=$((skipped + ${n:-0}))
  else
    run_suite e2e build/e2e-tests
  fi
fi

echo
if [ $skipped -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
