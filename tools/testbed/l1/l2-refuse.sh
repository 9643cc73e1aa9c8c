#!/bin/sh
# L1-side: L2 served nothing, twice: not attached to pvx (the guest finds
# no pvx host), then attached with no features.  Every pvx driver must
# refuse with one clear line (pvx_spinlock: load spinning only) and L2
# must finish: nothing hangs.  Each run is l2-smoke.sh in that mode; its
# results are nested here, one top-level result per run.
#
# One L2 vCPU: nothing here needs two, and it takes away the nested-TCG
# freeze in which an L2 vCPU waits with interrupts off for the other one
# and L1 never gets its CPU back (testbed README, "When L1 hangs"): it hit
# 2 of 4 two-vCPU boots of this script.
n=0 failed=0
for mode in PVX_L2_ATTACH=0 PVX_L2_FEATURES=0; do
	n=$((n + 1))
	# Streamed, indented: a hang still shows how far it got.
	{ env "$mode" PVX_L2_SMP=1 PVX_L2_TIMEOUT="${PVX_L2_TIMEOUT:-150}" \
		/pvx/l1/l2-smoke.sh 2>&1; echo "rc=$?" > /tmp/l2-refuse-$n.rc; } |
		tee /tmp/l2-refuse-$n.tap | sed 's/^/    /'
	rc=$(sed -n 's/^rc=//p' /tmp/l2-refuse-$n.rc)
	# Its own plan, and nothing failed in it.
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' /tmp/l2-refuse-$n.tap | tail -n1)
	got=$(grep -Ec '^(ok|not ok) ' /tmp/l2-refuse-$n.tap)
	if [ "$rc" = 0 ] && [ -n "$plan" ] && [ "$plan" = "$got" ] &&
	   ! grep -q '^not ok ' /tmp/l2-refuse-$n.tap; then
		echo "ok $n L2 served nothing ($mode)"
	else
		echo "not ok $n L2 served nothing ($mode): rc $rc, $got results for plan ${plan:-?}"
		failed=1
	fi
done
echo "1..$n"
exit $failed
