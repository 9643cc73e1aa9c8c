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
		-device virtio-blk-pci,drive=lifedisk,disable-legacy=on"
}

l2l_do() {
	case $1 in
	detach) /pvx/pvxctl detach --pid "$2" ;;
	attach) /pvx/pvxctl attach --pid "$2" ${FEATURES:+--features $FEATURES} ;;
	rmmod) rmmod pvx_host ;;
	insmod) insmod /pvx/pvx_host.ko &&
		/pvx/pvxctl attach --pid "$2" ${FEATURES:+--features $FEATURES} ;;
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
