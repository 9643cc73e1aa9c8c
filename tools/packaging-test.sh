#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The packaging, checked on this machine (make check-packaging; check.sh
# counts it): the shipped module lists, make deb, lintian, and dkms build
# of both -dkms packages against a kernel's headers (default: the stock
# lane's, $PVX_CACHE/stock.env), BUILD_EXCLUSIVE_KERNEL.
#
# Nothing is installed: the .debs are built and unpacked in a temporary
# directory, dkms runs on temporary trees there (--sourcetree, --dkmstree,
# --installtree), and `dkms remove` undoes its add at the end.  dkms signs
# what it builds with /var/lib/dkms/mok.key, creating the key pair if
# there is none, as on any machine where a DKMS package builds.
#
# Output: TAP ("ok N - ...", "not ok N - ...", "ok N - ... # SKIP why"),
# lintian's warnings as "# W: ..." lines, the plan "1..N" after the tests,
# then a last line "# N passed, N failed, N skipped".  Exit status 1 if any
# test failed.  Takes 2-4 minutes on 2 cores.
#
# env: PVX_PKG_KDIR, PVX_PKG_KVER (the headers and kernel release to build
#      against), PVX_PKG_KDIR61, PVX_PKG_KVER61 (the same for 6.1; default:
#      the stock61 lane's), PVX_PKG_KEEP=1 keeps the temporary directory.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PVX_CACHE=${PVX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvx}
n=0 pass=0 fail=0 skip=0

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1)); echo "ok $n - $2"
	else
		fail=$((fail + 1)); echo "not ok $n - $2"
	fi
}
skip() {	# skip DESCRIPTION WHY
	n=$((n + 1)); skip=$((skip + 1))
	echo "ok $n - $1 # SKIP $2"
}
finish() {
	echo "1..$n"
	echo "# $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
}
# show LOG: a failed step's last lines, as TAP comments
show() { tail -n 25 "$1" | sed 's/^/#   /'; }

TMP=$(mktemp -d /tmp/pvx-packaging.XXXXXX)
DKMS_TREES=()
# shellcheck disable=SC2317  # (the EXIT trap calls it)
cleanup() {
	local t
	for t in "${DKMS_TREES[@]}"; do
		# shellcheck disable=SC2086
		dkms remove $t --all > /dev/null 2>&1 || true
	done
	[ "${PVX_PKG_KEEP:-0}" = 1 ] && { echo "# kept $TMP" >&2; return; }
	rm -rf "$TMP"
}
trap cleanup EXIT

KDIR=${PVX_PKG_KDIR:-$(sed -n 's/^KDIR=//p' "$PVX_CACHE/stock.env" 2>/dev/null)}
KDIR=${KDIR:-/usr/src/linux-headers-6.12.117+deb12-amd64}
KVER=${PVX_PKG_KVER:-$(cat "$KDIR/include/config/kernel.release" 2>/dev/null)}
VERSION=$(sed -n 's/^#define PVX_VERSION "\(.*\)"/\1/p' "$REPO/include/pvx_version.h")

# 1-3: the shipped lists, from the Kbuild files
host_mods=$(make -s --no-print-directory -C "$REPO" -f packaging/modules.mk KBUILD_FILE=host-kmod/Kbuild)
guest_mods=$(make -s --no-print-directory -C "$REPO" -f packaging/modules.mk KBUILD_FILE=guest-drivers/Kbuild)
[ "$(echo $host_mods)" = pvx_host ]
ok $? "host-kmod/Kbuild ships pvx_host only (got: $(echo $host_mods))"
! printf '%s\n' $host_mods $guest_mods | grep -Eq '_test$|_kunit$|^pvx_softdma$|^pvx_locktorture$' &&
	printf '%s\n' $guest_mods | grep -qx pvx_guest
ok $? "guest-drivers/Kbuild ships no test module (got: $(echo $guest_mods))"
deb_version=$(cd "$REPO" && dpkg-parsechangelog -S Version 2>/dev/null)
[ -n "$VERSION" ] && [ "$deb_version" = "$VERSION" ]
ok $? "debian/changelog's version ($deb_version) is PVX_VERSION ($VERSION)"

missing=
for c in dpkg-buildpackage dh dh_dkms dkms lintian; do
	command -v "$c" > /dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	echo "# missing:$missing (tools/testbed/deps.sh installs them)"
	for t in "make deb" "lintian" "dkms build pvx-host" "dkms build pvx-guest" \
		"BUILD_EXCLUSIVE_KERNEL"; do
		skip "$t" "no$missing"
	done
	finish
fi

# 4-5: make deb, and what each package holds
DEB=$TMP/deb
if make -C "$REPO" deb DEB_DIR="$DEB" > "$TMP/deb.log" 2>&1; then
	ok 0 "make deb"
else
	ok 1 "make deb (log below)"; show "$TMP/deb.log"
fi
contents() { dpkg-deb -c "$DEB/${1}_${VERSION}_amd64.deb" 2>/dev/null | awk '{print $6}'; }
{
	c=$(contents pvxctl)
	echo "$c" | grep -qx ./usr/sbin/pvxctl &&
	echo "$c" | grep -qx ./usr/share/man/man8/pvxctl.8.gz &&
	echo "$c" | grep -qx ./usr/share/bash-completion/completions/pvxctl &&
	c=$(contents pvx-host-dkms) &&
	echo "$c" | grep -qx "./usr/src/pvx-host-$VERSION/dkms.conf" &&
	! echo "$c" | grep -q pvx_guest &&
	! echo "$c" | grep -Eq '_test\.c$|softdma' &&
	c=$(contents pvx-guest-dkms) &&
	echo "$c" | grep -qx "./usr/src/pvx-guest-$VERSION/dkms.conf" &&
	! echo "$c" | grep -Eq 'host-kmod|_test\.c$|locktorture'
}
ok $? "the packages hold pvxctl (binary, man page, completion) and each side's sources"

# 6: lintian: errors fail, warnings are listed
if [ -f "$DEB/pvx_${VERSION}_amd64.changes" ]; then
	lintian "$DEB/pvx_${VERSION}_amd64.changes" > "$TMP/lintian.log" 2>&1
	grep -E '^W: ' "$TMP/lintian.log" | sed 's/^/# /'
	errors=$(grep -c '^E: ' "$TMP/lintian.log")
	grep -E '^E: ' "$TMP/lintian.log" | sed 's/^/# /'
	[ "$errors" -eq 0 ]
	ok $? "lintian: no errors ($errors errors, $(grep -c '^W: ' "$TMP/lintian.log") warnings)"
else
	skip "lintian" "no .changes (make deb failed)"
fi

# 7-8: dkms build of each package's sources, as unpacked from the .deb
dkms_build() {	# dkms_build SIDE KDIR KVER MODULE...
	local side=$1 kdir=$2 kver=$3 root=$TMP/root-$1 tree pkg=pvx-$1 m f ret=0
	local log=$TMP/dkms-$1-$3.log
	shift 3
	tree="--sourcetree $root/usr/src --dkmstree $TMP/dkms --installtree $TMP/modules"
	mkdir -p "$TMP/dkms" "$TMP/modules"
	if [ ! -d "$TMP/dkms/$pkg/$VERSION" ]; then
		dpkg-deb -x "$DEB/$pkg-dkms_${VERSION}_amd64.deb" "$root" || return 1
		# shellcheck disable=SC2086
		dkms add -m $pkg -v "$VERSION" $tree > "$log" 2>&1 || { show "$log"; return 1; }
		DKMS_TREES+=("-m $pkg -v $VERSION $tree")
	fi
	# shellcheck disable=SC2086
	dkms build -m $pkg -v "$VERSION" -k "$kver" --kernelsourcedir "$kdir" $tree \
		>> "$log" 2>&1 || { show "$log"; cat "$TMP/dkms/$pkg/$VERSION/build/make.log" \
			2>/dev/null | tail -n 20 | sed 's/^/#   /'; return 1; }
	# what dkms built and nothing else
	# shellcheck disable=SC2012
	f=$(ls "$TMP/dkms/$pkg/$VERSION/$kver"/*/module/ 2>/dev/null | sed 's/\.ko.*//' | sort)
	[ "$f" = "$(printf '%s\n' "$@" | sort)" ] ||
		{ echo "#   built: $(echo $f), want: $*"; ret=1; }
	for m in "$@"; do
		f=$(ls "$TMP/dkms/$pkg/$VERSION/$kver"/*/module/"$m".ko* 2>/dev/null | head -n1)
		if [ -z "$f" ]; then
			echo "#   $m: not built"; ret=1; continue
		fi
		[ "$(modinfo -F version "$f")" = "$VERSION" ] ||
			{ echo "#   $m: modinfo version is not $VERSION"; ret=1; }
		[ "$(modinfo -F vermagic "$f" | cut -d' ' -f1)" = "$kver" ] ||
			{ echo "#   $m: not built for $kver"; ret=1; }
		# dkms signs with the MOK (when the kernel has sign-file)
		if grep -q '^Signing key:' "$log" && [ -z "$(modinfo -F signer "$f")" ]; then
			echo "#   $m: not signed"; ret=1
		fi
	done
	[ "$side" = host ] && f=$(ls "$TMP/dkms/$pkg/$VERSION/$kver"/*/module/pvx_host.ko* 2>/dev/null) &&
		{ modinfo -F alias "$f" | grep -qx devname:pvx || { echo "#   no devname:pvx alias"; ret=1; }; }
	return $ret
}
if [ -z "$KVER" ] || [ ! -d "$KDIR" ]; then
	skip "dkms build pvx-host" "no kernel headers ($KDIR)"
	skip "dkms build pvx-guest" "no kernel headers ($KDIR)"
	skip "BUILD_EXCLUSIVE_KERNEL" "no kernel headers ($KDIR)"
	finish
fi
# shellcheck disable=SC2086
dkms_build host "$KDIR" "$KVER" $host_mods
ok $? "dkms build pvx-host for $KVER: $(echo $host_mods), version $VERSION, signed, devname:pvx"
# shellcheck disable=SC2086
dkms_build guest "$KDIR" "$KVER" $guest_mods
ok $? "dkms build pvx-guest for $KVER: $(echo $guest_mods)"

# 9-10: Debian 12's 6.1 (the stock61 lane's headers, when deps.sh fetched
# them): both sides build, and the guest's dkms.conf leaves out what
# needs a newer kernel (packaging/modules.mk's NAME@VERSION)
KDIR61=${PVX_PKG_KDIR61:-$(sed -n 's/^KDIR=//p' "$PVX_CACHE/stock61.env" 2>/dev/null)}
# (6.1's headers hold the upstream release there, not the ABI's)
KVER61=${PVX_PKG_KVER61:-$(sed -n 's/^KVER=//p' "$PVX_CACHE/stock61.env" 2>/dev/null)}
[ -d "$KDIR61" ] || KVER61=
old_mods=
for m in $(make -s --no-print-directory -C "$REPO" -f packaging/modules.mk \
		KBUILD_FILE=guest-drivers/Kbuild dkms); do
	case $m in
	*@*) v=${m#*@}
		[ $(( ${v%.*} * 100 + ${v#*.} )) -le 601 ] && old_mods="$old_mods ${m%@*}" ;;
	*) old_mods="$old_mods $m" ;;
	esac
done
if [ -n "$KVER61" ]; then
	# shellcheck disable=SC2086
	dkms_build host "$KDIR61" "$KVER61" $host_mods
	ok $? "dkms build pvx-host for $KVER61: $(echo $host_mods)"
	# shellcheck disable=SC2086
	dkms_build guest "$KDIR61" "$KVER61" $old_mods
	ok $? "dkms build pvx-guest for $KVER61: $(echo $old_mods), no module of a newer kernel"
else
	skip "dkms build pvx-host for 6.1" "no 6.1 headers (tools/testbed/deps.sh --stock61)"
	skip "dkms build pvx-guest for 6.1" "no 6.1 headers (tools/testbed/deps.sh --stock61)"
fi

# 11: another kernel: dkms refuses pvx-host (exit 77) instead of building it
if [ -d "$TMP/dkms/pvx-host/$VERSION" ]; then
	dkms build -m pvx-host -v "$VERSION" -k 5.10.0-99-amd64 --kernelsourcedir "$KDIR" \
		--sourcetree "$TMP/root-host/usr/src" --dkmstree "$TMP/dkms" \
		--installtree "$TMP/modules" > "$TMP/dkms-exclusive.log" 2>&1
	rc=$?
	[ $rc = 77 ] && grep -q BUILD_EXCLUSIVE "$TMP/dkms-exclusive.log"
	ok $? "dkms skips pvx-host for Linux 5.10 (BUILD_EXCLUSIVE_KERNEL; exit $rc)"
else
	skip "BUILD_EXCLUSIVE_KERNEL" "pvx-host was not added"
fi
finish
