#!/bin/bash
# mk-initramfs.sh <stage> <outdir>: L2 initramfs = busybox + <stage>/l2/*.ko
# + tools/testbed/l2/init, written to <outdir>/initramfs.cpio.gz.
set -euo pipefail
STAGE=$1 OUTD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
R=$OUTD/root
rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,tmp}
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
install -m 0755 "$HERE/init" "$R/init"
if ls "$STAGE"/l2/*.ko > /dev/null 2>&1; then cp "$STAGE"/l2/*.ko "$R/"; fi
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUTD/initramfs.cpio.gz"
rm -rf "$R"
