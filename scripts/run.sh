#!/usr/bin/env bash
# `make run`: start Peregrine in the foreground with the default rules.
# Alerts go to stdout, logs to stderr; Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "make run: Peregrine loads eBPF programs and needs root; try: sudo make run" >&2
  exit 1
fi
# The default config (/etc/peregrine/peregrine.yaml) applies when present.
exec build/peregrine run -r rules "$@"
