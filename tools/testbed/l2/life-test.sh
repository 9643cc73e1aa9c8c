#!/bin/sh
# L2 side of the lifecycle test, run by /init: the host stops serving this
# guest while pvx_clock is every CPU's tick, and serves it again.  One
# sleep loop per CPU (pinned) stamps /proc/uptime into a file every 100 ms
# all along.  Rounds, each started by "PVX-L2-LIFE: mark NAME" and L1's
# ack on ttyS1 once it has done NAME (l1/l2-life.sh):
#  detach  pvxctl detach: every tick leaves pvx, the loops go on;
#  attach  pvxctl attach: every tick comes back to pvx;
#  rmmod   rmmod pvx_host in L1: the same as detach;
#  insmod  insmod pvx_host and attach again: the same as attach;
#  suspend S3 (echo mem > /sys/power/state) with the tick on pvx, 1024
#          pages ballooned and the disk on pvx_virtio; L1 wakes L2 from
#          QEMU's monitor (no ack: L2 is asleep).  QEMU resets every
#          vCPU at the wakeup, so the host sees a guest reset that the
#          guest, which resumes, did not have: pvx_guest finds the new
#          instance itself, every tick comes back to pvx, the balloon
#          and the host hold the same pages, the disk works;
#  unplug  QEMU's device_del of the disk on pvx_virtio while fio writes:
#          the device goes, fio ends with an error, the guest goes on;
#  reset   system_reset from QEMU's monitor, the tick on pvx and 1024
#          pages ballooned: in the second boot ("life-test.sh
#          after-reset") no interrupt of the first may arrive, and the
#          balloon inflates and deflates again (L1 checks pvx's stats).
# pvx_balloon holds 1024 pages at the detach: they must be the guest's
# again after it, and the balloon must work on the new attach.  fio
# writes and verifies a virtio-blk disk on pvx_virtio across the detach:
# no error, and the queues move to their notify registers.
# Results are "PVX-L2-LIFE: ok|fail NAME: detail" lines; L1 turns each into
# a TAP result.
say() { echo "PVX-L2-LIFE: $*"; }
result() { if [ "$1" = 0 ]; then say "ok $2"; else say "fail $2"; fi; }

# shellcheck source=tools/testbed/l2/ack.sh
. /ack.sh
# shellcheck source=tools/testbed/l2/tick-lib.sh
. /tick-lib.sh

if [ "${1:-}" = after-reset ]; then
	# The first boot's vector is nobody's here: an interrupt on it
	# would be "No irq handler for vector".
	! dmesg | grep -q 'No irq handler for vector'
	result $? "reset: no interrupt from before the reset reached the new boot"
	balloon_to 1024 "reset: the new boot inflates 1024 pages"
	balloon_to 0 "reset: and deflates them"
	say "done"
	exit 0
fi

if ! all_on pvx; then
	say "skipped: the tick is not on pvx ($(tick_devices))"
	exit 0
fi
loops_start

# round_down NAME: after L1 stopped serving, no tick on pvx, loops go on
round_down() {
	t0=$(now)
	dmesg -c > /dev/null
	mark "$1" 60 || { result 1 "$1: L1 acked"; return; }
	sleep 5
	none_on pvx
	result $? "$1: no CPU's tick on pvx any more ($(tick_devices))"
	check_loops "$1" "$t0"
	msg=$(dmesg | grep -E 'pvx(_clock)?: ' | sed 's/^\[[^]]*\] //' | tr '\n' '|')
	echo "$msg" | grep -q 'pvx: host stopped serving pvx' &&
		echo "$msg" | grep -q 'pvx_clock: .*handed to the next best clock event device'
	result $? "$1: pvx_guest and pvx_clock said so (${msg%|})"
}

# round_up NAME: after L1 served again, every tick back on pvx in 20 s
round_up() {
	t0=$(now)
	dmesg -c > /dev/null
	mark "$1" 60 || { result 1 "$1: L1 acked"; return; }
	wait_all_on "$1" 20
	sleep 3
	check_loops "$1" "$t0"
	msg=$(dmesg | grep -E 'pvx(_clock)?: ' | sed 's/^\[[^]]*\] //' | tr '\n' '|')
	echo "$msg" | grep -q 'pvx: host serves pvx again' &&
		echo "$msg" | grep -q 'pvx_clock: .*back on pvx'
	result $? "$1: pvx_guest and pvx_clock said so (${msg%|})"
}

# The disk (the only virtio-blk device) on pvx_virtio, fio on it: pid
# in $fio, or none
fio=
VS=/sys/bus/pci/drivers/pvx_virtio
fio_start() {
	insmod /virtio/virtio_blk.ko 2>/dev/null
	[ -d $VS ] || insmod /pvx_virtio.ko 2>/dev/null
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1042 ] &&
			blk=$(basename "$d")
	done
	if [ -z "${blk:-}" ] || [ ! -d $VS ] || [ ! -x /virtio/fio ]; then
		result 1 "fio: a virtio-blk disk on pvx_virtio (blk ${blk:-none})"
		return
	fi
	cur=$(basename "$(readlink "/sys/bus/pci/devices/$blk/driver")")
	echo "$blk" > "/sys/bus/pci/drivers/$cur/unbind"
	echo pvx_virtio > "/sys/bus/pci/devices/$blk/driver_override"
	echo "$blk" > $VS/bind
	dev=/dev/$(basename "$(ls -d /sys/bus/pci/devices/"$blk"/virtio*/block/* | head -n1)")
	vs0=$(cat $VS/stats)
	/virtio/fio --name=life --filename="$dev" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bs=4k --size=8m --iodepth=8 \
		--time_based --runtime=15 --verify=crc32c --verify_backlog=64 \
		--verify_fatal=1 > /tmp/fio-life.txt 2>&1 &
	fio=$!
	say "fio on $dev ($blk, $(basename "$(readlink "/sys/bus/pci/devices/$blk/driver")")), pid $fio; $vs0"
	sleep 3
}
# fio_end: fio finished clean; kicks went to notify registers after the
# detach ("plain" grew: the fields are kicks N hypercalls N delivered N
# plain N)
fio_end() {
	[ -n "$fio" ] || return
	wait $fio
	rc=$?
	vs1=$(cat $VS/stats)
	plain=$(echo "$vs0 $vs1" | awk '{ print $16 - $8 }')
	[ $rc = 0 ] && ! grep -q 'verify: bad' /tmp/fio-life.txt
	result $? "detach: fio on pvx_virtio wrote and verified with no error (rc=$rc, $(grep -o 'issued rwts: total=[0-9,]*' /tmp/fio-life.txt))"
	[ "$plain" -gt 0 ]
	result $? "detach: pvx_virtio moved to notify register writes ($plain plain; $vs1)"
	[ $rc = 0 ] || sed 's/^/PVX-L2-LIFE: fio: /' /tmp/fio-life.txt | head -n 30
}

# fio_back: after the new attach, kicks are doorbell hypercalls again
fio_back() {
	[ -n "$fio" ] || return
	v0=$(cat $VS/stats)
	/virtio/fio --name=back --filename="$dev" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bs=4k --size=1m --iodepth=8 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 > /tmp/fio-back.txt 2>&1
	rc=$?
	v1=$(cat $VS/stats)
	calls=$(echo "$v0 $v1" | awk '{ print $12 - $4 }')
	[ $rc = 0 ] && [ "$calls" -gt 0 ]
	result $? "attach: fio on pvx_virtio again, its kicks by doorbell hypercall again (rc=$rc, $calls hypercalls; $v1)"
}

lost0=$(cat /sys/kernel/pvx/service_lost)
balloon_to 1024 "balloon: 1024 pages out before the detach"
fio_start
round_down detach
[ "$(cat $B/pages)" = 0 ]
result $? "detach: the ballooned pages are the guest's again (pages $(cat $B/pages))"
fio_end
round_up attach
fio_back
balloon_to 1024 "attach: the balloon inflates again, on the new attach"
balloon_to 0 "attach: and deflates"
round_down rmmod
round_up insmod
lost=$(cat /sys/kernel/pvx/service_lost)
[ $((lost - lost0)) = 2 ]
result $? "pvx_guest counted 2 losses of the service ($lost0 -> $lost)"

# fio_verify NAME: a short write-and-verify on the pvx_virtio disk
fio_verify() {
	[ -n "$fio" ] || return
	# A device that lost its queues would hang fio: bounded.
	timeout 120 /virtio/fio --name="$1" --filename="$dev" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bs=4k --size=1m --iodepth=8 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 > /tmp/fio-$1.txt 2>&1
	rc=$?
	result $rc "$1: fio on pvx_virtio wrote and verified (rc=$rc, $(basename "$(readlink "/sys/bus/pci/devices/$blk/driver")"))"
	[ $rc = 0 ] || sed 's/^/PVX-L2-LIFE: fio: /' /tmp/fio-$1.txt | head -n 30
}

round_suspend() {
	balloon_to 1024 "suspend: 1024 pages out before S3"
	grep -qw mem /sys/power/state
	result $? "suspend: the VM offers S3 (/sys/power/state: $(cat /sys/power/state))"
	dmesg -c > /dev/null
	say "mark suspend"
	# L1 looks for QEMU's "suspended" only after it saw the mark.
	sleep 2
	echo mem > /sys/power/state
	rc=$?
	t1=$(now)
	result $rc "suspend: S3 entered and left (rc=$rc)"
	wait_all_on suspend 30
	sleep 3
	check_loops suspend "$t1"
	! dmesg | grep -q 'No irq handler for vector'
	result $? "suspend: no interrupt on a vector nobody has"
	msg=$(dmesg | grep -E 'pvx(_clock|_balloon)?: ' | sed 's/^\[[^]]*\] //' | tr '\n' '|')
	say "suspend: log: ${msg%|}"
	[ "$(cat $B/pages)" = 1024 ] && [ "$(cat $B/host_pages)" = 1024 ]
	result $? "suspend: the balloon and the host hold the same 1024 pages (pages $(cat $B/pages), host $(cat $B/host_pages))"
	balloon_to 0 "suspend: the balloon deflates after the resume"
	fio_verify suspend
}
round_suspend

# unplug: QEMU's device_del of the disk on pvx_virtio while fio writes to
# it.  ACPI hotplug asks the guest, which removes the device (pvx_virtio's
# remove); fio must end by itself, with errors, not wait for a disk that
# is gone, and the guest goes on.
round_unplug() {
	[ -n "$fio" ] || return
	timeout 120 /virtio/fio --name=unplug --filename="$dev" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bs=4k --size=8m --iodepth=8 \
		--time_based --runtime=40 > /tmp/fio-unplug.txt 2>&1 &
	f=$!
	sleep 3
	t0=$(now)
	dmesg -c > /dev/null
	mark unplug 60 || { result 1 "unplug: L1 acked"; return; }
	i=0
	while [ $i -lt 60 ] && [ -e "/sys/bus/pci/devices/$blk" ]; do
		sleep 1; i=$((i + 1))
	done
	[ ! -e "/sys/bus/pci/devices/$blk" ]
	result $? "unplug: the disk left the guest ${i}s after device_del"
	wait $f
	rc=$?
	# 124: the timeout killed it; fio's own error is 1
	[ $rc != 124 ] && [ $rc != 0 ]
	result $? "unplug: fio ended by itself, with an error (rc=$rc: $(grep -o 'err=[ 0-9]*[^:]*' /tmp/fio-unplug.txt | head -n 1))"
	check_loops unplug "$t0"
	! dmesg | grep -qE 'BUG:|WARNING:|blocked for more than'
	result $? "unplug: no splat, no task blocked ($(dmesg | grep -E 'pvx_virtio|virtio_blk' | tail -n 2 | tr '\n' '|'))"
}
round_unplug

loops_stop

# Reset with the tick on pvx (a timer armed on every CPU) and the
# balloon out; L1 sends no ack: the next word comes from the next boot.
balloon_to 1024 "reset: 1024 pages out before the reset"
say "mark reset"
sleep 600
