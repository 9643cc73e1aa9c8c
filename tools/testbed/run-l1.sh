#!/bin/bash
# Boot one L1 VM (QEMU TCG, -cpu max: nested AMD SVM) with a busybox
# initramfs that loads KVM + pvx_host.ko and runs the staged tests.
#
# usage: run-l1.sh --lane stock|stock61|stock73|debug [--stage DIR] [--tests "a b"] [--l2]
#                  [--l2-stage DIR] [--out DIR] [--timeout SEC]
#   --stage     staged artifacts (default $PVX_STAGE), see README.md
#   --tests     programs to run, paths relative to the stage (or l1/<script>
#               from tools/testbed/l1/); default: every selftests/*_test,
#               plus l1/l2-smoke.sh with --l2
#   --l2        also make the L2 smoke test possible: export / read-only by
#               9p and build the L2 initramfs from <l2-stage>/l2/*.ko
#   --l2-stage  stage whose l2/*.ko go into L2 (they must match the stock
#               kernel that L2 runs; default: --stage)
#   --out       output dir (default $PVX_CACHE/out/<lane>): console.log
#               (kernel console, ttyS0), tap.log (test output, ttyS1)
#   --iommu     the IOMMU proof machine: -M q35 with QEMU's intel-iommu and
#               its "edu" DMA device, intel_iommu=on, vfio-pci and
#               vfio_iommu_type1 loaded; default tests: selftests/iommu_test
#               (which other boots leave out: they have no edu)
#   --bench     also run bench/pvx_bench, last (it reloads pvx_host), with
#               PVX_BENCH_REPS (default 2): make check's short bench
#   --timeout   hard limit for the whole boot (default 600 s stock,
#               900 s debug; env PVX_L1_TIMEOUT); per test PVX_TEST_TIMEOUT
#               (300 s)
# env PVX_L1_ACCEL: QEMU's -accel for L1 (tcg; e.g. tcg,thread=single);
#     PVX_L1_QEMU: the QEMU that runs L1 (default: deps.sh's, qemu.env)
# L1's /init writes its uptime to ttyS2 (heartbeat.log) every 5 s; when that
# stops for PVX_L1_STALL seconds (90) L1 is taken as frozen, as at the
# timeout, without waiting for it.
set -euo pipefail
# shellcheck source=tools/testbed/common.sh
. "$(dirname "$0")/common.sh"

LANE='' STAGE=${PVX_STAGE:-} TESTS='' L2=0 L2STAGE='' OUT='' TIMEOUT=${PVX_L1_TIMEOUT:-}
IOMMU=0 BENCH=0
STALL=${PVX_L1_STALL:-90}
TEST_TIMEOUT=${PVX_TEST_TIMEOUT:-300}
MEM=${PVX_L1_MEM:-3072}
while [ $# -gt 0 ]; do
	case $1 in
	--lane) LANE=$2; shift 2 ;;
	--stage) STAGE=$2; shift 2 ;;
	--tests) TESTS=$2; TESTS_SET=1; shift 2 ;;
	--l2) L2=1; shift ;;
	--iommu) IOMMU=1; shift ;;
	--bench) BENCH=1; shift ;;
	--l2-stage) L2STAGE=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	*) tb_die "unknown argument: $1" ;;
	esac
done
case $LANE in stock|stock61|stock73|debug) ;; *) tb_die "--lane stock|stock61|stock73|debug required" ;; esac
[ -n "$STAGE" ] && [ -d "$STAGE" ] || tb_die "no stage dir (--stage or PVX_STAGE)"
STAGE=$(cd "$STAGE" && pwd)
L2STAGE=${L2STAGE:-$STAGE}
# A frozen L1 cannot enforce its own limits: keep the hard limit tight.
if [ -z "$TIMEOUT" ]; then
	if [ "$LANE" = debug ]; then TIMEOUT=900; else TIMEOUT=600; fi
fi
OUT=${OUT:-$PVX_CACHE/out/$LANE}
ENVF=$PVX_CACHE/$LANE.env
[ -f "$ENVF" ] || tb_die "$ENVF missing (run deps.sh / debug-kernel.sh)"
# shellcheck disable=SC1090
. "$ENVF"
STOCK_VMLINUZ=
if [ "$L2" = 1 ]; then
	[ -f "$PVX_CACHE/stock.env" ] || tb_die "L2 needs the stock kernel (deps.sh)"
	STOCK_VMLINUZ=$(. "$PVX_CACHE/stock.env"; echo "$VMLINUZ")
fi

SYSMAP=$MODDIR/boot/System.map-$KVER
# (7.3's packages keep it beside the modules)
[ -f "$SYSMAP" ] || SYSMAP=$MODDIR/lib/modules/$KVER/System.map
[ -f "$SYSMAP" ] || SYSMAP=$(dirname "$VMLINUZ")/../../../System.map
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/root" "$OUT/l2"
rm -f "$OUT/console.log" "$OUT/tap.log" "$OUT/initramfs.cpio.gz"
ROOT=$OUT/root
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,root,host,lib/modules/pvx,pvx,etc}

# busybox with one symlink per applet
cp /bin/busybox "$ROOT/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$ROOT/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"
done

# kernel modules, decompressed here, in the order modprobe computes
want=(kvm_amd netfs 9pnet 9pnet_virtio 9p virtio_pci)
[ "$IOMMU" = 0 ] || want+=(vfio_iommu_type1 vfio_pci)
KUNIT=0
if [ "$LANE" = debug ] && ls "$STAGE"/kunit/*.ko > /dev/null 2>&1; then KUNIT=1; want+=(kunit); fi
: > "$ROOT/pvx/modules.list"
declare -A seen=()
for m in "${want[@]}"; do
	deps=$(modprobe --show-depends -d "$MODDIR" -S "$KVER" "$m" 2>&1) || tb_die "modprobe --show-depends $m: $deps"
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		base=$(basename "$path"); base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
		[ -z "${seen[$base]:-}" ] || continue
		seen[$base]=1
		case $path in
		*.xz) xz -dc "$path" > "$ROOT/lib/modules/pvx/$base" ;;
		*.zst) zstd -qdc "$path" > "$ROOT/lib/modules/pvx/$base" ;;
		*.gz) gzip -dc "$path" > "$ROOT/lib/modules/pvx/$base" ;;
		*) cp "$path" "$ROOT/lib/modules/pvx/$base" ;;
		esac
		echo "$base" >> "$ROOT/pvx/modules.list"
	done <<< "$deps"
done
tb_log "$LANE: modules: $(tr '\n' ' ' < "$ROOT/pvx/modules.list")"

# the stage, and the testbed's own L1 scripts
cp -a "$STAGE"/. "$ROOT/pvx/"
rm -rf "$ROOT/pvx/l2"          # L2 files are read through 9p, not copied
# KUnit needs the debug kernel (Debian's has no CONFIG_KUNIT)
[ "$KUNIT" = 1 ] || rm -rf "$ROOT/pvx/kunit"
mkdir -p "$ROOT/pvx/l1"
cp -a "$TESTBED_DIR"/l1/*.sh "$ROOT/pvx/l1/"
# kunit.ko goes in /lib/modules/pvx like every module; init loads it if needed
echo "$LANE" > "$ROOT/pvx/lane"
echo "$TEST_TIMEOUT" > "$ROOT/pvx/test_timeout"
install -m 0755 "$TESTBED_DIR/l1/init" "$ROOT/init"

# Dynamically linked test programs get their shared libraries.
while IFS= read -r -d '' f; do
	head -c4 "$f" | grep -q ELF || continue
	libs=$(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' || true)
	for lib in $libs; do
		[ -e "$ROOT$lib" ] || cp -L --parents "$lib" "$ROOT/"
	done
done < <(find "$ROOT/pvx" -type f -perm -u+x -print0)

# tests list
if [ -z "${TESTS_SET:-}" ]; then
	TESTS=$(cd "$STAGE" && find selftests -maxdepth 1 -type f -name '*_test' -perm -u+x ! -name iommu_test ! -name fuzz_test 2>/dev/null | sort | tr '\n' ' ')
	if [ "$IOMMU" = 1 ]; then TESTS=selftests/iommu_test; fi
	if [ "$L2" = 1 ]; then TESTS="$TESTS l1/l2-smoke.sh"; fi
fi
# Last: its KVM_HC_* row unloads and reloads pvx_host.
BENCH_APPEND=
if [ "$BENCH" = 1 ]; then
	[ -x "$STAGE/bench/pvx_bench" ] || tb_die "--bench: no bench/pvx_bench in $STAGE"
	TESTS="$TESTS bench/pvx_bench"
	BENCH_APPEND="PVX_BENCH_REPS=${PVX_BENCH_REPS:-2}"
fi
: > "$ROOT/pvx/tests.list"
for t in $TESTS; do echo "$t" >> "$ROOT/pvx/tests.list"; done
# what /init runs (KUnit modules first), for parse.py's "never started" check
: > "$OUT/tests.list"
if [ "$KUNIT" = 1 ]; then
	for k in "$STAGE"/kunit/*.ko; do echo "kunit/$(basename "$k")" >> "$OUT/tests.list"; done
fi
cat "$ROOT/pvx/tests.list" >> "$OUT/tests.list"
tb_log "$LANE: tests: $(tr '\n' ' ' < "$ROOT/pvx/tests.list")"

# L2: initramfs built here, read by L1's QEMU through the 9p export of /
VIRTFS=()
if [ "$L2" = 1 ]; then
	"$TESTBED_DIR/l2/mk-initramfs.sh" "$L2STAGE" "$OUT/l2"
	cat > "$ROOT/pvx/l2.env" <<EOT
L2_KERNEL=$STOCK_VMLINUZ
L2_INITRD=$OUT/l2/initramfs.cpio.gz
EOT
	VIRTFS=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
fi

(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUT/initramfs.cpio.gz"
tb_log "$LANE: initramfs $(du -h "$OUT/initramfs.cpio.gz" | cut -f1), booting $VMLINUZ (timeout ${TIMEOUT}s)"

# The IOMMU proof: VT-d in front of edu (it must come before the devices
# it translates for); intremap off, as TCG has no split irqchip to need it.
# no5lvl (debug kernel): an interrupt that lands while identify_cpu()
# has cleared the boot CPU's feature bits (LA57 among them) made KASAN call
# a 5-level direct-map address wild (a false report, seen on this machine
# at boot, before any pvx code); with 4-level paging there is no such window.
MACHINE=()
APPEND_MACHINE=
if [ "$IOMMU" = 1 ]; then
	MACHINE=(-M q35 -device intel-iommu,intremap=off -device edu)
	APPEND_MACHINE="intel_iommu=on"
fi
# The window exists at every debug boot, whatever the machine.
if [ "$LANE" = debug ]; then APPEND_MACHINE="$APPEND_MACHINE no5lvl"; fi

# L0's QEMU: deps.sh's (qemu.env: bookworm-backports'), else the system's
QEMU=(qemu-system-x86_64)
L0_QEMU='' L0_QEMU_DATA=''
# shellcheck disable=SC1091
[ -f "$PVX_CACHE/qemu.env" ] && . "$PVX_CACHE/qemu.env"
if [ -n "${PVX_L1_QEMU:-}" ]; then
	QEMU=("$PVX_L1_QEMU")
elif [ -n "$L0_QEMU" ]; then
	QEMU=("$L0_QEMU" -L "$L0_QEMU_DATA")
fi
tb_log "$LANE: L1's QEMU: $("${QEMU[@]}" --version | head -n1)"

start=$(date +%s)
rc=0
MON=$(mktemp -u /tmp/pvx-l1mon.XXXXXX)
# -d cpu_reset: a triple fault (an L1 that resets and, with -no-reboot,
# ends without a word on its console) leaves the CPU state in qemu-debug.log.
"${QEMU[@]}" -accel "${PVX_L1_ACCEL:-tcg}" -cpu max -smp 1 -m "$MEM" "${MACHINE[@]}" \
	-display none -monitor "unix:$MON,server=on,wait=off" -no-reboot \
	-d cpu_reset -D "$OUT/qemu-debug.log" \
	-kernel "$VMLINUZ" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 rdinit=/init mitigations=off nokaslr $APPEND_MACHINE $BENCH_APPEND ${PVX_L1_APPEND:-}" \
	-serial "file:$OUT/console.log" -serial "file:$OUT/tap.log" \
	-serial "file:$OUT/heartbeat.log" \
	"${VIRTFS[@]}" < /dev/null > "$OUT/qemu.log" 2>&1 &
qpid=$!
timed_out=0 stalled=0 beat=0 beat_at=$start
while kill -0 "$qpid" 2>/dev/null; do
	now=$(date +%s)
	b=$(stat -c %s "$OUT/heartbeat.log" 2>/dev/null || echo 0)
	if [ "$b" != "$beat" ]; then beat=$b beat_at=$now; fi
	if [ "$beat" -gt 0 ] && [ $((now - beat_at)) -ge "$STALL" ]; then stalled=1; fi
	if [ $((now - start)) -ge "$TIMEOUT" ] || [ $stalled = 1 ]; then
		timed_out=1
		# Where is the L1 CPU?  A frozen L1 cannot tell us itself.
		"$TESTBED_DIR/l1-regs.py" "$MON" "$SYSMAP" > "$OUT/hang-registers.txt" 2>&1 || true
		kill "$qpid" 2>/dev/null || true
		sleep 5
		# (set -e: QEMU usually is gone by now)
		kill -9 "$qpid" 2>/dev/null || true
		break
	fi
	sleep 2
done
wait "$qpid" || rc=$?
rm -f "$MON"
[ "$timed_out" = 1 ] && rc=124
secs=$(( $(date +%s) - start ))
echo "$secs" > "$OUT/boot-seconds"
if [ "$rc" = 124 ]; then
	why="after ${secs}s"
	[ $stalled = 1 ] && why="after ${secs}s (no heartbeat for ${STALL}s)"
	tb_log "$LANE: L1 TIMED OUT $why; L1 CPU state: $OUT/hang-registers.txt"
	grep -E '^(RIP|sample)' "$OUT/hang-registers.txt" >&2 || true
	echo "# PVX-L1-TIMEOUT $why" >> "$OUT/tap.log"
elif ! grep -q '^# PVX-ALL-DONE' "$OUT/tap.log" 2>/dev/null; then
	tb_log "$LANE: L1 ended before its tests did (qemu rc $rc): $(tail -3 "$OUT/qemu.log")"
	echo "# PVX-L1-DIED after ${secs}s, qemu rc $rc" >> "$OUT/tap.log"
elif [ "$rc" != 0 ]; then
	tb_log "$LANE: qemu exited with $rc: $(tail -3 "$OUT/qemu.log")"
fi
tb_log "$LANE: L1 ran ${secs}s; logs in $OUT"
exit 0
