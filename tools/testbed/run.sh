#!/bin/bash
# make run: stock lane only; stage, boot L1, run the demo (l1/demo.sh) and
# print what happened.
set -uo pipefail
# shellcheck source=tools/testbed/common.sh
. "$(dirname "$0")/common.sh"
{ [ -f "$PVX_CACHE/stock.env" ] && [ -f "$PVX_CACHE/qemu.env" ]; } ||
	"$TESTBED_DIR/deps.sh" || tb_die "deps.sh failed"
KDIR=$(. "$PVX_CACHE/stock.env"; echo "$KDIR")
out=$PVX_CACHE/out/run
stage=$PVX_CACHE/stage/stock
mkdir -p "$out"
if [ -n "${PVX_STAGE_STOCK:-}" ]; then
	stage=$PVX_STAGE_STOCK
else
	make -C "$REPO_DIR" stage KDIR="$KDIR" STAGE="$stage" > "$out/stage.log" 2>&1 || {
		tail -40 "$out/stage.log"; tb_die "make stage failed"; }
fi
tb_boot "$out" --lane stock --stage "$stage" --l2 --tests l1/demo.sh --timeout 600
echo "================ L1 test output ($out/tap.log) ================"
# L2's own kernel log is long: keep only what pvx and the L2 init printed
grep -v '^# l2: \[' "$out/tap.log" | tr -d '\r'
echo "================ results ================"
for h in "${TB_HUNG[@]}"; do tb_log "L1 lost and booted again: $h"; done
"$TESTBED_DIR/parse.py" --lane stock --out "$out"
