#!/usr/bin/env bash
# Webhook load for `make bench` (also runnable alone, no root needed):
# `peregrine run` with Falco's audit rules only (so no BPF program is
# loaded), bench-audit-load posting EventLists at RATE events/s for SECONDS
# on loopback, the daemon's RSS sampled every second. Prints one result line:
# events sent / acknowledged / evaluated by the daemon, lost, alerts and
# their losses, RSS at start / peak / end.
set -euo pipefail
cd "$(dirname "$0")/../.."

RATE=${AUDIT_RATE:-10000}
SECONDS_=${AUDIT_SECONDS:-30}
BATCH=${AUDIT_BATCH:-50}
PEREGRINE=build/peregrine
LOAD=build/bench-audit-load
RULES=../shared/falco-rules/k8s_audit_rules.yaml
[ -r "$RULES" ] || { echo "audit bench: $RULES not found; skipped" >&2; exit 0; }

tmp=$(mktemp -d)
daemon=
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$PEREGRINE" run -c /dev/null -r "$RULES" --json -o k8s_audit.enabled=true \
  -o k8s_audit.address=127.0.0.1 -o k8s_audit.port="$port" >"$tmp/alerts.json" 2>"$tmp/daemon.err" &
daemon=$!
for _ in $(seq 200); do grep -q ready "$tmp/daemon.err" && break; sleep 0.05; done
grep -q ready "$tmp/daemon.err" || { cat "$tmp/daemon.err" >&2; exit 1; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }
rss_start=$(rss)
( while kill -0 "$daemon" 2>/dev/null; do rss >>"$tmp/rss" 2>/dev/null || true; sleep 1; done ) &
sampler=$!

load=$("$LOAD" "$port" "$RATE" "$SECONDS_" "$BATCH") || true
rss_end=$(rss)
kill -TERM "$daemon"
wait "$daemon" || true
daemon=
wait "$sampler" 2>/dev/null || true
rss_peak=$(sort -n "$tmp/rss" | tail -1)

sent=$(sed -nE 's/.*sent=([0-9]+).*/\1/p' <<<"$load")
acked=$(sed -nE 's/.*acked=([0-9]+).*/\1/p' <<<"$load")
achieved=$(sed -nE 's/.* rate=([0-9]+).*/\1/p' <<<"$load")
p99=$(sed -nE 's/.*p99_ms=([0-9.]+).*/\1/p' <<<"$load")
evaluated=$(sed -nE 's/.*k8s_audit: [0-9]+ requests, ([0-9]+) events.*/\1/p' "$tmp/daemon.err")
rejected=$(sed -nE 's/.*rejected: ([0-9]+) malformed \(400\), ([0-9]+) unauthorized \(401\), ([0-9]+) too large \(413\), ([0-9]+) wrong.*/\1+\2+\3+\4/p' "$tmp/daemon.err")
alerts=$(wc -l <"$tmp/alerts.json")
alerts_lost=$(sed -nE 's/.*alerts queued, ([0-9]+) lost in outputs.*/\1/p' "$tmp/daemon.err")
lost=$((sent - ${evaluated:-0}))
echo "  audit webhook load: $load" >&2
printf '%-44s %s of %s events evaluated (%s lost; %s events/s achieved for %s s, batches of %s, p99 %s ms); %s alerts (%s lost); RSS %s kB start, %s kB peak, %s kB end\n' \
  "k8s audit webhook, ${RATE} events/s" "${evaluated:-0}" "$sent" "$lost" "$achieved" "$SECONDS_" "$BATCH" \
  "$p99" "$alerts" "${alerts_lost:-?}" "$rss_start" "$rss_peak" "$rss_end"
[ "$lost" -eq 0 ] && [ "$acked" -eq "$sent" ] && [ "$((rejected))" -eq 0 ]
