#!/bin/bash
# Build (or reuse) the debug L1 kernel: Debian's linux-source-6.12 tarball,
# tinyconfig + tools/testbed/debug.config, KASAN/lockdep/KUnit, KVM built in.
#
# Output: $PVX_CACHE/debug-<hash>/ (an O= build dir) and $PVX_CACHE/debug.env
#   KVER     kernel release
#   KSRC     the extracted source tree
#   KDIR     the O= build dir; external modules build with
#            `make -C $KDIR M=<dir>` (the O= dir has a forwarding Makefile),
#            equivalently `make -C $KSRC O=$KDIR M=<dir>`
#   VMLINUZ  bzImage
#   MODDIR   root of the installed modules (lib/modules/$KVER/...)
# The hash covers the fragment and the source package version; an existing
# complete build is reused without running make.
set -euo pipefail
# shellcheck source=tools/testbed/common.sh
. "$(dirname "$0")/common.sh"

FRAG=$TESTBED_DIR/debug.config
JOBS=${PVX_JOBS:-$(nproc)}
SRCVER=$(tb_src_version)
TARBALL=/usr/src/linux-source-6.12.tar.xz
[ -f "$TARBALL" ] || tb_die "$TARBALL missing (run tools/testbed/deps.sh)"

HASH=$( { cat "$FRAG"; echo "srcver=$SRCVER"; } | sha256sum | cut -c1-16)
BUILD=$PVX_CACHE/debug-$HASH
SRC=$PVX_CACHE/linux-source-$SRCVER
STAMP=$BUILD/.pvx-complete
ENVF=$PVX_CACHE/debug.env

write_env() {
	local kver
	kver=$(cat "$BUILD/include/config/kernel.release")
	cat > "$ENVF.tmp" <<EOT
KVER=$kver
KSRC=$SRC
KDIR=$BUILD
VMLINUZ=$BUILD/arch/x86/boot/bzImage
MODDIR=$BUILD/modroot
EOT
	mv "$ENVF.tmp" "$ENVF"
	tb_log "debug kernel: $BUILD (env: $ENVF)"
	cat "$ENVF" >&2
}

if [ -f "$STAMP" ]; then
	tb_log "cached debug kernel found"
	write_env
	exit 0
fi

if [ ! -f "$SRC/.pvx-extracted" ]; then
	tb_log "extracting $TARBALL -> $SRC"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	touch "$SRC.tmp/.pvx-extracted"
	mv "$SRC.tmp" "$SRC"
fi

mkdir -p "$BUILD" "$CCACHE_DIR"
MK=(nice -n 10 make -C "$SRC" O="$BUILD" CC="ccache gcc" HOSTCC="ccache gcc" -j"$JOBS")

tb_log "configuring (tinyconfig + $FRAG)"
"${MK[@]}" -s tinyconfig
(cd "$BUILD" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "$FRAG" >/dev/null)
"${MK[@]}" -s olddefconfig

# Every option the fragment asks for must have survived.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=y|CONFIG_*=m|CONFIG_*=[0-9]*)
		if ! grep -qx -- "$line" "$BUILD/.config"; then
			got=$(grep -E "^(# )?${line%%=*}[= ]" "$BUILD/.config" || echo "absent")
			tb_log "config option dropped: wanted $line, got: $got"
			missing=1
		fi ;;
	esac
done < "$FRAG"
[ "$missing" = 0 ] || tb_die "debug.config options did not survive olddefconfig (fix dependencies in the fragment)"

tb_log "building bzImage + modules with -j$JOBS (ccache in $CCACHE_DIR)"
start=$(date +%s)
"${MK[@]}" bzImage modules
rm -rf "$BUILD/modroot"
"${MK[@]}" -s modules_install INSTALL_MOD_PATH="$BUILD/modroot" INSTALL_MOD_STRIP=1 DEPMOD=/bin/true
kver=$(cat "$BUILD/include/config/kernel.release")
depmod -b "$BUILD/modroot" "$kver"
[ -f "$BUILD/Module.symvers" ] || tb_die "no Module.symvers in $BUILD"
tb_log "debug kernel built in $(( $(date +%s) - start )) s"
touch "$STAMP"
write_env
