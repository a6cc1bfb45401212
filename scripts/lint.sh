#!/usr/bin/env bash
# `make lint`: cppcheck and clang-tidy on the C++ files changed relative to
# the merge-base with origin/main (or all files when there is no upstream),
# plus a clang-format check. Exits non-zero on findings.
set -uo pipefail
cd "$(dirname "$0")/.."

base=$(git merge-base HEAD origin/main 2>/dev/null || git rev-list --max-parents=0 HEAD | tail -1)
mapfile -t files < <( (git diff --name-only "$base"; git ls-files --others --exclude-standard) \
  | grep -E '^(user|policy|selftests)/.*\.(cpp|h)$' | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ ${#files[@]} -eq 0 ]; then
  echo "lint: no changed C++ files"
  exit 0
fi
status=0

echo "== clang-format (${#files[@]} files)"
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "  needs formatting: $f (run 'make format')"
    status=1
  fi
done

echo "== cppcheck"
cppcheck --quiet --error-exitcode=1 --std=c++20 --language=c++ \
  --enable=warning,performance,portability --inline-suppr \
  --suppress=missingIncludeSystem --suppress=cppcheckError --suppress=internalAstError -I. -Ibuild/gen "${files[@]}" || status=1

echo "== clang-tidy"
srcs=()
for f in "${files[@]}"; do [[ $f == *.cpp ]] && srcs+=("$f"); done
if [ ${#srcs[@]} -gt 0 ]; then
  clang-tidy --quiet -checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-narrowing-conversions,performance-*,-performance-avoid-endl' \
    --warnings-as-errors='bugprone-use-after-move,bugprone-dangling-handle' "${srcs[@]}" \
    -- -std=c++2b -I. -Ibuild/gen -Wno-unknown-warning-option 2>/dev/null | grep -E 'warning:|error:' || true
fi
exit $status
