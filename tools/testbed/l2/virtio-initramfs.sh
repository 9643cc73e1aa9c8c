#!/bin/bash
# virtio-initramfs.sh <root>: add the pvx_virtio test to the L2 initramfs
# tree <root>: virtio-test.sh, the stock kernel's virtio_blk and virtio_net
# (with their dependencies) and Debian's fio with its shared libraries, all
# under <root>/virtio except the script and the libraries.
set -euo pipefail
R=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PVX_CACHE=${PVX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvx}
# shellcheck source=/dev/null
. "$PVX_CACHE/stock.env"

install -m 0755 "$HERE/virtio-test.sh" "$R/virtio-test.sh"
mkdir -p "$R/virtio"
for m in failover net_failover virtio_net virtio_blk; do
	f=$(find "$MODDIR/lib/modules/$KVER/kernel" -name "$m.ko*" | head -n1)
	[ -n "$f" ] || { echo "virtio-initramfs: $m.ko not in $MODDIR" >&2; exit 1; }
	case $f in
	*.xz) xz -dc "$f" > "$R/virtio/$m.ko" ;;
	*.zst) zstd -qdc "$f" > "$R/virtio/$m.ko" ;;
	*) cp "$f" "$R/virtio/$m.ko" ;;
	esac
done
if [ -x /usr/bin/fio ]; then
	cp /usr/bin/fio "$R/virtio/fio"
	for lib in $(ldd /usr/bin/fio | grep -oE '/[^ ]+'); do
		[ -e "$R$lib" ] || cp -L --parents "$lib" "$R/"
	done
else
	echo "virtio-initramfs: no /usr/bin/fio (tools/testbed/deps.sh installs it)" >&2
fi
