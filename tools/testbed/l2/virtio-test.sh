#!/bin/sh
# L2 side of the pvx_virtio test, run by /init.  The L2 QEMU has a
# virtio-blk disk and a virtio-net device (user networking, with a TCP echo
# service at 10.0.2.100:5000) that the built-in virtio-pci transport takes
# at boot.  Steps:
#  1. fio (io_uring, crc32c verify) on the disk over the stock transport;
#  2. both devices moved to pvx_virtio (unbind, driver_override, bind);
#  3. the same fio job; fio's verify shown to catch a corrupted block;
#     three virtio-rng queues kicked in one softirq pass (pvx_batch_test):
#     one doorbell hypercall for all of them;
#  4. ping and a TCP echo over virtio-net;
#  5. a disk without an ioeventfd: the per-queue fallback, with fio;
#  6. all devices unbound from pvx_virtio (idle) and given back.
# Results are "PVX-L2-VIRTIO: ..." lines on the console; L1
# (l1/l2-virtio.sh) judges them.  Around each fio run L2 prints
# "PVX-L2-VIRTIO: mark NAME" and waits for L1's "ack" on ttyS1: L1 reads
# KVM's exit counters of this VM in between, while L2 sits still.
V=/virtio
say() { echo "PVX-L2-VIRTIO: $*"; }

# shellcheck source=tools/testbed/l2/ack.sh
. /ack.sh

# modules (failover before net_failover before virtio_net)
for m in failover net_failover virtio_net virtio_blk; do
	insmod $V/$m.ko 2>/dev/null || say "insmod $m failed"
done
[ -d /sys/bus/pci/drivers/pvx_virtio ] || insmod /pvx_virtio.ko
if [ ! -d /sys/bus/pci/drivers/pvx_virtio ]; then
	say "pvx_virtio not loaded"
	exit 0
fi

# The disk without an ioeventfd in QEMU (l1/l2-virtio.sh puts it there).
PLAIN=0000:00:0c.0
# pci_of DEVICE-ID: the address of the modern virtio PCI device with that id
pci_of() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(basename "$d")" = $PLAIN ] && continue
		[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = "$1" ] &&
			{ basename "$d"; return 0; }
	done
	return 1
}
# driver_of BDF
driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")"; }
# child BDF CLASS: the block or net device under the device's virtio device
child() { ls /sys/bus/pci/devices/"$1"/virtio*/"$2" 2>/dev/null | head -n1; }
# rebind BDF DRIVER ("" = back to the ordinary match)
rebind() {
	cur=$(driver_of "$1")
	[ -n "$cur" ] && echo "$1" > "/sys/bus/pci/drivers/$cur/unbind"
	echo "$2" > "/sys/bus/pci/devices/$1/driver_override"
	if [ -n "$2" ]; then
		echo "$1" > "/sys/bus/pci/drivers/$2/bind"
	else
		echo "$1" > /sys/bus/pci/drivers_probe
	fi
}
stats() { say "stats $1: $(cat /sys/bus/pci/drivers/pvx_virtio/stats)"; }

BLK=$(pci_of 0x1042) NET=$(pci_of 0x1041)
if [ -z "$BLK" ] || [ -z "$NET" ]; then
	say "no virtio-blk ($BLK) or virtio-net ($NET) device"
	exit 0
fi
say "devices: blk $BLK ($(driver_of "$BLK")), net $NET ($(driver_of "$NET"))"
FIO=$V/fio
[ -x $FIO ] || say "no fio in the initramfs"

# fio_run NAME DEV: the measured job, between two marks
fio_run() {
	mark "$1-begin"
	$FIO --name=pvx --filename="$2" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --size=8m --iodepth=8 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		> /tmp/fio-$1.txt 2>&1
	rc=$?
	mark "$1-end"
	ios=$(sed -n 's/.*issued rwts: total=\([0-9]*\),\([0-9]*\),.*/\1 \2/p' /tmp/fio-$1.txt |
		awk '{ s += $1 + $2 } END { print s + 0 }')
	say "fio $1 rc=$rc ios=$ios"
	[ $rc = 0 ] || sed 's/^/PVX-L2-VIRTIO: fio: /' /tmp/fio-$1.txt | head -n 40
}

# 1. stock transport
dev=$(child "$BLK" block)
say "stock: disk /dev/$(basename "$dev")"
fio_run stock "/dev/$(basename "$dev")"

# 2. to pvx_virtio
stats before
rebind "$BLK" pvx_virtio
rebind "$NET" pvx_virtio
say "bound: blk $(driver_of "$BLK"), net $(driver_of "$NET")"
dev=/dev/$(basename "$(child "$BLK" block)")
ifc=$(basename "$(child "$NET" net)")
say "pvx: disk $dev, interface $ifc"

# 3. fio over pvx_virtio, then the verify control: a block written by fio
# and then overwritten behind its back must fail fio's verification
fio_run pvx "$dev"
stats fio
neg() {
	$FIO --name=neg --filename="$dev" --ioengine=io_uring --direct=1 \
		--rw=write --bs=4k --size=1m --verify=crc32c --verify_fatal=1 "$@" \
		> /tmp/fio-neg.txt 2>&1
}
neg --do_verify=0; wrc=$?
neg --verify_only; intact=$?
dd if=/dev/urandom of="$dev" bs=4096 seek=100 count=1 conv=fsync 2>/dev/null
echo 3 > /proc/sys/vm/drop_caches
neg --verify_only; corrupt=$?
say "verify control: write rc=$wrc, intact rc=$intact, corrupted rc=$corrupt ($(grep -m1 -o 'verify: bad.*' /tmp/fio-neg.txt))"

# pvx_virtio's cross-queue batch, while nothing else kicks (the network
# is still down, fio is done)
RNGS="0000:00:0d.0 0000:00:0e.0 0000:00:0f.0"
[ -d /sys/module/pvx_batch_test ] || insmod /pvx_batch_test.ko
for r in $RNGS; do rebind $r pvx_virtio; done
s0=$(cat /sys/bus/pci/drivers/pvx_virtio/stats)
mark batch-begin
brc=0
echo 1 > /sys/module/pvx_batch_test/parameters/kick || brc=1
mark batch-end
s1=$(cat /sys/bus/pci/drivers/pvx_virtio/stats)
round=$(dmesg | sed -n 's/.*pvx_batch_test: round: //p' | tail -n1)
say "batch: rc=$brc, $round; pvx_virtio: $(echo "$s0 $s1" |
	awk '{ printf "kicks +%d hypercalls +%d delivered +%d plain +%d",
		$10 - $2, $12 - $4, $14 - $6, $16 - $8 }')"

# 4. network
ip link set lo up
ip addr add 10.0.2.15/24 dev "$ifc"
ip link set "$ifc" up
ping -c 3 -W 5 10.0.2.2 > /tmp/ping.txt 2>&1
say "ping 10.0.2.2 rc=$? ($(grep -o '[0-9]* packets received' /tmp/ping.txt))"
dd if=/dev/urandom of=/tmp/tx bs=64k count=16 2>/dev/null
timeout 120 nc 10.0.2.100 5000 < /tmp/tx > /tmp/rx
nrc=$?
if cmp -s /tmp/tx /tmp/rx; then tcp=intact; else tcp=differs; fi
say "tcp echo: nc rc=$nrc, sent $(wc -c < /tmp/tx) received $(wc -c < /tmp/rx) bytes: $tcp"
stats net

# 5. a disk whose QEMU has no ioeventfd on its queue: the host reports no
# listener, and pvx_virtio writes that queue's notify register instead
plain0=$(sed -n 's/.* plain \([0-9]*\).*/\1/p' /sys/bus/pci/drivers/pvx_virtio/stats)
rebind $PLAIN pvx_virtio
pdev=/dev/$(basename "$(child $PLAIN block)")
$FIO --name=plain --filename="$pdev" --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=4k --size=1m --iodepth=4 \
	--verify=crc32c --do_verify=1 --verify_fatal=1 > /tmp/fio-plain.txt 2>&1
prc=$?
plain1=$(sed -n 's/.* plain \([0-9]*\).*/\1/p' /sys/bus/pci/drivers/pvx_virtio/stats)
fell=$(dmesg | grep -c "$PLAIN.*no doorbell listener")
say "no-listener disk: fio rc=$prc, $fell queue fell back, plain $((plain1 - plain0)) ($pdev)"
rebind $PLAIN ""

# 6. unbind while idle, and give the devices back
ip link set "$ifc" down
rebind "$NET" ""
rebind "$BLK" ""
for r in $RNGS; do rebind $r ""; done
say "unbound: blk $(driver_of "$BLK"), net $(driver_of "$NET"); disk $(basename "$(child "$BLK" block)")"
rmmod pvx_virtio && say "rmmod pvx_virtio ok"
say done
