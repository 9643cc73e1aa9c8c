#!/bin/bash
# lockhint.sh [STAGE]: pvx_lockhint against stock pv qspinlock, measured.
# Boots one L1 of the testbed with an L2 of PVX_L2_SMP vCPUs (8) on L1's
# one CPU, pv spinlocks on, and runs l1/l2-lock.sh there: at each CPU
# count of PVX_L2_LOCK_CPUS (8,4,2; the other CPUs offline), for
# PVX_L2_LOCK_REPEAT rounds (3), pvx_spintorture on the kernel's own
# spinlock_t for PVX_L2_LOCK_SECONDS (5) without, then with,
# pvx_lockhint.  Prints each run's throughput and pvx's counters, and the
# ratio per CPU count (median over the rounds).  A figure, not a test:
# it exits 1 only when a run did not report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${PVX_CACHE:=$HOME/.cache/pvx}"
export PVX_CACHE
stage=${1:-${PVX_STAGE_BENCH:-}}
out=${PVX_BENCH_OUT:-$PVX_CACHE/out/bench-lockhint}
smp=${PVX_L2_SMP:-8} cpus=${PVX_L2_LOCK_CPUS:-8,4,2}
reps=${PVX_L2_LOCK_REPEAT:-3} secs=${PVX_L2_LOCK_SECONDS:-5}
if [ -z "$stage" ]; then
	# shellcheck disable=SC1091
	KDIR=$(. "$PVX_CACHE/stock.env"; echo "$KDIR")
	stage=$PVX_CACHE/stage-bench-lockhint
	make -C "$repo" stage KDIR="$KDIR" GUEST_KDIR="$KDIR" STAGE="$stage" > /dev/null
fi
rm -rf "$out"
# Boot and tests: about 2 min of L2 boot, plus 2 x reps x secs (+ 8 s of
# marks) per CPU count.
PVX_L1_APPEND="PVX_L2_SMP=$smp PVX_L2_LOCK_CPUS=$cpus PVX_L2_LOCK_REPEAT=$reps PVX_L2_LOCK_SECONDS=$secs PVX_L2_TIMEOUT=1500 ${PVX_L1_APPEND:-}" \
PVX_TEST_TIMEOUT=1600 "$repo/tools/testbed/run-l1.sh" --lane stock --stage "$stage" \
	--l2 --tests l1/l2-lock.sh --out "$out" --timeout 1800 || true
log=$out/tap.log
grep -E '^# lock ' "$log" || { echo "lockhint.sh: no figures in $log" >&2; exit 1; }
# Median ratio per CPU count over the rounds.
echo "# median over $reps rounds of lockhint/stock acquisitions per second:"
sed -n 's/^# lock ratio \([0-9]*\)\.[0-9]* CPUs: lockhint\/stock = \([0-9.]*\) .*/\1 \2/p' "$log" |
	sort -k1,1n -k2,2n | awk '
		{ r[$1] = r[$1] " " $2; n[$1]++ }
		END { for (c in n) { split(substr(r[c], 2), v, " ");
			m = n[c] % 2 ? v[(n[c] + 1) / 2] : (v[n[c] / 2] + v[n[c] / 2 + 1]) / 2;
			printf "%s CPUs: median %.2f (rounds:%s)\n", c, m, r[c] } }' | sort -n
