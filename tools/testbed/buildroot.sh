#!/bin/bash
# The build root for kernels whose compiler Debian 12 does not have:
# Debian's 7.3 (trixie-backports) is built with gcc-14, and modules for
# it must be too.  A Debian 13 (trixie) chroot from Debian's mirror, made
# with mmdebstrap, holding gcc-14, make and the kernel's headers package.
#
# usage: buildroot.sh create ROOT HEADERS-PACKAGE=VERSION
#            makes ROOT once (ROOT/.pvx-complete; about 2-3 minutes cold)
#        buildroot.sh run ROOT DIR CMD...
#            runs CMD in ROOT with DIR (a directory of the build machine)
#            at the same path inside, and /proc (objtool reads it), in a
#            mount namespace of its own: nothing stays mounted after it.
# ROOT/ROOT is a link to ROOT's /, so that a path under ROOT names the
# same file inside and outside (KDIR=ROOT/usr/src/linux-headers-<abi>).
set -euo pipefail
# shellcheck source=tools/testbed/common.sh
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || tb_die "buildroot.sh: needs root (mmdebstrap, chroot)"

cmd=${1:-}
case $cmd in
create)
	[ $# -eq 3 ] || tb_die "usage: buildroot.sh create ROOT HEADERS-PACKAGE=VERSION"
	root=$2 headers=$3
	[ -f "$root/.pvx-complete" ] && exit 0
	command -v mmdebstrap > /dev/null || tb_die "mmdebstrap missing (deps.sh installs it)"
	rm -rf "$root" "$root.tmp"
	t0=$(date +%s)
	# Debian's mirror only; the build machine's apt sources are not read.
	mmdebstrap --quiet --variant=apt --include="gcc-14,make,$headers" \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		trixie "$root.tmp" \
		"deb http://deb.debian.org/debian trixie main" \
		"deb http://deb.debian.org/debian trixie-backports main"
	mkdir -p "$root.tmp$(dirname "$root")"
	ln -s / "$root.tmp$root"
	mv "$root.tmp" "$root"
	touch "$root/.pvx-complete"
	tb_log "build root $root made in $(( $(date +%s) - t0 ))s"
	;;
run)
	[ $# -ge 4 ] || tb_die "usage: buildroot.sh run ROOT DIR CMD..."
	root=$2 dir=$(cd "$3" && pwd)
	shift 3
	[ -f "$root/.pvx-complete" ] || tb_die "$root: no build root (deps.sh --stock73)"
	# shellcheck disable=SC2016
	exec unshare --mount --pid --fork --mount-proc="$root/proc" \
		sh -c 'mkdir -p "$1$2" && mount --bind "$2" "$1$2" && root=$1 && shift 2 &&
			exec chroot "$root" "$@"' sh "$root" "$dir" "$@"
	;;
*)
	tb_die "usage: buildroot.sh create|run ..."
	;;
esac
