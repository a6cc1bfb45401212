#!/usr/bin/env bash
# `make install`: the stripped binary (its debug information in a file of
# its own, found by gdb through the build id), the systemd unit, the default
# configuration and rules. PREFIX (default /usr/local) places the binary
# and the unit; the configuration always goes to /etc/peregrine, where the
# binary looks for it (-c and rules_files say otherwise). DESTDIR stages the
# whole tree elsewhere (packaging).
#
#   $DESTDIR$PREFIX/bin/peregrine
#   $DESTDIR$PREFIX/lib/systemd/system/peregrine.service
#   $DESTDIR/etc/peregrine/peregrine.yaml
#   $DESTDIR/etc/peregrine/rules.d/*.yaml (every file of rules/)
#   $DESTDIR$PREFIX/share/doc/peregrine/{README.md,deploy.md}
#   $DEBUG_DESTDIR$DEBUGDIR/.build-id/NN/NNNN….debug  (DEBUGDIR: /usr/lib/debug,
#     where gdb looks; DEBUG_DESTDIR defaults to DESTDIR; `make deb` puts it
#     in a package of its own)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
STRIP=${STRIP:-strip}
OBJCOPY=${OBJCOPY:-objcopy}
DEBUGDIR=${DEBUGDIR:-/usr/lib/debug}
DEBUG_DESTDIR=${DEBUG_DESTDIR-$DESTDIR}
# Existing configuration is kept unless OVERWRITE_CONFIG=1: `make install`
# over a configured host must not undo the operator's edits.
OVERWRITE_CONFIG=${OVERWRITE_CONFIG:-0}

bin=$DESTDIR$PREFIX/bin
unit=$DESTDIR$PREFIX/lib/systemd/system
etc=$DESTDIR/etc/peregrine
doc=$DESTDIR$PREFIX/share/doc/peregrine

[ -x "$BUILD/peregrine" ] || { echo "install: $BUILD/peregrine is missing; run make first" >&2; exit 1; }

install -d -m 0755 "$bin" "$unit" "$etc" "$etc/rules.d" "$doc"
# build/peregrine keeps its symbols (tests and debugging); what is installed
# is stripped, and the debug information goes to the build-id path.
build_id=$(readelf -n "$BUILD/peregrine" | sed -n 's/^ *Build ID: *//p')
[ -n "$build_id" ] || { echo "install: $BUILD/peregrine has no build id (link with --build-id)" >&2; exit 1; }
debug=$DEBUG_DESTDIR$DEBUGDIR/.build-id/${build_id:0:2}/${build_id:2}.debug
install -d -m 0755 "$(dirname "$debug")"
"$OBJCOPY" --only-keep-debug --compress-debug-sections "$BUILD/peregrine" "$debug"
chmod 0644 "$debug"
install -m 0755 "$BUILD/peregrine" "$bin/peregrine"
"$STRIP" --strip-unneeded "$bin/peregrine"
"$OBJCOPY" --add-gnu-debuglink="$debug" "$bin/peregrine"
sed "s|@BINDIR@|$PREFIX/bin|g" deploy/systemd/peregrine.service.in >"$unit/peregrine.service"
chmod 0644 "$unit/peregrine.service"

conf() {  # conf SRC DST: install unless present (or OVERWRITE_CONFIG=1)
  if [ -e "$2" ] && [ "$OVERWRITE_CONFIG" != 1 ]; then
    echo "install: keeping the existing $2"
  else
    install -m 0644 "$1" "$2"
  fi
}
conf scripts/peregrine.yaml "$etc/peregrine.yaml"
for r in rules/*.yaml; do conf "$r" "$etc/rules.d/$(basename "$r")"; done
install -m 0644 README.md docs/deploy.md "$doc/"
echo "install: peregrine in $bin, its debug information in $debug, configuration in $etc"
