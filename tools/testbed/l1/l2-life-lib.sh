# shellcheck shell=sh
# L1 side of the lifecycle test (l2/life-test.sh), sourced by l2-smoke.sh
# (PVX_L2_MODE=life, see l2-life.sh):
#   l2l_setup          the ack channel and one disk (L2V_QEMU_ARGS)
#   l2l_actions QPID   at each new "PVX-L2-LIFE: mark NAME" of L2, does
#                      NAME to QPID's VM, then acks on L2's ttyS1
#   l2l_results        TAP results from L2's "PVX-L2-LIFE: ok|fail" lines
# l2-migrate.sh sets, before l2l_actions: L2L_RE (its marks' prefix),
# L2L_TAG (its files' name), L2L_LOGS (the consoles it reads, one per
# QEMU the guest ran on) and L2L_ACK (where the guest's ttyS1 is now); a
# mark no case below knows is the function l2l_do_NAME, if defined.
L2L_RE=${L2L_RE:-'PVX-L2-LIFE: '}
L2L_TAG=${L2L_TAG:-life}
L2L_LOGS=${L2L_LOGS:-$H/run/l2.log}
L2L_ACK=${L2L_ACK:-$H/run/l2ack.in}
l2l_seen=0
l2l_boots=0

# The ack channel, and a virtio-blk disk for fio across the detach.
l2l_setup() {
	rm -f "$H/run/l2ack.in" "$H/run/l2ack.out"
	mkfifo "$H/run/l2ack.in" "$H/run/l2ack.out"
	cat "$H/run/l2ack.out" > /dev/null 2>&1 &
	dd if=/dev/zero of="$H/run/l2-life-disk.img" bs=1M count=16 2>/dev/null
	L2V_QEMU_ARGS="-serial pipe:/run/l2ack
		-drive file=/run/l2-life-disk.img,if=none,id=lifedisk,format=raw
		-device virtio-blk-pci,drive=lifedisk,disable-legacy=on,id=lifeblk"
}

# l2l_where: each L2 vCPU's RIP, and SysRq's blocked tasks and CPU
# backtraces on L2's console (seen only with no_console_suspend while
# L2 suspends or resumes).
l2l_where() {
	for c in 0 1 2 3; do
		: > /tmp/l2mon.log
		echo "cpu $c" > "$H/run/l2mon.in"
		echo "info registers" > "$H/run/l2mon.in"
		sleep 1
		rip=$(grep -o 'RIP=[0-9a-f]*' /tmp/l2mon.log | head -n 1 | cut -d= -f2)
		[ -n "$rip" ] && echo "vCPU $c: RIP $rip"
	done
	echo "sendkey alt-sysrq-w" > "$H/run/l2mon.in"
	sleep 2
	echo "sendkey alt-sysrq-l" > "$H/run/l2mon.in"
	sleep 2
}

l2l_do() {
	case $1 in
	detach) /pvx/pvxctl detach --pid "$2" ;;
	attach) /pvx/pvxctl attach --pid "$2" ${FEATURES:+--features $FEATURES} ;;
	rmmod) rmmod pvx_host ;;
	insmod) insmod /pvx/pvx_host.ko &&
		/pvx/pvxctl attach --pid "$2" ${FEATURES:+--features $FEATURES} ;;
	unplug) echo "device_del lifeblk" > "$H/run/l2mon.in" ;;
	suspend)
		# L2 sleeps once QEMU says so; then wake it as a user would.
		i=0
		while [ $i -lt 60 ]; do
			echo "info status" > "$H/run/l2mon.in"
			sleep 1
			grep -q 'suspended' /tmp/l2mon.log && break
			i=$((i + 1))
		done
		grep 'VM status' /tmp/l2mon.log | tail -n 1
		if ! grep -q 'suspended' /tmp/l2mon.log; then
			echo "L2 never suspended; where its vCPUs are:"
			l2l_where
			return 1
		fi
		echo "asleep after ${i}s"
		# QEMU says "running" once it has woken the VM; a wakeup sent
		# too early is dropped, so ask again until it is.
		i=0
		while [ $i -lt 10 ]; do
			echo system_wakeup > "$H/run/l2mon.in"
			sleep 1
			echo "info status" > "$H/run/l2mon.in"
			sleep 1
			[ "$(grep 'VM status' /tmp/l2mon.log | tail -n 1 | tr -d '\r')" = "VM status: running" ] && break
			i=$((i + 1))
		done
		grep 'VM status' /tmp/l2mon.log | tail -n 1
		[ $i -lt 10 ] || { echo "QEMU never woke L2"; return 1; }
		echo "woken after $((i + 1)) wakeup(s)"
		# The console comes back last of all: a resume stuck before it
		# shows nothing; say where the vCPUs are then.
		i=0
		while [ $i -lt 60 ] && ! grep -q 'PM: suspend exit' "$H/run/l2.log"; do
			sleep 1; i=$((i + 1))
		done
		grep -q 'PM: suspend exit' "$H/run/l2.log" && return 0
		echo "no 'PM: suspend exit' from L2 in 60 s; where its vCPUs are:"
		l2l_where; sleep 5; l2l_where
		return 1 ;;
	reset)
		/pvx/pvxctl stats --pid "$2" --json > /tmp/l2-life-stats-before.json &&
		echo system_reset > "$H/run/l2mon.in" ;;
	boot)
		l2l_boots=$((l2l_boots + 1))
		# the first boot's state, as the host has it after the reset
		[ $l2l_boots = 1 ] ||
			/pvx/pvxctl stats --pid "$2" --json > /tmp/l2-life-stats-after.json
		;;
	*)
		if command -v "l2l_do_$1" > /dev/null; then
			"l2l_do_$1" "$2"
		else
			echo "unknown mark $1"; return 1
		fi ;;
	esac
}

l2l_actions() {
	# shellcheck disable=SC2086 # one or more files
	marks=$(cat $L2L_LOGS 2>/dev/null | grep -c "${L2L_RE}mark ")
	while [ "${marks:-0}" -gt $l2l_seen ]; do
		l2l_seen=$((l2l_seen + 1))
		# shellcheck disable=SC2086
		name=$(cat $L2L_LOGS 2>/dev/null | grep "${L2L_RE}mark " |
			sed -n "${l2l_seen}p" | sed 's/.*mark //' | tr -d '\r')
		l2l_do "$name" "$1" > /tmp/l2-$L2L_TAG-$name.txt 2>&1
		echo "rc=$?" >> /tmp/l2-$L2L_TAG-$name.txt
		sed "s/^/# $L2L_TAG $name: /" /tmp/l2-$L2L_TAG-$name.txt
		case $name in
		reset) ;;	# the guest is gone: the next boot asks anew
		suspend) ;;	# the guest slept: its script goes on by itself
		boot) timeout 5 sh -c "echo 'ack boot $l2l_boots' > $L2L_ACK" ;;
		*) timeout 5 sh -c "echo 'ack $name' > $L2L_ACK" ;;
		esac
	done
}

l2l_results() {
	if ! grep -q "${L2L_RE}done" "$H/run/l2.log"; then
		grep "${L2L_RE}" "$H/run/l2.log" | tr -d '\r' | sed 's/^/# /'
		res 1 "lifecycle: L2's life-test.sh ran to its end"
		return
	fi
	for f in /tmp/l2-life-*.txt; do
		grep -q '^rc=0$' "$f"
		res $? "lifecycle: L1 did $(basename "$f" .txt | sed 's/l2-life-//') ($(tr '\n' ' ' < "$f"))"
	done
	[ $l2l_boots = 2 ]
	res $? "lifecycle: L2 booted again after the system_reset ($l2l_boots boots)"
	# pvx's view: the balloon held 1024 pages, and after the reset none.
	# QEMU 7.2 sets the boot vCPU's APIC twice per system_reset: 2 resets.
	b0=$(grep -o '"balloon_pages": *[0-9]*' /tmp/l2-life-stats-before.json 2>/dev/null | grep -o '[0-9]*$')
	b1=$(grep -o '"balloon_pages": *[0-9]*' /tmp/l2-life-stats-after.json 2>/dev/null | grep -o '[0-9]*$')
	r1=$(grep -o '"guest_resets": *[0-9]*' /tmp/l2-life-stats-after.json 2>/dev/null | grep -o '[0-9]*$')
	[ "$b0" = 1024 ] && [ "$b1" = 0 ] && [ "${r1:-0}" -ge 1 ]
	res $? "lifecycle: the reset dropped the host's balloon records (pages ${b0:-?} -> ${b1:-?}, guest_resets ${r1:-?})"
	l2l_report lifecycle "$H/run/l2.log"
}

# l2l_report WHAT LOG...: a TAP result for each of L2's "ok|fail" lines
l2l_report() {
	what=$1
	shift
	cat "$@" 2>/dev/null | tr -d '\r' |
		sed -n "s/^${L2L_RE}\(ok\|fail\) /\1 /p" > /tmp/l2-$L2L_TAG.txt
	[ -s /tmp/l2-$L2L_TAG.txt ]
	res $? "$what: L2 reported results"
	while read -r st line; do
		[ "$st" = ok ]
		res $? "$what: $line"
	done < /tmp/l2-$L2L_TAG.txt
}
