#!/bin/bash
# Install everything the pvx testbed needs (idempotent; Debian 12, apt only).
#
# - build tools, QEMU, busybox-static, linux-source-6.12 (debug lane source,
#   and the kselftest runner of selftests/guest)
# - linux-headers-<abi> for the stock lane (KDIR=/usr/src/linux-headers-<abi>)
# - linux-image-<abi>-unsigned unpacked (not installed) into
#   $PVX_CACHE/stock-<abi>/ with depmod run there
# The ABI follows linux-source-6.12's apt candidate so that the stock kernel
# and the debug lane's source are the same release.
# Writes $PVX_CACHE/stock.env: KVER KDIR VMLINUZ MODDIR DEBVER.
set -euo pipefail
# shellcheck source=tools/testbed/common.sh
. "$(dirname "$0")/common.sh"

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

apt_updated=0
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		is_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$apt_updated" = 0 ]; then
		tb_log "apt-get update (missing: ${missing[*]})"
		$SUDO apt-get update -qq
		apt_updated=1
	fi
	tb_log "installing: ${missing[*]}"
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_pkgs qemu-system-x86 busybox-static cpio linux-source-6.12 flex bison bc \
	libelf-dev libssl-dev ccache kmod dwarves xz-utils gzip gcc make \
	libc6-dev jq python3 file fio

DEBVER=$(apt-cache policy linux-source-6.12 | awk '/Candidate:/ {print $2}')
[ -n "$DEBVER" ] && [ "$DEBVER" != "(none)" ] || tb_die "no candidate for linux-source-6.12"
# the installed source must be the candidate (an upgrade may be pending)
if [ "$(dpkg-query -W -f='${Version}' linux-source-6.12)" != "$DEBVER" ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "linux-source-6.12=$DEBVER"
fi
ABI=$(tb_abi_from_version "$DEBVER")
tb_log "Debian kernel $DEBVER -> ABI $ABI"

if ! is_installed "linux-headers-$ABI"; then
	ensure_pkgs "linux-headers-$ABI"
fi
KDIR=/usr/src/linux-headers-$ABI
[ -f "$KDIR/Module.symvers" ] || tb_die "$KDIR/Module.symvers missing"

IMGDIR=$PVX_CACHE/stock-$ABI
if [ ! -f "$IMGDIR/.pvx-complete" ]; then
	tb_log "fetching linux-image-$ABI-unsigned=$DEBVER into $IMGDIR"
	tmp=$(mktemp -d "$PVX_CACHE/dl.XXXXXX")
	(cd "$tmp" && apt-get download -qq "linux-image-$ABI-unsigned=$DEBVER") || {
		# the package lists may be stale on a fresh machine
		$SUDO apt-get update -qq
		(cd "$tmp" && apt-get download -qq "linux-image-$ABI-unsigned=$DEBVER")
	}
	rm -rf "$IMGDIR"
	mkdir -p "$IMGDIR"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$IMGDIR"
	rm -rf "$tmp"
	depmod -b "$IMGDIR" "$ABI"
	touch "$IMGDIR/.pvx-complete"
fi
VMLINUZ=$IMGDIR/boot/vmlinuz-$ABI
[ -f "$VMLINUZ" ] || tb_die "$VMLINUZ missing"

cat > "$PVX_CACHE/stock.env.tmp" <<EOT
KVER=$ABI
DEBVER=$DEBVER
KDIR=$KDIR
VMLINUZ=$VMLINUZ
MODDIR=$IMGDIR
EOT
mv "$PVX_CACHE/stock.env.tmp" "$PVX_CACHE/stock.env"
tb_log "stock lane ready: $PVX_CACHE/stock.env"
cat "$PVX_CACHE/stock.env" >&2
