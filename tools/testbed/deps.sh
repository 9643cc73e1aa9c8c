#!/bin/bash
# Install everything the pvx testbed needs (idempotent; Debian 12, apt only).
#
# - build tools, QEMU, busybox-static, linux-source-6.12 (debug lane source,
#   and the kselftest runner of selftests/guest), the packaging tools
# - linux-headers-<abi> for the stock lane (KDIR=/usr/src/linux-headers-<abi>)
# - linux-image-<abi>-unsigned unpacked (not installed) into
#   $PVX_CACHE/stock-<abi>/ with depmod run there
# - bookworm-backports' QEMU unpacked (not installed) into
#   $PVX_CACHE/qemu-bpo/, the QEMU that runs L1 ($PVX_CACHE/qemu.env)
# The ABI follows linux-source-6.12's apt candidate so that the stock kernel
# and the debug lane's source are the same release.
# Writes $PVX_CACHE/stock.env: KVER KDIR VMLINUZ MODDIR DEBVER; the same
# for Debian 12's 6.1 in stock61.env with --stock61 (or PVX_LANES=stock61),
# and for trixie-backports' 7.3 in stock73.env with --stock73 (or
# PVX_LANES=stock73), which also names the gcc-14 build root (BUILDROOT).
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

# debhelper, dh-dkms (its own package on Debian 12), dkms, lintian,
# fakeroot: make deb and tools/packaging-test.sh.
ensure_pkgs qemu-system-x86 busybox-static cpio linux-source-6.12 flex bison bc \
	libelf-dev libssl-dev ccache kmod dwarves xz-utils gzip gcc make \
	libc6-dev libjson-c-dev jq python3 python3-docutils python3-matplotlib \
	file fio \
	debhelper dh-dkms dkms lintian fakeroot

DEBVER=$(apt-cache policy linux-source-6.12 | awk '/Candidate:/ {print $2}')
[ -n "$DEBVER" ] && [ "$DEBVER" != "(none)" ] || tb_die "no candidate for linux-source-6.12"
# the installed source must be the candidate (an upgrade may be pending)
if [ "$(dpkg-query -W -f='${Version}' linux-source-6.12)" != "$DEBVER" ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "linux-source-6.12=$DEBVER"
fi
ABI=$(tb_abi_from_version "$DEBVER")
tb_log "Debian kernel $DEBVER -> ABI $ABI"

# stock_lane LANE ABI DEBVER: Debian's linux-headers-ABI installed (KDIR),
# linux-image-ABI-unsigned=DEBVER unpacked into $PVX_CACHE/stock-ABI/ with
# depmod run there, and $PVX_CACHE/LANE.env written.
stock_lane() {
	local lane=$1 abi=$2 debver=$3 kdir imgdir tmp vmlinuz

	if ! is_installed "linux-headers-$abi"; then
		ensure_pkgs "linux-headers-$abi"
	fi
	kdir=/usr/src/linux-headers-$abi
	[ -f "$kdir/Module.symvers" ] || tb_die "$kdir/Module.symvers missing"

	imgdir=$PVX_CACHE/stock-$abi
	if [ ! -f "$imgdir/.pvx-complete" ]; then
		tb_log "fetching linux-image-$abi-unsigned=$debver into $imgdir"
		tmp=$(mktemp -d "$PVX_CACHE/dl.XXXXXX")
		(cd "$tmp" && apt-get download -qq "linux-image-$abi-unsigned=$debver") || {
			# the package lists may be stale on a fresh machine
			$SUDO apt-get update -qq
			(cd "$tmp" && apt-get download -qq "linux-image-$abi-unsigned=$debver")
		}
		rm -rf "$imgdir"
		mkdir -p "$imgdir"
		dpkg-deb -x "$tmp"/linux-image-*.deb "$imgdir"
		rm -rf "$tmp"
		depmod -b "$imgdir" "$abi"
		touch "$imgdir/.pvx-complete"
	fi
	vmlinuz=$imgdir/boot/vmlinuz-$abi
	[ -f "$vmlinuz" ] || tb_die "$vmlinuz missing"

	cat > "$PVX_CACHE/$lane.env.tmp" <<EOT
KVER=$abi
DEBVER=$debver
KDIR=$kdir
VMLINUZ=$vmlinuz
MODDIR=$imgdir
EOT
	mv "$PVX_CACHE/$lane.env.tmp" "$PVX_CACHE/$lane.env"
}
stock_lane stock "$ABI" "$DEBVER"

# The stock61 lane (Debian 12's default kernel, 6.1), only when asked for
# (PVX_LANES names it, or deps.sh --stock61): the ABI is the one
# bookworm's linux-headers-amd64 depends on, from the system's own
# sources (bookworm, bookworm-security).
if [ "${1:-}" = --stock61 ] || [[ " ${PVX_LANES:-} " == *" stock61 "* ]]; then
	ABI61=$(apt-cache depends linux-headers-amd64 |
		awk '$1 == "Depends:" && $2 ~ /^linux-headers-6\.1\.0-[0-9]+-amd64$/ {print $2; exit}')
	ABI61=${ABI61#linux-headers-}
	[ -n "$ABI61" ] || tb_die "linux-headers-amd64 names no 6.1 kernel"
	DEBVER61=$(apt-cache policy "linux-image-$ABI61-unsigned" | awk '/Candidate:/ {print $2}')
	[ -n "$DEBVER61" ] && [ "$DEBVER61" != "(none)" ] || tb_die "no candidate for linux-image-$ABI61-unsigned"
	tb_log "Debian 12 kernel $DEBVER61 -> ABI $ABI61 (stock61 lane)"
	stock_lane stock61 "$ABI61" "$DEBVER61"
fi

# The stock73 lane (trixie-backports' 7.3, built with gcc-14), only when
# asked for (PVX_LANES names it, or deps.sh --stock73).  apt reads trixie
# and trixie-backports through a configuration of its own under the cache,
# as for the QEMU below: the system's sources and its package state stay
# as they are.  The kernel's packages are unpacked, not installed (the
# image and modules into $PVX_CACHE/stock-<abi>/, merged /usr); the
# headers package needs gcc-14, so it is installed in the build root
# (buildroot.sh), a trixie chroot in which the host modules are built.
stock73_lane() {
	local apt_dir=$PVX_CACHE/apt-trixie abi debver imgdir root tmp t0 tr
	local -a tx
	t0=$(date +%s)
	ensure_pkgs mmdebstrap
	mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	cat > "$apt_dir/parts/trixie.sources" <<EOT
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	tx=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/parts"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
		-o Dir::State::status=/dev/null -o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null)
	[ -z "$SUDO" ] && tx+=(-o APT::Sandbox::User=root)
	$SUDO apt-get "${tx[@]}" update -qq || tb_die "trixie-backports unreachable"
	# the newest 7.3 flavour amd64 of trixie-backports
	abi=$(apt-cache "${tx[@]}" search --names-only '^linux-headers-7\.3\.[0-9]+\+deb13-amd64$' |
		awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -n1)
	[ -n "$abi" ] || tb_die "trixie-backports has no linux-headers-7.3.*-amd64"
	debver=$(apt-cache "${tx[@]}" policy "linux-headers-$abi" | awk '/Candidate:/ {print $2}')
	tb_log "trixie-backports kernel $debver -> ABI $abi (stock73 lane)"

	imgdir=$PVX_CACHE/stock-$abi
	if [ ! -f "$imgdir/.pvx-complete" ]; then
		tb_log "fetching linux-binary-unsigned-$abi, linux-modules-$abi into $imgdir"
		tmp=$(mktemp -d "$PVX_CACHE/dl.XXXXXX")
		(cd "$tmp" && apt-get "${tx[@]}" download -qq "linux-binary-unsigned-$abi=$debver" \
			"linux-modules-$abi=$debver" "linux-base-$abi=$debver") ||
			tb_die "cannot download the 7.3 kernel"
		rm -rf "$imgdir"
		mkdir -p "$imgdir"
		for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$imgdir"; done
		rm -rf "$tmp"
		# merged /usr: modprobe -d and depmod -b look in lib/modules
		[ -e "$imgdir/lib" ] || ln -s usr/lib "$imgdir/lib"
		depmod -b "$imgdir" "$abi"
		touch "$imgdir/.pvx-complete"
	fi
	[ -f "$imgdir/usr/lib/modules/$abi/vmlinuz.unsigned" ] || tb_die "no 7.3 vmlinuz in $imgdir"

	root=$PVX_CACHE/buildroot-trixie-$abi
	tr=$(date +%s)
	"$TESTBED_DIR/buildroot.sh" create "$root" "linux-headers-$abi=$debver" ||
		tb_die "build root $root failed"
	[ -f "$root/usr/src/linux-headers-$abi/Module.symvers" ] || tb_die "$root: no 7.3 headers"
	tb_log "stock73: build root $(( $(date +%s) - tr ))s, lane $(( $(date +%s) - t0 ))s"

	cat > "$PVX_CACHE/stock73.env.tmp" <<EOT
KVER=$abi
DEBVER=$debver
KDIR=$root/usr/src/linux-headers-$abi
VMLINUZ=$imgdir/usr/lib/modules/$abi/vmlinuz.unsigned
MODDIR=$imgdir
BUILDROOT=$root
EOT
	mv "$PVX_CACHE/stock73.env.tmp" "$PVX_CACHE/stock73.env"
}
if [ "${1:-}" = --stock73 ] || [[ " ${PVX_LANES:-} " == *" stock73 "* ]]; then
	stock73_lane
fi

# L0's QEMU, the one that emulates L1: bookworm-backports' (QEMU 10),
# unpacked into the cache, not installed.  Bookworm's QEMU 7.2 froze L1
# now and then under nested SVM; 10 froze less in short boots, not never
# (README.md, "When L1 hangs").  The QEMU that L1 runs for L2 stays the
# system's.  apt reads backports through a
# configuration of its own here, so the system's sources stay as they are.
# Without it (backports unreachable) L1 runs on the system's QEMU.
fetch_bpo_qemu() {
	local apt_dir=$PVX_CACHE/apt-bpo dir=$1 tmp libs bpo
	rm -rf "$apt_dir"
	mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	cat > "$apt_dir/parts/bookworm-backports.sources" <<EOT
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	bpo=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/parts"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
	# as root, into a directory apt's own user may not enter
	[ -z "$SUDO" ] && bpo+=(-o APT::Sandbox::User=root)
	$SUDO apt-get "${bpo[@]}" update -qq || return 1
	tmp=$(mktemp -d "$PVX_CACHE/dl.XXXXXX")
	(cd "$tmp" && apt-get "${bpo[@]}" download -qq qemu-system-x86/bookworm-backports \
		qemu-system-common/bookworm-backports qemu-system-data/bookworm-backports) || return 1
	# the libraries it links come from bookworm itself
	libs=$(dpkg-deb -f "$tmp"/qemu-system-x86_*.deb Depends | tr ',|' '\n\n' |
		sed 's/^ *//; s/[ (].*//' | grep -v -e '^qemu-' -e '^seabios' -e '^ipxe' | sort -u)
	# shellcheck disable=SC2086
	ensure_pkgs $libs || return 1
	rm -rf "$dir"
	mkdir -p "$dir"
	for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$dir" || return 1; done
	rm -rf "$tmp" "$apt_dir"
	"$dir/usr/bin/qemu-system-x86_64" --version | head -n1 >&2 || return 1
	touch "$dir/.pvx-complete"
}
QEMU_DIR=$PVX_CACHE/qemu-bpo
if [ ! -f "$QEMU_DIR/.pvx-complete" ]; then
	tb_log "fetching QEMU from bookworm-backports into $QEMU_DIR (L0 for L1)"
	fetch_bpo_qemu "$QEMU_DIR" || tb_log "no QEMU from bookworm-backports: L1 runs on the system's QEMU"
fi
# (empty: the system's QEMU)
L0_QEMU='' L0_QEMU_DATA=''
if [ -f "$QEMU_DIR/.pvx-complete" ]; then
	L0_QEMU=$QEMU_DIR/usr/bin/qemu-system-x86_64 L0_QEMU_DATA=$QEMU_DIR/usr/share/qemu
fi
printf 'L0_QEMU=%s\nL0_QEMU_DATA=%s\n' "$L0_QEMU" "$L0_QEMU_DATA" > "$PVX_CACHE/qemu.env"
tb_log "stock lane ready: $PVX_CACHE/stock.env"
cat "$PVX_CACHE/stock.env" >&2
