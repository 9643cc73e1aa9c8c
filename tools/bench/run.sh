#!/bin/bash
# make bench: pvx's services against the stock KVM path each replaces, in
# one L1 boot of the testbed (stock lane).  tools/bench/pvx_bench runs the
# rows, printing one JSON object per figure (# PVX-BENCH: {...});
# collect.py gathers them into a table and bench.json, and fails when a
# figure is missing.  Under TCG only counts and ratios mean anything.
#
# PVX_BENCH_OUT (default $PVX_CACHE/out/bench) gets tap.log, console.log,
# bench.json, bench.rst (the table for Documentation/perf/README.rst),
# plots/*.png (tools/bench/plot.py);
# PVX_STAGE_BENCH reuses a stage; PVX_BENCH_REPS (7).
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

# The repetitions reach L1's /init as an environment variable.
PVX_L1_APPEND="${PVX_L1_APPEND:-} PVX_BENCH_REPS=${PVX_BENCH_REPS:-7}" \
	tb_boot "$out" --lane stock --stage "$stage" --tests bench/pvx_bench ||
	tb_log "the L1 boot failed: the collector names what is missing"
for h in "${TB_HUNG[@]}"; do tb_log "lost boot: $h"; done

rc=0
"$TESTBED_DIR/parse.py" --lane stock --out "$out" --counts "$out/counts" \
	> "$out/parse.log" || rc=1
grep -E '^FAIL' "$out/parse.log" || true
python3 "$REPO/tools/bench/collect.py" --tap "$out/tap.log" \
	--json "$out/bench.json" --rst "$out/bench.rst" --qemu "$QEMU" --accel "${PVX_L1_ACCEL:-tcg}" \
	--commit "$commit" --repo "$REPO" || rc=1
# Debian's python3, which has python3-matplotlib (deps.sh).
/usr/bin/python3 "$REPO/tools/bench/plot.py" --json "$out/bench.json" \
	--out "$out/plots" || rc=1
exit $rc
