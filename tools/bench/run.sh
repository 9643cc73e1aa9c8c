#!/bin/bash
# make bench: pvx's services against the stock KVM path each replaces, in
# two L1 boots of the testbed (stock lane): every row but one, then the
# IOMMU row (iommu256) in the IOMMU L1 (run-l1.sh --iommu: edu behind
# VT-d).  tools/bench/pvx_bench runs the rows, printing one JSON object
# per figure (# PVX-BENCH: {...}); collect.py gathers both boots' into a
# table and bench.json, and fails when a figure is missing.  Under TCG
# only counts and ratios mean anything.
#
# PVX_BENCH_OUT (default $PVX_CACHE/out/bench) gets tap.log, console.log,
# bench.json, bench.rst (the table for Documentation/perf/README.rst),
# plots/*.png (tools/bench/plot.py), and the IOMMU boot's logs in iommu/;
# PVX_STAGE_BENCH reuses a stage; PVX_BENCH_REPS (7); PVX_NO_IOMMU=1
# leaves the IOMMU boot and its row out.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tools/testbed/common.sh
. "$REPO/tools/testbed/common.sh"

[ -f "$PVX_CACHE/stock.env" ] || "$TESTBED_DIR/deps.sh"
# shellcheck disable=SC1091
KDIR=$(. "$PVX_CACHE/stock.env"; echo "$KDIR")
# shellcheck disable=SC1091
QEMU=${PVX_L1_QEMU:-$(. "$PVX_CACHE/qemu.env" 2>/dev/null; echo "${L0_QEMU:-}")}
QEMU=${QEMU:-qemu-system-x86_64}
out=${PVX_BENCH_OUT:-$PVX_CACHE/out/bench}
stage=${PVX_STAGE_BENCH:-$PVX_CACHE/stage/bench}
mkdir -p "$out"
# The commit measured is the one built now, not HEAD when the boot ends.
commit=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
	commit=$commit+dirty
if [ -z "${PVX_STAGE_BENCH:-}" ]; then
	make -C "$REPO" stage KDIR="$KDIR" GUEST_KDIR="$KDIR" STAGE="$stage" \
		> "$out/stage.log" 2>&1 || { tail -40 "$out/stage.log"; tb_die "make stage failed"; }
fi
make -C "$REPO/tools/bench" > "$out/build.log" 2>&1 || {
	tail -40 "$out/build.log"; tb_die "building pvx_bench failed"; }
mkdir -p "$stage/bench"
cp "$REPO/tools/bench/pvx_bench" "$stage/bench/"

# The repetitions (and the rows) reach L1's /init as environment variables.
append="${PVX_L1_APPEND:-} PVX_BENCH_REPS=${PVX_BENCH_REPS:-7}"
PVX_L1_APPEND="$append" \
	tb_boot "$out" --lane stock --stage "$stage" --tests bench/pvx_bench ||
	tb_log "the L1 boot failed: the collector names what is missing"
outs=("$out") taps=(--tap "$out/tap.log")
if [ "${PVX_NO_IOMMU:-0}" != 1 ]; then
	rm -rf "$out/iommu" "$out/iommu".hung?
	PVX_L1_APPEND="$append PVX_BENCH_ROWS=iommu" \
		tb_boot "$out/iommu" --lane stock --stage "$stage" --iommu \
		--tests bench/pvx_bench ||
		tb_log "the IOMMU L1 boot failed: the collector names what is missing"
	outs+=("$out/iommu") taps+=(--tap "$out/iommu/tap.log")
else
	taps+=(--no-iommu)
fi
for h in "${TB_HUNG[@]}"; do tb_log "lost boot: $h"; done

rc=0
for o in "${outs[@]}"; do
	"$TESTBED_DIR/parse.py" --lane stock --out "$o" --counts "$o/counts" \
		> "$o/parse.log" || rc=1
	grep -E '^FAIL' "$o/parse.log" || true
done
python3 "$REPO/tools/bench/collect.py" "${taps[@]}" \
	--json "$out/bench.json" --rst "$out/bench.rst" --qemu "$QEMU" --accel "${PVX_L1_ACCEL:-tcg}" \
	--commit "$commit" --repo "$REPO" || rc=1
# Debian's python3, which has python3-matplotlib (deps.sh).
/usr/bin/python3 "$REPO/tools/bench/plot.py" --json "$out/bench.json" \
	--out "$out/plots" || rc=1
exit $rc
