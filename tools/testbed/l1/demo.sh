#!/bin/sh
# make run: show pvx serving a guest (runs in L1, TAP on stdout).
echo "# ---- L1: $(uname -r), KVM and pvx ----"
grep -E '^(kvm|kvm_amd|pvx_host) ' /proc/modules | sed 's/^/# module: /'
ls -l /dev/kvm /dev/pvx 2>&1 | sed 's/^/# /'
if [ -x /pvx/selftests/demo ]; then
	echo "# ---- /pvx/selftests/demo ----"
	/pvx/selftests/demo 2>&1 | sed 's/^/    /'
elif [ -x /pvx/selftests/probe_test ]; then
	echo "# ---- probe_test: a selftest VM attached to pvx ----"
	/pvx/selftests/probe_test 2>&1 | sed 's/^/    /'	# a subtest
fi
if [ -x /pvx/pvxctl ]; then
	echo "# ---- pvxctl stats ----"
	/pvx/pvxctl stats 2>&1 | sed 's/^/# /'
fi
echo "# ---- L2: an unmodified QEMU running Linux with pvx_guest ----"
exec /pvx/l1/l2-smoke.sh
