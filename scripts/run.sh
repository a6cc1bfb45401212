#!/usr/bin/env bash
# `make run`: start Peregrine in the foreground with the default rules.
#
# Until the rule engine lands (issue 4), the daemon runs in trace mode: it
# captures and prints events without evaluating rules, and raises no alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "make run: Peregrine loads eBPF programs and needs root; try: sudo make run" >&2
  exit 1
fi
echo "peregrine: the rule engine is not built yet; running 'peregrine trace' (events, no alerts)" >&2
exec build/peregrine trace "$@"
