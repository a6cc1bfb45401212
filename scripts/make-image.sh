#!/usr/bin/env bash
# `make image`: a container image for Peregrine, built from this tree's
# build and the host's Debian packages only; nothing is pulled. The root
# file system holds the stripped binary (its debug information is kept apart
# in build/peregrine.debug, linked by build id and debuglink: gdb reads it
# with `set debug-file-directory` or beside the binary), the shared libraries `ldd` lists
# (as the Debian packages installed them), the dynamic loader, the CA
# bundle from ca-certificates (for https outputs), the default
# configuration and rules; `podman import` makes it a one-layer image
# FROM scratch. No shell: program_output needs one and is not available
# in this image.
#
#   IMAGE=localhost/peregrine:VERSION (and :latest)
#   entrypoint: /usr/bin/peregrine run   (arguments are appended)
#   mount points: /etc/peregrine (config), /etc/peregrine/rules.d (rules)
#
# The image is rebuilt only when its inputs changed: their digest is a label.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PODMAN=${PODMAN:-podman --runtime runc --cgroup-manager=cgroupfs}
version=$(sed -n 's/.*kVersion = "\(.*\)".*/\1/p' user/version.h)
image=${IMAGE:-localhost/peregrine:$version}
bin=$BUILD/peregrine
[ -x "$bin" ] || { echo "make image: $bin is missing; run make first" >&2; exit 1; }

# The debug information of this binary, outside the image.
debug=$BUILD/peregrine.debug
if ! [ "$debug" -nt "$bin" ]; then
  objcopy --only-keep-debug --compress-debug-sections "$bin" "$debug"
  chmod 0644 "$debug"
fi

digest=$(cat "$bin" scripts/peregrine.yaml rules/*.yaml "$0" | sha256sum | cut -c1-32)
if [ "$($PODMAN image inspect --format '{{index .Labels "org.peregrine.inputs"}}' "$image" 2>/dev/null)" = "$digest" ]; then
  echo "make image: $image is up to date ($($PODMAN image inspect --format '{{.Size}}' "$image") bytes)"
  exit 0
fi

stage=$BUILD/image
root=$stage/root
rm -rf "$stage"
mkdir -p "$root"/{usr/bin,etc/peregrine/rules.d,etc/ssl/certs,tmp,run,proc,sys,dev,host}
chmod 1777 "$root/tmp"

install -m 0755 "$bin" "$root/usr/bin/peregrine"
strip --strip-unneeded "$root/usr/bin/peregrine"
objcopy --add-gnu-debuglink="$debug" "$root/usr/bin/peregrine"
# Every library at the path ldd resolved it to, plus the loader; the
# symlink chains are flattened into files (one copy each).
ldd "$bin" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# Debian is merged-/usr: /lib64 and /lib are links into /usr.
for d in lib lib64; do
  if [ -L "/$d" ] && [ -d "$root/$d" ]; then
    mkdir -p "$root/usr/$d"
    cp -a "$root/$d/." "$root/usr/$d/"
    rm -rf "${root:?}/$d"
    ln -s "usr/$d" "$root/$d"
  fi
done
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
else
  echo "make image: no /etc/ssl/certs/ca-certificates.crt (apt install ca-certificates); https outputs need a ca_file" >&2
fi
install -m 0644 scripts/peregrine.yaml "$root/etc/peregrine/peregrine.yaml"
install -m 0644 rules/*.yaml "$root/etc/peregrine/rules.d/"
printf 'root:x:0:0:root:/:/usr/bin/peregrine\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$stage/rootfs.tar" .
$PODMAN import \
  --change 'ENTRYPOINT ["/usr/bin/peregrine", "run"]' \
  --change 'CMD []' \
  --change 'ENV PATH=/usr/bin' \
  --change 'STOPSIGNAL SIGTERM' \
  --change "LABEL org.peregrine.inputs=$digest" \
  --change "LABEL org.opencontainers.image.title=peregrine" \
  --change "LABEL org.opencontainers.image.version=$version" \
  --quiet "$stage/rootfs.tar" "$image" >/dev/null
$PODMAN tag "$image" "${image%:*}:latest"
rm -rf "$stage"
echo "make image: $image ($($PODMAN image inspect --format '{{.Size}}' "$image") bytes)"
