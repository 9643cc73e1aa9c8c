#!/bin/sh
# L1-side L2 smoke test (TAP on stdout).  Runs an unmodified QEMU from the
# build machine (9p export of /, chroot /host) to boot the stock Debian
# kernel as L2 with the L2 initramfs, attaches pvx to the paused VM with
# pvxctl, lets it run, and checks what the L2 guest driver reported.

# What pvx_guest prints in L2 when the host answered PVX_HC_PROBE:
L2_PROBE_RE='pvx: host pvx ABI [0-9]+'
# ... and that it arms the host timer by TSC deadline (the host takes it):
L2_TSC_RE='pvx: host pvx ABI [0-9]+, .*timer by TSC deadline'
# ... and when its per-CPU notification vector took a host timer interrupt:
L2_TIMER_RE='pvx: timer notification on CPU [0-9]+, vector 0x[0-9a-f]+'
# ... and when a doorbell hypercall kicked QEMU's virtio-rng queue:
L2_KICK_RE='pvx_kick_test: virtio-rng queue [0-9]+ kicked by pvx doorbell at 0x[0-9a-f]+: status 0, device returned [1-9]'
# ... and when it did not (VM not attached, or no pvx on the host):
L2_NOHOST_RE='pvx: no pvx host'
L2_DONE=PVX-L2-DONE
L2_TIMEOUT=${PVX_L2_TIMEOUT:-800}	# seconds for L2 to print PVX-L2-DONE
VM_TIMEOUT=60				# seconds for QEMU to create its KVM VM

n=0
res() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
bail() { echo "1..$n"; exit 1; }

[ -f /pvx/l2.env ] || { echo "# /pvx/l2.env missing: run-l1.sh was not given --l2"; res 1 "l2 environment"; bail; }
. /pvx/l2.env
H=/host
mkdir -p $H 2>/dev/null
if ! grep -q " $H 9p " /proc/mounts; then
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot $H
fi
grep -q " $H 9p " /proc/mounts; res $? "9p mount of the build machine's root"
mount -t proc proc $H/proc 2>/dev/null
mount -t sysfs sysfs $H/sys 2>/dev/null
mount -t devtmpfs devtmpfs $H/dev 2>/dev/null
mount -t tmpfs tmpfs $H/run 2>/dev/null  # not /tmp: the L2 files may live there
vis=0
for f in /dev/kvm /usr/bin/qemu-system-x86_64 "$L2_KERNEL" "$L2_INITRD"; do
	[ -e "$H$f" ] || { echo "# missing: $H$f"; vis=1; }
done
res $vis "qemu, /dev/kvm, L2 kernel and initramfs visible under $H"
[ -f "$H$L2_INITRD" ] || bail

rm -f $H/run/l2mon.in $H/run/l2mon.out $H/run/l2.log
mkfifo $H/run/l2mon.in $H/run/l2mon.out
# PVX_L2_MODE: smoke (default), or life (l2-life.sh): an L2 that only
# runs the lifecycle test, without the virtio devices and the balloon.
MODE=${PVX_L2_MODE:-smoke}
L2_PIN=
# pvx_virtio's disk, network and ack channel ($L2V_QEMU_ARGS)
. /pvx/l1/l2-virtio.sh
# the lifecycle test's actions (detach, rmmod...), on the same ack channel
. /pvx/l1/l2-life-lib.sh
# the lock-hint test's snapshots of pvx's counters (PVX_L2_MODE=lock)
. /pvx/l1/l2-lock-lib.sh
# The lifecycle boot resets L2 (system_reset), which -no-reboot would
# turn into QEMU's exit.
if [ "$MODE" = life ]; then
	l2l_setup
	L2_MEM="-m 384" L2_REBOOT=
elif [ "$MODE" = lock ]; then
	L2_MEM="-m 384" L2_REBOOT=-no-reboot L2V_QEMU_ARGS=
	# Every vCPU thread on one L1 CPU, the overcommit measured (L1
	# has one CPU today; this keeps it so if it gets more).
	L2_PIN="taskset -c 0"
else
	l2v_setup
	L2_MEM="-mem-prealloc -m 768" L2_REBOOT=-no-reboot
	# balloon_test takes a ZONE_MOVABLE memory block offline to
	# migrate ballooned pages.
	L2_KARGS=movablecore=256M
fi
# Every 2 s, L1's view of L2: each QEMU thread's state and CPU time
# (ticks) and where it sleeps, pvx's timer expiries, and L1's hrtimers
# that wake L2's vCPUs.  Printed when L2's console shows a stall or a splat, to tell
# an L2 vCPU that slept with no interrupt coming (a lost expiry) from one
# that was runnable and not run (L1 or the emulator).
L2_SCHED=/tmp/l2-sched.txt
l2_sched_sampler() {
	: > $L2_SCHED
	while kill -0 "$1" 2>/dev/null; do
		line="$(cut -d' ' -f1 /proc/uptime)"
		for t in /proc/$1/task/*; do
			# comm may hold spaces ("CPU 0/KVM"): fields after ")"
			st=$(sed 's/.*) //' $t/stat 2>/dev/null | cut -d' ' -f1,12,13)
			line="$line $(tr ' ' _ < $t/comm 2>/dev/null):$(echo $st | tr ' ' :):$(cat $t/wchan 2>/dev/null)"
		done
		fired=$(/pvx/pvxctl stats 2>/dev/null | awk '/timers fired:/ { print $3; exit }')
		# L1's hrtimers that wake L2's vCPUs: pvx's and KVM's LAPIC
		# timer, each with the ns until it expires (negative: overdue)
		tl=$(awk '/pvx_timer_fire|apic_timer_fn/ { f = $3; sub(/,$/, "", f); getline x
			split(x, a, "[[]in "); split(a[2], b, " "); printf "%s:%s ", f, b[1] }' \
			/proc/timer_list 2>/dev/null)
		echo "$line fired:${fired:-?} $tl" >> $L2_SCHED
		sleep 2
	done
}

# Not -cpu host: under TCG the XSAVE sizes it passes through disagree with
# the features, and L2's kernel WARNs at boot ("XSAVE consistency").
# -mem-prealloc: all guest RAM is resident in QEMU from the start, so that
# what the balloon gives back must show in QEMU's RSS.  The virtio-rng
# device (modern virtio-pci, QEMU's ioeventfd on its notify register) is
# for pvx_kick_test's doorbell.  768 MiB: fio and its libraries (for
# pvx_virtio's test) take about 90 MiB of the initramfs.
TMPDIR=/run chroot $H $L2_PIN qemu-system-x86_64 -enable-kvm -name l2,debug-threads=on $L2_MEM -cpu "${PVX_L2_CPU:-qemu64}" -M pc -smp "${PVX_L2_SMP:-2}" \
	-display none $L2_REBOOT -S \
	-device virtio-rng-pci,disable-legacy=on \
	-serial file:/run/l2.log -monitor pipe:/run/l2mon $L2V_QEMU_ARGS \
	-kernel "$L2_KERNEL" -initrd "$L2_INITRD" \
	-append "console=ttyS0 panic=-1 rdinit=/init PVX_L2_MODE=$MODE ${L2_KARGS:-} ${PVX_L2_APPEND:-}" \
	> /tmp/l2-qemu.log 2>&1 &
qpid=$!
[ "$MODE" = smoke ] && l2v_sampler $qpid &
l2_sched_sampler $qpid &
cat $H/run/l2mon.out > /tmp/l2mon.log 2>/dev/null &
catpid=$!

# wait for QEMU's KVM VM fd
vm=1 i=0
while [ $i -lt $VM_TIMEOUT ] && kill -0 $qpid 2>/dev/null; do
	for fd in /proc/$qpid/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:kvm-vm" ] && vm=0
	done
	[ $vm = 0 ] && break
	sleep 1; i=$((i + 1))
done
res $vm "L2 QEMU (pid $qpid) created a KVM VM"
if [ $vm != 0 ]; then
	echo "# qemu log:"; sed 's/^/# /' /tmp/l2-qemu.log
	kill -9 $qpid 2>/dev/null; kill $catpid 2>/dev/null
	bail
fi

# Served nothing (l2-refuse.sh): not attached (PVX_L2_ATTACH=0), or
# attached with no features (PVX_L2_FEATURES=0).
FEATURES=${PVX_L2_FEATURES:-}
refuse=0
if [ "${PVX_L2_ATTACH:-1}" = 0 ] || [ "$FEATURES" = 0 ]; then refuse=1; fi
attached=0
if [ "${PVX_L2_ATTACH:-1}" = 0 ]; then
	echo "# not attached (PVX_L2_ATTACH=0): the guest must find no pvx host"
elif [ -x /pvx/pvxctl ]; then
	/pvx/pvxctl attach --pid $qpid ${FEATURES:+--features $FEATURES} 2>&1 | sed 's/^/# pvxctl: /'
	# sed hides pvxctl's status; ask again through the exit status
	/pvx/pvxctl stats > /tmp/l2-stats.txt 2>&1
	if grep -q "kvm-$qpid" /tmp/l2-stats.txt; then attached=1; fi
	sed 's/^/# pvxctl stats: /' /tmp/l2-stats.txt
	[ $attached = 1 ]; res $? "pvxctl attach --pid $qpid (VM listed by pvxctl stats)"
else
	skip "pvxctl attach" "no /pvx/pvxctl staged"
fi

# L2 QEMU's anonymous memory (guest RAM), in kB.
rss_anon() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$qpid/status 2>/dev/null; }
# The balloon step in L2 pauses at each marker so that it can be sampled.
rss_before= rss_inflated=

echo cont > $H/run/l2mon.in
start=$(date +%s) done=1
last=$start
while [ $(( $(date +%s) - start )) -lt $L2_TIMEOUT ] && kill -0 $qpid 2>/dev/null; do
	if grep -q "$L2_DONE" $H/run/l2.log 2>/dev/null; then done=0; break; fi
	# The host drives L2's balloon: 256 MiB out, then all of it back.
	if [ -z "$rss_before" ] && grep -q 'PVX-L2-BALLOON: before' $H/run/l2.log; then
		rss_before=$(rss_anon)
		/pvx/pvxctl balloon --pid $qpid --target-mb 256 > /tmp/l2-balloon.txt 2>&1
		sed 's/^/# pvxctl balloon: /' /tmp/l2-balloon.txt
	fi
	if [ -z "$rss_inflated" ] && grep -q 'PVX-L2-BALLOON: inflated' $H/run/l2.log; then
		rss_inflated=$(rss_anon)
		/pvx/pvxctl balloon --pid $qpid --target-pages 0 2>&1 | sed 's/^/# pvxctl balloon: /'
	fi
	l2l_actions $qpid
	[ "$MODE" = lock ] && l2k_actions $qpid
	sleep 1
	now=$(date +%s)
	if [ $((now - last)) -ge 10 ]; then
		last=$now
		echo "# waited $((now - start))s; L2 log: $(wc -l < $H/run/l2.log) lines, last: $(tail -n1 $H/run/l2.log | tr -d '\r')"
	fi
done
grep -q "$L2_DONE" $H/run/l2.log 2>/dev/null && done=0	# QEMU may exit right after
el=$(( $(date +%s) - start ))
res $done "l2 boots to $L2_DONE (waited ${el}s)"

if [ $attached = 1 ]; then
	/pvx/pvxctl stats 2>&1 | sed 's/^/# pvxctl stats after L2 boot: /'
fi
# power off / kill L2
kill $qpid 2>/dev/null; sleep 1; kill -9 $qpid 2>/dev/null
wait $qpid 2>/dev/null
kill $catpid 2>/dev/null

# L2's /init, served nothing, prints one line per driver:
# "PVX-L2-REFUSE: <module> rc=<insmod's status>: <its kernel lines, |-joined>"
refuse_results() {
	tr -d '\r' < $H/run/l2.log | sed -n 's/^PVX-L2-REFUSE: //p' > /tmp/l2-refuse.txt
	[ "$(wc -l < /tmp/l2-refuse.txt)" = 5 ]
	res $? "l2 served nothing: a result for each of the 5 drivers"
	while read -r m rc msg; do
		rc=${rc#rc=}; rc=${rc%:}
		one=1
		case $msg in ""|*"|"*) ;; *) one=0 ;; esac
		if [ "${PVX_L2_ATTACH:-1}" = 0 ]; then
			[ "$rc" != 0 ] && [ $one = 0 ] && echo "$msg" | grep -Eq "^$L2_NOHOST_RE"
			res $? "l2 no pvx host: $m does not load; one line, pvx_guest's ($msg)"
		elif [ "$m" = pvx_spinlock ]; then
			[ "$rc" = 0 ] && [ $one = 0 ] && echo "$msg" | grep -q '^pvx_spinlock: .*spinning only'
			res $? "l2 no features: pvx_spinlock loads spinning only, saying so in one line ($msg)"
		else
			[ "$rc" != 0 ] && [ $one = 0 ] && echo "$msg" | grep -q "^$m: "
			res $? "l2 no features: $m refuses with one line of its own ($msg)"
		fi
	done < /tmp/l2-refuse.txt
}

if [ $refuse = 1 ]; then
	refuse_results
elif ! grep -q 'PVX-L2: insmod' $H/run/l2.log 2>/dev/null; then
	skip "l2 probe" "no l2/*.ko staged or L2 did not get that far"
elif [ $attached = 1 ] && [ "$MODE" = lock ]; then
	grep -Eq "$L2_PROBE_RE" $H/run/l2.log; res $? "l2 probe: guest saw the pvx host (/$L2_PROBE_RE/)"
	l2k_results
elif [ $attached = 1 ] && [ "$MODE" = life ]; then
	grep -Eq "$L2_PROBE_RE" $H/run/l2.log; res $? "l2 probe: guest saw the pvx host (/$L2_PROBE_RE/)"
	nonotify=$(tr -d '\r' < $H/run/l2.log | sed -n 's/^PVX-L2-NONOTIFY: //p')
	case $nonotify in
	"pvx_clock rc=0"*|*"|"*) false ;;
	"pvx_clock rc="*"pvx_clock: host notifications do not reach"*) true ;;
	*) false ;;
	esac
	res $? "l2 pvx_guest notifications=0: pvx_clock refuses, in one line of its own ($nonotify)"
	l2l_results
elif [ $attached = 1 ]; then
	grep -Eq "$L2_PROBE_RE" $H/run/l2.log; res $? "l2 probe: guest saw the pvx host (/$L2_PROBE_RE/)"
	grep -Eq "$L2_TIMER_RE" $H/run/l2.log; res $? "l2 timer: host timer interrupt reached the guest's vector (/$L2_TIMER_RE/)"
	grep -Eq "$L2_TSC_RE" $H/run/l2.log; res $? "l2 timer: pvx_guest arms it by TSC deadline (/$L2_TSC_RE/)"
	grep -Eq "$L2_KICK_RE" $H/run/l2.log
	res $? "l2 doorbell: a hypercall kicked the unmodified QEMU's virtio queue and the device answered"
	grep -q 'guest notified' /tmp/l2-balloon.txt 2>/dev/null
	res $? "l2 balloon: pvxctl balloon set the target and the guest was sent the host event"
	if grep -q 'PVX-L2-BALLOON: inflated' $H/run/l2.log; then
		inflated_kb=$(( $(sed -n 's/.*PVX-L2-BALLOON: inflated \([0-9]*\) pages.*/\1/p' $H/run/l2.log | head -n1) * 4 ))
		echo "# L2 QEMU RssAnon: ${rss_before:-?} kB before, ${rss_inflated:-?} kB after the guest inflated $inflated_kb kB"
		[ -n "$rss_before" ] && [ -n "$rss_inflated" ] && [ "$inflated_kb" -gt 0 ] &&
			[ $((rss_before - rss_inflated)) -ge $((inflated_kb * 99 / 100)) ]
		res $? "l2 balloon: L1's QEMU gave back >= 99% of what L2 inflated"
		grep -q 'PVX-L2-BALLOON: inflated 65536 pages for host target 65536' $H/run/l2.log
		res $? "l2 balloon: the guest followed the host's target of 256 MiB"
		grep -q 'PVX-L2-BALLOON: deflated, 0 pages left, memory use ok' $H/run/l2.log
		res $? "l2 balloon: deflated to the host's target 0, and the pages work again"
	else
		res 1 "l2 balloon: L2 reached the balloon step"
	fi
else
	grep -Eq "$L2_NOHOST_RE" $H/run/l2.log; res $? "l2 probe: unattached guest saw no pvx host (/$L2_NOHOST_RE/)"
fi

# The guest kselftests (selftests/guest): L2's /init runs kselftest's
# runner and then prints its whole output again, each line marked
# "PVX-KSFT: ".  Each top-level ok / not ok of the runner (one per test)
# is one result here; their subtests are the runner's "# " lines and count
# only through their test's result.  No runner output is a failure.
tr -d '\r' < $H/run/l2.log 2>/dev/null | sed -n 's/^PVX-KSFT: //p' > /tmp/l2-ksft.log
if [ $refuse = 1 ] || [ "$MODE" = life ] || [ "$MODE" = lock ]; then
	:	# nothing served, or the lifecycle or locks alone: no kselftests
elif ! grep -q '^PVX-L2-KSFT: done' $H/run/l2.log 2>/dev/null; then
	res 1 "l2 kselftests: the runner's output (no PVX-L2-KSFT: done from L2)"
else
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' /tmp/l2-ksft.log | head -n1)
	got=0
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*) ;;
		*) continue ;;
		esac
		got=$((got + 1))
		# "ok 2 selftests: pvx: clock_test # SKIP" -> "pvx: clock_test # SKIP"
		what=${line#*selftests: }
		case $line in
		"ok "*"# SKIP"*) skip "l2 kselftest ${what%% #*}" "the test skipped: see its output in the L2 console" ;;
		"ok "*) res 0 "l2 kselftest $what" ;;
		*) res 1 "l2 kselftest $what" ;;
		esac
	done < /tmp/l2-ksft.log
	[ -n "$plan" ] && [ "$got" = "$plan" ] && [ "$got" -gt 0 ]
	res $? "l2 kselftests: $got results for the runner's plan 1..${plan:-?}"
fi

# pvx_virtio: fio, network, exits per I/O against virtio-pci
[ $attached = 1 ] && [ $refuse = 0 ] && [ "$MODE" = smoke ] && l2v_results

# The same splat patterns as L1's console: a WARN in L2 is a failure too.
L2_SPLAT_RE='Oops|BUG:|KASAN|WARNING:|cut here|circular locking|inconsistent lock state|suspicious RCU usage|blocked for more than|general protection fault|Call Trace:|kernel BUG|UBSAN|soft lockup|hard LOCKUP|rcu_sched self-detected stall|RCU stall'
if [ -f $H/run/l2.log ]; then
	! grep -Eq "$L2_SPLAT_RE" $H/run/l2.log
	splat=$?
	res $splat "l2: no kernel splat in L2's console"
	if [ $splat != 0 ] || grep -q 'Long readout interval' $H/run/l2.log; then
		echo "# ---- L1's samples of L2 (uptime, thread:state:utime:stime:wchan, pvx timers fired, hrtimer:ns to expiry) ----"
		sed 's/^/# sched: /' $L2_SCHED
	fi
fi

echo "# ---- L2 console ----"
tr -d '\r' < $H/run/l2.log | sed 's/^/# l2: /'
echo "# ---- L2 QEMU ----"
sed 's/^/# qemu: /' /tmp/l2-qemu.log
echo "1..$n"
