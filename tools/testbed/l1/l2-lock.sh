#!/bin/sh
# L1-side lock-hint test: an L2 of its own, 4 vCPUs with pv spinlocks
# (QEMU's kvm-pv-unhalt, as libvirt's <pvspinlock state='on'/>) on L1's
# one CPU, runs pvx_spintorture on the kernel's own spinlock_t without
# and with pvx_lockhint (l2-lock-lib.sh, L2's /init).  PVX_L2_LOCK_CPUS,
# _SECONDS and _REPEAT make it the benchmark (tools/bench/lockhint.sh).
exec env PVX_L2_MODE=lock PVX_L2_SMP="${PVX_L2_SMP:-4}" \
	PVX_L2_CPU="${PVX_L2_CPU:-qemu64,kvm-pv-unhalt=on,kvm-pv-sched-yield=on}" \
	PVX_L2_TIMEOUT="${PVX_L2_TIMEOUT:-400}" \
	PVX_L2_APPEND="PVX_L2_LOCK_CPUS=${PVX_L2_LOCK_CPUS:-4,2} PVX_L2_LOCK_SECONDS=${PVX_L2_LOCK_SECONDS:-3} PVX_L2_LOCK_REPEAT=${PVX_L2_LOCK_REPEAT:-1}" \
	/pvx/l1/l2-smoke.sh
