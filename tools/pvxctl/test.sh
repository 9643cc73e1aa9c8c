#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pvxctl's command line, on the build machine: no /dev/pvx, no VM, no root
# needed.  "make -C tools/pvxctl check" runs it.
#
# usage: test.sh [PVXCTL [PVXCTL_FAKE]]
#   PVXCTL       the pvxctl to test (default ./pvxctl)
#   PVXCTL_FAKE  pvxctl linked with pvxdev-fake.c (canned VMs), for the
#                table, JSON and --watch output (default ./pvxctl-fake;
#                those tests are skipped without it)
#
# Output: TAP ("ok N - ...", "not ok N - ...", "ok N - ... # SKIP why"),
# the plan "1..N" after the tests, then a last line
# "# N passed, N failed, N skipped".  Exit status 1 if any test failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
PVXCTL=${1:-$here/pvxctl}
FAKE=${2:-$here/pvxctl-fake}
# Never the real node: pvxctl would work on this machine's pvx.
NODEV=/nonexistent/pvx-test-$$
export PVXCTL_DEVICE=$NODEV

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 pass=0 fail=0 skip=0

ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		pass=$((pass + 1)); echo "ok $n - $2"
	else
		fail=$((fail + 1)); echo "not ok $n - $2"
		for f in out err; do
			[ -s "$tmp/$f" ] && sed "s/^/#   $f: /" "$tmp/$f" | head -n 8
		done
	fi
}

skip() {
	n=$((n + 1)) skip=$((skip + 1))
	echo "ok $n - $1 # SKIP $2"
}

# run ARGS...: pvxctl's status in $rc, its output in $tmp/out, $tmp/err
run() {
	"$PVXCTL" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
}

runfake() {
	PVXCTL_DEVICE=/dev/null "$FAKE" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
}

out_has() { grep -qE -- "$1" "$tmp/out"; }
err_has() { grep -qE -- "$1" "$tmp/err"; }
json_ok() { python3 -c 'import json, sys; [json.loads(l) for l in sys.stdin]' < "$tmp/out"; }
# json_expr PYTHON-EXPR: true if the expression holds for document d
json_expr() {
	python3 -c "import json, sys; d = json.loads(sys.stdin.readline()); sys.exit(0 if ($1) else 1)" < "$tmp/out"
}

if [ ! -x "$PVXCTL" ]; then
	echo "Bail out! no pvxctl at $PVXCTL"
	exit 1
fi

# --- help and version: stdout, exit 0 ----------------------------------
for h in --help -h help; do
	run $h
	[ $rc = 0 ] && out_has '^usage: pvxctl' && [ ! -s "$tmp/err" ]
	ok $? "pvxctl $h: usage on stdout, exit 0"
done
for c in attach detach stats balloon features help; do
	for h in --help -h; do
		run $c $h
		[ $rc = 0 ] && out_has "^usage: pvxctl $c" && [ ! -s "$tmp/err" ]
		ok $? "pvxctl $c $h: its usage on stdout, exit 0"
	done
done
run help attach
[ $rc = 0 ] && out_has '^usage: pvxctl attach' && out_has -- '--features'
ok $? "pvxctl help attach: attach's options, exit 0"
run attach --pid 1 --help
[ $rc = 0 ] && out_has '^usage: pvxctl attach'
ok $? "pvxctl attach --pid 1 --help: help wins, exit 0"

for v in --version -V; do
	run $v
	[ $rc = 0 ] && head -n1 "$tmp/out" | grep -qE '^pvxctl [^ ]+$' &&
		! head -n1 "$tmp/out" | grep -q ' $'
	ok $? "pvxctl $v: 'pvxctl VERSION' on stdout, exit 0"
done

# --- wrong command lines: message on stderr, nothing on stdout, exit 2 -
refuse() {	# refuse PATTERN ARGS...
	local pat=$1
	shift
	run "$@"
	[ $rc = 2 ] && [ ! -s "$tmp/out" ] && err_has "$pat"
	ok $? "pvxctl $*: refused (exit 2, /$pat/ on stderr)"
}
run
[ $rc = 2 ] && [ ! -s "$tmp/out" ] && err_has '^usage: pvxctl'
ok $? "pvxctl (no command): usage on stderr, exit 2"
refuse "unexpected argument 'B'" attach --pid 1 B
refuse "unexpected argument '2'" attach --pid 1 2
refuse '--id and --pid conflict' detach --id 1 --pid 5
refuse 'needs --pid' attach
refuse 'needs --id or --pid' detach
refuse 'no command .bogus.' bogus
refuse "unknown option '--bogus'" --bogus
refuse "unknown option '--bogus'" stats --bogus
refuse 'does not go with attach' attach --pid 1 --json
refuse 'does not go with stats' stats --no-target
refuse "needs a value" attach --pid
refuse 'not a process id' attach --pid 0
refuse 'not a process id' attach --pid -3
refuse 'not a process id' attach --pid 1,,2
refuse 'not a process id' attach --pid 12x
refuse 'given twice' attach --pid 1,2 --pid 2
refuse 'given twice' attach --pid 1 --features 1 --features 2
refuse 'unknown feature .bogus.' attach --pid 1 --features timer,bogus
refuse 'empty item' attach --pid 1 --features ,
refuse 'empty item' attach --pid 1 --features timer,,yield_to
refuse 'not a process id' attach --pid 1,
refuse 'single --pid' attach --pid 1,2 --fd 3
refuse '--fd goes with --pid' detach --id 1 --fd 3
refuse 'go with --watch' stats --count 2
refuse 'go with --watch' stats --interval 1
refuse 'not a count' stats --watch --count 0
refuse 'not seconds' stats --watch --interval 0
refuse 'not seconds' stats --watch --interval 1s
refuse 'conflict' balloon --pid 1 --target-mb 1 --no-target
refuse 'needs --target-mb' balloon --id 1
refuse '--id and --pid conflict' balloon --id 1 --pid 1 --no-target
refuse 'single --pid' balloon --pid 1,2 --no-target
refuse 'not a page count' balloon --id 1 --target-pages 0xffffffffffffffff
refuse 'conflict' features --list --mask
refuse "no command 'bogus'" help bogus
refuse "unexpected argument" --version extra

# --- features by name, without pvx_host --------------------------------
run features --list
[ $rc = 0 ] && out_has '^yield_to +0 +0x1 ' && out_has '^iommu +8 +0x100 '
ok $? "features --list: every known feature, no module needed"
run features --list --json
[ $rc = 0 ] && json_ok && json_expr 'd["schema"] == 3 and d["known"][1]["name"] == "timer"'
ok $? "features --list --json: JSON, schema 3"

# attach --dry-run prints the parsed features first, then looks at the
# process ($$, a shell: it has no KVM VM, so the status is 1).
feat() {	# feat SPEC EXPECTED-LINE
	run attach --dry-run --pid $$ --features "$1"
	[ $rc = 1 ] && out_has "^dry run: features $2, max-list" &&
		err_has "process $$ .* has no KVM VM"
	ok $? "--features $1 -> $2"
}
feat timer,yield_to 'yield_to,timer \(0x3\)'
feat yield-to,doorbell 'yield_to,doorbell \(0x41\)'
feat 0x1ff 'yield_to,timer,msr_batch,prefault,copy_pages,split,doorbell,balloon,iommu \(0x1ff\)'
feat 0 'none \(0\)'
feat none 'none \(0\)'
feat timer,0x100 'timer,iommu \(0x102\)'
feat 0x400 '0x400 \(0x400\)'
feat all 'all pvx_host offers'
run attach --dry-run --pid $$
[ $rc = 1 ] && out_has '^dry run: features all pvx_host offers, max-list pvx_host.s default'
ok $? "attach --dry-run without --features: all pvx_host offers"

# --- errors that name the cause ----------------------------------------
pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 4194304)
nopid=$((pid_max + 1))
run attach --dry-run --pid $nopid
[ $rc = 1 ] && err_has "no such process: $nopid"
ok $? "attach --dry-run --pid $nopid: no such process"
run attach --dry-run --pid $$,$nopid
[ $rc = 1 ] && err_has "no such process: $nopid" && err_has "process $$ .* has no KVM VM"
ok $? "attach --dry-run with two pids: each one's cause, exit 1"

if [ -e /sys/module/pvx_host ]; then
	skip "missing /dev/pvx names modprobe pvx_host" "pvx_host is loaded here"
else
	for cmd in "stats" "stats --json" "features" "attach --pid $$" \
		   "detach --id 1" "balloon --id 1 --no-target"; do
		# shellcheck disable=SC2086
		run $cmd
		[ $rc = 1 ] && err_has "$NODEV does not exist: the pvx_host module is not loaded \(run 'modprobe pvx_host'\)"
		ok $? "pvxctl $cmd without the module: says modprobe pvx_host, exit 1"
	done
fi

# --- output, from canned VMs (pvxctl-fake) -----------------------------
if [ ! -x "$FAKE" ]; then
	skip "table, JSON and --watch output" "no $FAKE (make -C tools/pvxctl pvxctl-fake)"
else
	runfake stats
	[ $rc = 0 ] && out_has '^vm 1 \(kvm-100\) features yield_to,timer,msr_batch,prefault,copy_pages,split,doorbell,balloon,iommu,lockhint max-list 256$' &&
		out_has '^vm 2 \(kvm-200\) features yield_to,timer,0x10000000000 max-list 64$'
	ok $? "stats: features by name in the vm lines, unknown bits in hex"
	bells=$(awk '$1 == "doorbell" { print $2; exit }' "$tmp/out")
	[ "$bells" = 42 ]
	ok $? "stats: the testbed's doorbell row (awk \$1 == \"doorbell\" -> $bells)"
	grep -q 'kvm-200' "$tmp/out" && out_has '^  0x70767814 +5 +0$' &&
		out_has 'balloon: 1024 pages, target 65536' && out_has 'balloon: 0 pages, no target'
	ok $? "stats: kvm-<pid>, unnamed hypercalls in hex, balloon targets"
	out_has '^  prefault calls over the budget: 3$' && out_has '^  prefault calls over the budget: 0$'
	ok $? "stats: prefault calls refused over the budget"

	runfake stats --pid 200
	[ $rc = 0 ] && out_has 'kvm-200' && ! out_has 'kvm-100'
	ok $? "stats --pid 200: only that process's VM"
	runfake stats --pid 100,300
	[ $rc = 1 ] && out_has 'kvm-100' && err_has 'no attached VM of process 300'
	ok $? "stats --pid 100,300: 300 has none, exit 1"

	runfake --version
	rsize=$(sed -n 's/.*records of \([0-9]*\) bytes (header \([0-9]*\)).*/\1 \2/p' "$tmp/out")
	runfake stats --json
	[ $rc = 0 ] && json_ok && json_expr 'd["schema"] == 3 and d["abi"]["sizes_from"] == "pvxctl" and "%d %d" % (d["abi"]["vm_record_size"], d["abi"]["stats_size"]) == "'"$rsize"'"'
	ok $? "stats --json: schema 3, the record sizes ($rsize)"
	json_expr 'd["vms"][0]["features"][0] == "yield_to" and d["vms"][0]["features_mask"] == 0x3ff and d["vms"][0]["pid"] == 100 and d["vms"][1]["features"] == ["yield_to", "timer", "0x10000000000"]'
	ok $? "stats --json: features by name, the mask, the pid"
	json_expr 'd["vms"][0]["hypercalls"]["doorbell"] == {"calls": 42, "errors": 1} and d["vms"][0]["balloon_target"] == 65536 and d["vms"][1]["balloon_target"] is None and d["vms"][0]["prefault_limited"] == 3 and d["attached"] == 2 and d["live"] == 3'
	ok $? "stats --json: counters, null balloon target"
	json_expr 'sorted(k for k in d["vms"][0]["hypercalls"] if not k.startswith("0x")) == sorted(["probe", "yield_to", "set_vector", "timer_set", "msr_batch", "prefault_write", "copy_pages", "split_collect", "doorbell", "balloon_inflate", "balloon_deflate", "balloon_stats", "iommu_map", "iommu_unmap", "lockhint_set", "lock_wait"])'
	ok $? "stats --json: every hypercall by the name <linux/pvx_para.h> gives it"

	runfake stats --watch --interval 0.05 --count 3
	[ $rc = 0 ] && [ "$(grep -c '^--- ' "$tmp/out")" = 3 ] && [ "$(grep -c '^attached VMs' "$tmp/out")" = 3 ]
	ok $? "stats --watch --count 3: three snapshots, exit 0"
	runfake stats --watch --json --interval 0.05 --count 2
	[ $rc = 0 ] && [ "$(wc -l < "$tmp/out")" = 2 ] && json_ok
	ok $? "stats --watch --json --count 2: two JSON lines"
	for sig in INT TERM; do
		PVXCTL_DEVICE=/dev/null "$FAKE" stats --watch --interval 30 > "$tmp/out" 2> "$tmp/err" &
		wpid=$!
		sleep 0.5
		kill -$sig $wpid
		t0=$(date +%s)
		wait $wpid
		rc=$?
		t1=$(date +%s)
		[ $rc = 0 ] && [ $((t1 - t0)) -le 2 ] && [ "$(grep -c '^--- ' "$tmp/out")" = 1 ]
		ok $? "stats --watch ends on SIG$sig at once, exit 0"
	done

	runfake features
	[ $rc = 0 ] && out_has '^yield_to,timer,msr_batch,prefault,copy_pages,split,doorbell,balloon,iommu,lockhint$'
	ok $? "features: names"
	runfake features --mask
	[ $rc = 0 ] && out_has '^0x3ff$'
	ok $? "features --mask: the mask"
	runfake features --json
	[ $rc = 0 ] && json_expr 'd["features_mask"] == 0x3ff and len(d["features"]) == 10'
	ok $? "features --json"
	runfake balloon --pid 100 --target-mb 256
	[ $rc = 0 ] && out_has '^vm 1: balloon target [0-9]+ pages, guest notified$'
	ok $? "balloon --pid 100: the testbed's 'guest notified'"
	runfake balloon --id 2 --no-target
	[ $rc = 1 ] && err_has 'VM attached without the balloon feature'
	ok $? "balloon: EOPNOTSUPP explained"
	runfake balloon --pid 300 --no-target
	[ $rc = 1 ] && err_has 'no attached VM of process 300'
	ok $? "balloon --pid 300: no attached VM"
	runfake detach --id 1
	[ $rc = 0 ] && out_has '^detached vm 1$'
	ok $? "detach --id 1"
	runfake detach --id 9
	[ $rc = 1 ] && err_has 'no VM of that id is attached'
	ok $? "detach --id 9: ENOENT explained"
fi

# --- the ABI headers: each usable alone by userspace ---------------------
# (with a use of macros that need what the header includes)
uapi=$here/../../include/uapi
use_pvx_para_h='unsigned long long t[] = { PVX_FEATURES_ALL, PVX_HC_IOMMU_UNMAP };'
use_pvx_h='unsigned long long t[] = { PVX_IOC_IOMMU_SETUP, PVX_DETACH_BY_ID };'
for h in pvx_para.h pvx.h; do
	use=use_${h//./_}
	printf '#include <linux/%s>\n%s\n' "$h" "${!use}" > "$tmp/h.c"
	${CC:-cc} -std=c90 -Wall -Wextra -Werror -fsyntax-only -I"$uapi" -x c "$tmp/h.c" > "$tmp/err" 2>&1
	ok $? "<linux/$h> compiles alone as C90"
	if command -v "${CXX:-c++}" > /dev/null; then
		${CXX:-c++} -Wall -Wextra -Werror -fsyntax-only -I"$uapi" -x c++ "$tmp/h.c" > "$tmp/err" 2>&1
		ok $? "<linux/$h> compiles alone as C++"
	else
		skip "<linux/$h> compiles alone as C++" "no ${CXX:-c++}"
	fi
done

echo "1..$n"
echo "# $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
