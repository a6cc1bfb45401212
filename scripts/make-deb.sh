#!/usr/bin/env bash
# `make deb`: build/peregrine_VERSION_ARCH.deb with dpkg-deb from what
# `make install` lays out (PREFIX=/usr). Depends comes from dpkg-shlibdeps:
# the Debian packages of the shared libraries the binary links, at the
# versions it was built against. The configuration and rules are conffiles
# (an upgrade keeps the operator's edits); purge removes them. The binary is
# stripped; its debug information is the package peregrine-dbgsym
# (build/peregrine-dbgsym_VERSION_ARCH.deb: /usr/lib/debug/.build-id/…,
# where gdb finds it), as Debian ships debug symbols.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
version=$(sed -n 's/.*kVersion = "\(.*\)".*/\1/p' user/version.h)
arch=$(dpkg --print-architecture)
stage=$BUILD/deb
root=$stage/root
dbg=$stage/dbgsym
rm -rf "$stage"
mkdir -p "$root/DEBIAN" "$dbg/DEBIAN"

DESTDIR=$root DEBUG_DESTDIR=$dbg PREFIX=/usr OVERWRITE_CONFIG=1 BUILD=$BUILD scripts/install.sh >/dev/null

# dpkg-shlibdeps wants a source tree with debian/control around it.
mkdir -p "$stage/src/debian"
printf 'Source: peregrine\n\nPackage: peregrine\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e "../root/usr/bin/peregrine" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: peregrine
Version: $version
Architecture: $arch
Maintainer: Peregrine developers <peregrine@localhost>
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: https://github.com/peregrine-detect/peregrine
Description: runtime threat detection with eBPF and Falco rules
 Peregrine watches system calls through eBPF programs on per-syscall
 tracepoints and Kubernetes audit events, evaluates Falco-syntax rules and
 raises Falco-compatible alerts. The cheap part of every rule runs in the
 kernel, so only candidate events cross to userspace.
 .
 The service is installed but not started: review
 /etc/peregrine/peregrine.yaml, then systemctl enable --now peregrine.
CONTROL

(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sed -z 's|^\./||' |
  sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"

cat >"$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
SCRIPT
cat >"$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop peregrine.service || true
  systemctl disable peregrine.service >/dev/null 2>&1 || true
fi
exit 0
SCRIPT
cat >"$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # The conffiles go with dpkg; what the daemon made goes here: the
  # configuration directory (with any rules the operator added), its logs
  # and its runtime directory.
  rm -rf /etc/peregrine /var/log/peregrine /run/peregrine
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

out=$BUILD/peregrine_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "make deb: $out ($(du -h "$out" | cut -f1); Depends: $depends)"

# The debug information, for the binary of exactly this package.
cat >"$dbg/DEBIAN/control" <<CONTROL
Package: peregrine-dbgsym
Version: $version
Architecture: $arch
Maintainer: Peregrine developers <peregrine@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$dbg" | cut -f1)
Depends: peregrine (= $version)
Section: debug
Priority: optional
Description: debug symbols for peregrine
 The DWARF debug information of /usr/bin/peregrine, found by gdb through
 the binary's build id.
CONTROL
(cd "$dbg" && find . -path ./DEBIAN -prune -o -type f -print0 | sed -z 's|^\./||' |
  sort -z | xargs -0 md5sum) >"$dbg/DEBIAN/md5sums"
dbg_out=$BUILD/peregrine-dbgsym_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zgzip --build "$dbg" "$dbg_out" >/dev/null
echo "make deb: $dbg_out ($(du -h "$dbg_out" | cut -f1))"
