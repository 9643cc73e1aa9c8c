#!/bin/sh
# L1-side live migration test (TAP on stdout): two unmodified QEMUs in
# this L1, the source running L2 (l2/migrate-test.sh: pvx_clock as every
# CPU's tick, a sleep loop per CPU, pvx_balloon holding 64 MiB) and a
# destination started with -incoming.  The admin's order
# (Documentation/admin-guide.rst, "Live migration"): the destination is
# started paused (-S -incoming), attached to pvx while paused, the source
# migrates to it over a unix socket, the destination is continued, the
# source quits.  No -mem-prealloc here: what each QEMU holds is what it
# was given or touched, so RSS shows where the ballooned memory went.
# In an L1 of its own: the two QEMUs take all of L1's one CPU.
n=0
res() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi; }
bail() { echo "1..$n"; exit 1; }
L2_TIMEOUT=${PVX_L2_TIMEOUT:-700}	# seconds for L2 to print PVX-L2-DONE
MIG_TIMEOUT=300				# seconds for the migration itself

[ -f /pvx/l2.env ] || { res 1 "l2 environment (/pvx/l2.env: run-l1.sh --l2)"; bail; }
. /pvx/l2.env
H=/host
mkdir -p $H
grep -q " $H 9p " /proc/mounts ||
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot $H
mount -t proc proc $H/proc 2>/dev/null
mount -t sysfs sysfs $H/sys 2>/dev/null
mount -t devtmpfs devtmpfs $H/dev 2>/dev/null
mount -t tmpfs tmpfs $H/run 2>/dev/null
[ -f "$H$L2_INITRD" ] && [ -e $H/dev/kvm ]
res $? "qemu, /dev/kvm and the L2 initramfs visible under $H"
[ -f "$H$L2_INITRD" ] || bail

L2L_RE='PVX-L2-MIG: ' L2L_TAG=migrate
L2L_LOGS=$H/run/l2.log L2L_ACK=$H/run/l2ack.in
# shellcheck source=tools/testbed/l1/l2-life-lib.sh
. /pvx/l1/l2-life-lib.sh

# fifos NAME: NAME.in and NAME.out under /run, for a QEMU pipe: chardev;
# what QEMU writes is drained into /tmp/NAME.log
fifos() {
	rm -f "$H/run/$1.in" "$H/run/$1.out"
	mkfifo "$H/run/$1.in" "$H/run/$1.out"
	cat "$H/run/$1.out" > "/tmp/$1.log" 2>/dev/null &
}
# qemu SUFFIX ARGS...: L2's QEMU, console /run/l2SUFFIX.log, ack channel
# (ttyS1) l2ackSUFFIX, monitor l2monSUFFIX; its pid in $qemu_pid.  Source
# and destination differ in nothing else, as migration wants.
# tsc=reliable: no clocksource watchdog, whose 0.5 s timer would keep
# every CPU's next deadline shorter than QEMU's stop-to-save time, and
# the guest's idle CPUs as idle as on a host with a stable TSC.
qemu() {
	sfx=$1
	shift
	fifos l2ack$sfx
	fifos l2mon$sfx
	TMPDIR=/run chroot $H qemu-system-x86_64 -enable-kvm \
		-name l2$sfx,debug-threads=on -m 384 -cpu qemu64 -M pc -smp 2 \
		-display none -no-reboot -S \
		-serial file:/run/l2$sfx.log -serial pipe:/run/l2ack$sfx \
		-monitor pipe:/run/l2mon$sfx \
		-kernel "$L2_KERNEL" -initrd "$L2_INITRD" \
		-append "console=ttyS0 panic=-1 rdinit=/init PVX_L2_MODE=migrate tsc=reliable" \
		"$@" > /tmp/l2-qemu$sfx.log 2>&1 &
	qemu_pid=$!
}
# vm_wait PID: PID's KVM VM exists (pvxctl attach needs it)
vm_wait() {
	i=0
	while [ $i -lt 60 ] && kill -0 "$1" 2>/dev/null; do
		ls -l /proc/"$1"/fd 2>/dev/null | grep -q 'anon_inode:kvm-vm' && return 0
		sleep 1; i=$((i + 1))
	done
	return 1
}
mon() { echo "$2" > "$H/run/l2mon$1.in"; }
rss_anon() { sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$1/status 2>/dev/null; }
# stat_of PID FIELD: a number from pvxctl stats --json for PID's VM
stat_of() {
	/pvx/pvxctl stats --pid "$1" --json 2>/dev/null |
		grep -o "\"$2\": *[0-9]*" | head -n1 | grep -o '[0-9]*$'
}
# calls_of PID: all hypercalls of PID's VM, summed
calls_of() {
	/pvx/pvxctl stats --pid "$1" --json 2>/dev/null |
		grep -o '"calls": *[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

# No migration: the guest goes on at the source, alone.
l2m_abort() {
	kill "$dst" 2>/dev/null
	dst=
}

# The "migrate" mark: the destination, paused, attached, migrated to.
l2l_do_migrate() {
	src_rss_pre=$(rss_anon $src)
	qemu d -incoming unix:/run/l2mig.sock
	dst=$qemu_pid
	# its VM first, then its listening socket
	vm_wait $dst || { echo "destination QEMU made no VM"; l2m_abort; return 1; }
	i=0
	while [ $i -lt 60 ] && [ ! -S $H/run/l2mig.sock ]; do sleep 1; i=$((i + 1)); done
	/pvx/pvxctl attach --pid $dst || { l2m_abort; return 1; }
	# TCG's L1 copies slowly: no bandwidth cap, and a downtime the
	# guest's slow dirtying lets it reach
	mon "" "migrate_set_parameter max-bandwidth 1G"
	mon "" "migrate_set_parameter downtime-limit 2000"
	mon "" "migrate -d unix:/run/l2mig.sock"
	t=$(date +%s) st=
	while [ $(( $(date +%s) - t )) -lt $MIG_TIMEOUT ]; do
		sleep 2
		mon "" "info migrate"
		st=$(grep -a 'Migration status:' /tmp/l2mon.log | tail -n1 | tr -d '\r')
		case $st in *completed*|*failed*|*cancelled*) break ;; esac
	done
	mig_s=$(( $(date +%s) - t ))
	grep -a -E '(total time|downtime|transferred ram|zero pages|duplicate|normal|dirty sync count):' \
		/tmp/l2mon.log | tail -n 8 | tr -d '\r'
	echo "$st after ${mig_s}s"
	case $st in *completed*) ;; *) l2m_abort; return 1 ;; esac
	mon d cont
	# The ack is a UART interrupt, which would wake a CPU whose tick
	# waits for an expiry left behind at the source: first give the
	# guest 15 s with no interrupt from outside, as an idle guest may
	# get none for far longer (L2's loops allow 10 s without a stamp).
	sleep 15
	L2L_LOGS="$H/run/l2.log $H/run/l2d.log" L2L_ACK=$H/run/l2ackd.in
}

# The "check" mark: pvx's view on both sides, the RSS; the source quits.
l2l_do_check() {
	dst_rss=$(rss_anon $dst) src_rss=$(rss_anon $src)
	dst_calls=$(calls_of $dst) dst_balloon=$(stat_of $dst balloon_pages)
	dst_fired=$(stat_of $dst timers_fired)
	/pvx/pvxctl stats --pid $dst
	mon "" quit
	i=0
	while [ $i -lt 30 ] && kill -0 $src 2>/dev/null; do sleep 1; i=$((i + 1)); done
	/pvx/pvxctl stats > /tmp/l2-migrate-stats.txt 2>&1
	cat /tmp/l2-migrate-stats.txt
}

rm -f $H/run/l2.log $H/run/l2d.log
qemu ""
src=$qemu_pid
vm_wait $src
res $? "source QEMU (pid $src) created a KVM VM"
/pvx/pvxctl attach --pid $src > /tmp/l2-attach.txt 2>&1
res $? "pvxctl attach --pid $src ($(tr '\n' ' ' < /tmp/l2-attach.txt))"
mon "" cont
dst= start=$(date +%s) last=$start
while [ $(( $(date +%s) - start )) -lt $L2_TIMEOUT ]; do
	# shellcheck disable=SC2086
	cat $L2L_LOGS 2>/dev/null | grep -q PVX-L2-DONE && break
	kill -0 $src 2>/dev/null || { [ -n "$dst" ] && kill -0 "$dst" 2>/dev/null; } || break
	l2l_actions $src
	sleep 1
	now=$(date +%s)
	if [ $((now - last)) -ge 20 ]; then
		last=$now
		echo "# waited $((now - start))s; L2: $(cat $L2L_LOGS 2>/dev/null | tail -n1 | tr -d '\r')"
	fi
done
# shellcheck disable=SC2086
cat $L2L_LOGS 2>/dev/null | grep -q PVX-L2-DONE
res $? "L2 ran to PVX-L2-DONE in $(( $(date +%s) - start ))s"
[ -n "$dst" ] && { sleep 2; kill "$dst" 2>/dev/null; }
kill $src 2>/dev/null
sleep 1

grep -q '^rc=0$' /tmp/l2-migrate-migrate.txt 2>/dev/null
res $? "migrate: destination started with -incoming, attached while paused, migrated to, continued ($(tail -n 2 /tmp/l2-migrate-migrate.txt 2>/dev/null | tr '\n' ' '))"
l2l_report migration $H/run/l2.log $H/run/l2d.log
# The destination serves the guest: calls counted there, and the
# balloon's ranges are the destination host's records (the guest sent
# them again); the source's VM left pvx with its QEMU.
[ "${dst_calls:-0}" -gt 0 ] && [ "${dst_fired:-0}" -gt 0 ]
res $? "destination: pvxctl stats shows the guest's calls (${dst_calls:-?} calls, ${dst_fired:-?} timers fired)"
[ "${dst_balloon:-0}" = 16384 ]
res $? "destination: pvx holds the balloon's 16384 pages (${dst_balloon:-?})"
! grep -q "kvm-$src" /tmp/l2-migrate-stats.txt 2>/dev/null &&
	grep -q 'attached VMs: 1, VM states alive: 1$' /tmp/l2-migrate-stats.txt
res $? "source: no pvx state left once its QEMU quit (kvm-$src not in pvxctl stats; $(grep 'VM states alive' /tmp/l2-migrate-stats.txt))"
# QEMU sends a zero page as a flag and the destination does not write
# it into memory it never touched: the ballooned 64 MiB must not be
# resident there.  65536 kB: the balloon's size.
echo "# RssAnon kB: source ${src_rss_pre:-?} before the migration, ${src_rss:-?} after; destination ${dst_rss:-?}"
[ -n "$dst_rss" ] && [ -n "$src_rss_pre" ] && [ "$dst_rss" -le $((src_rss_pre + 16384)) ]
res $? "destination: RSS ${dst_rss:-?} kB, not above the source's ${src_rss_pre:-?} kB (+16 MiB): the ballooned memory stayed unpopulated"

L2_SPLAT_RE='Oops|BUG:|KASAN|WARNING:|cut here|circular locking|inconsistent lock state|suspicious RCU usage|blocked for more than|general protection fault|Call Trace:|kernel BUG|UBSAN|soft lockup|hard LOCKUP|rcu_sched self-detected stall|RCU stall'
! cat $H/run/l2.log $H/run/l2d.log 2>/dev/null | grep -Eq "$L2_SPLAT_RE"
res $? "no kernel splat in L2's console, on either QEMU"
echo "# ---- L2 console, source ----"
tr -d '\r' < $H/run/l2.log | sed 's/^/# l2: /'
echo "# ---- L2 console, destination ----"
tr -d '\r' < $H/run/l2d.log 2>/dev/null | sed 's/^/# l2d: /'
echo "# ---- QEMUs ----"
sed 's/^/# qemu: /' /tmp/l2-qemu.log
sed 's/^/# qemu d: /' /tmp/l2-qemud.log 2>/dev/null
echo "1..$n"
