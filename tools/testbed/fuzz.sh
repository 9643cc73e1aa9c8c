#!/bin/bash
# make fuzz: the hypercall fuzzer (selftests/fuzz_test) on the debug lane,
# longer than make check runs it, in an L1 of its own.
#
# env: PVX_FUZZ_SECONDS (default 1800): how long it fuzzes at least;
#      PVX_FUZZ_SEED: replay a seed a run printed; PVX_FUZZ_CALLS: at least
#      that many calls too (default 10^6); PVX_STAGE_DEBUG: a prebuilt stage.
set -uo pipefail
# shellcheck source=tools/testbed/common.sh
. "$(dirname "$0")/common.sh"
{ [ -f "$PVX_CACHE/stock.env" ] && [ -f "$PVX_CACHE/qemu.env" ]; } ||
	"$TESTBED_DIR/deps.sh" || tb_die "deps.sh failed"
secs=${PVX_FUZZ_SECONDS:-1800}
out=$PVX_CACHE/out/fuzz
stage=${PVX_STAGE_DEBUG:-$PVX_CACHE/stage/debug}
rm -rf "$out" "$out".hung?; mkdir -p "$out"
"$TESTBED_DIR/debug-kernel.sh" > "$out/debug-kernel.log" 2>&1 ||
	{ tail -30 "$out/debug-kernel.log"; tb_die "debug kernel build failed"; }
if [ -z "${PVX_STAGE_DEBUG:-}" ]; then
	KDIR=$(. "$PVX_CACHE/debug.env"; echo "$KDIR")
	STOCK_KDIR=$(. "$PVX_CACHE/stock.env"; echo "$KDIR")
	make -C "$REPO_DIR" stage KDIR="$KDIR" GUEST_KDIR="$STOCK_KDIR" STAGE="$stage" \
		> "$out/stage.log" 2>&1 || { tail -40 "$out/stage.log"; tb_die "make stage failed"; }
fi
args="PVX_FUZZ_SECONDS=$secs"
[ -n "${PVX_FUZZ_SEED:-}" ] && args="$args PVX_FUZZ_SEED=$PVX_FUZZ_SEED"
[ -n "${PVX_FUZZ_CALLS:-}" ] && args="$args PVX_FUZZ_CALLS=$PVX_FUZZ_CALLS"
PVX_L1_APPEND="${PVX_L1_APPEND:-} $args" PVX_TEST_TIMEOUT=$((secs + 900)) \
	tb_boot "$out" --lane debug --stage "$stage" --tests selftests/fuzz_test \
	--timeout $((secs + 1200))
for h in "${TB_HUNG[@]}"; do tb_log "L1 lost and booted again: $h"; done
grep -E '^# (seed|[0-9]+ calls)|^#  *[A-Za-z_0-9.-]+ +[0-9]+:|^(not )?ok' "$out/tap.log"
"$TESTBED_DIR/parse.py" --lane debug-fuzz --out "$out"
