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
  grep -E '^note: ' "$log_dir/$name.log" | sort -u | sed -E 's/^/  /'
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

# The libFuzzer targets (scripts/fuzz.mk): built with clang, each run a few
# seconds from its seeds. One test per target.
run_fuzz_smoke() {
  echo "=== fuzz smoke"
  if ! command -v clang++ >/dev/null; then
    echo "fuzz smoke: skipped (no clang++)"
    skipped=$((skipped + 6))
    return
  fi
  if ! make --no-print-directory -j"$(nproc)" -f scripts/fuzz.mk build >"$log_dir/fuzz-build.log" 2>&1; then
    tail -30 "$log_dir/fuzz-build.log"
    echo "fuzz smoke: the targets did not build; see $log_dir/fuzz-build.log"
    failed=$((failed + 1))
    return
  fi
  local t log
  for t in condition loader audit_json control config recording; do
    log="$log_dir/fuzz-smoke-$t.log"
    if make --no-print-directory -f scripts/fuzz.mk "smoke-$t" >"$log" 2>&1; then
      grep "^fuzz smoke $t:" "$log"
      passed=$((passed + 1))
    else
      tail -60 "$log"
      echo "fuzz smoke $t: failed; see $log"
      failed=$((failed + 1))
    fi
  done
}

if [ $unit_only -eq 0 ]; then
  run_fuzz_smoke
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
