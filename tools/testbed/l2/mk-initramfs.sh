#!/bin/bash
# mk-initramfs.sh <stage> <outdir>: L2 initramfs = busybox + <stage>/l2/*.ko
# + the guest kselftests in <stage>/l2/kselftest + tools/testbed/l2/init,
# written to <outdir>/initramfs.cpio.gz.
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
install -m 0755 "$HERE/life-test.sh" "$R/life-test.sh"
install -m 0644 "$HERE/ack.sh" "$R/ack.sh"
install -m 0644 "$HERE/tick-lib.sh" "$R/tick-lib.sh"
install -m 0755 "$HERE/migrate-test.sh" "$R/migrate-test.sh"
if ls "$STAGE"/l2/*.ko > /dev/null 2>&1; then cp "$STAGE"/l2/*.ko "$R/"; fi
# The guest kselftests (make -C selftests/guest install), run by /init.
if [ -d "$STAGE/l2/kselftest" ]; then
	cp -a "$STAGE/l2/kselftest" "$R/kselftest"
	# kselftest's runner enforces its per-test timeout only through
	# /usr/bin/timeout, with coreutils' options (--foreground, exit 124),
	# which busybox's timeout lacks: take coreutils' and its libraries.
	mkdir -p "$R/usr/bin"
	cp /usr/bin/timeout "$R/usr/bin/"
	for lib in $(ldd /usr/bin/timeout | grep -oE '/[^ ]+'); do
		cp -L --parents "$lib" "$R/"
	done
fi
"$HERE/virtio-initramfs.sh" "$R"	# the pvx_virtio test
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUTD/initramfs.cpio.gz"
rm -rf "$R"
