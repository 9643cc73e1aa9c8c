#!/bin/sh
# L2 side of the live migration test, run by /init (PVX_L2_MODE=migrate):
# this guest moves from one QEMU to another (l1/l2-migrate.sh) with
# pvx_clock as every CPU's tick, one sleep loop per CPU stamping its
# uptime, and pvx_balloon holding pages.  Before the balloon inflates,
# 64 MiB of the guest's memory is written with non-zero data and freed,
# so that the balloon takes pages the source QEMU holds.
#  migrate  L1 starts the destination QEMU (-incoming, paused), attaches
#           it to pvx, migrates, and runs it (cont);
#  check    L1 reads pvx's stats and the two QEMUs' RSS, and quits the
#           source QEMU.
# On the destination: every tick back on pvx, no loop stalled, the
# balloon as big as before and the destination's host holding its ranges,
# and it deflates there.  Results are "PVX-L2-MIG: ok|fail NAME: detail"
# lines; L1 turns each into a TAP result.
say() { echo "PVX-L2-MIG: $*"; }
result() { if [ "$1" = 0 ]; then say "ok $2"; else say "fail $2"; fi; }
PAGES=16384	# 64 MiB of the 384

# shellcheck source=tools/testbed/l2/ack.sh
. /ack.sh
# shellcheck source=tools/testbed/l2/tick-lib.sh
. /tick-lib.sh

all_on pvx
result $? "before: every CPU's tick on pvx ($(tick_devices))"
# 2 s between stamps: a CPU idles with its next deadline up to 2 s
# away, as an idle guest's CPUs do, longer than QEMU takes from the stop
# to the save of the vCPUs (374 and 1524 ms of downtime seen here).
loops_start 2000000

# Pages with data in them, which the balloon may then take.  On a tmpfs
# of their own: the rootfs holds the initramfs and half the RAM at most.
mkdir -p /fill
mount -t tmpfs -o size=72m tmpfs /fill
tr '\0' 'x' < /dev/zero | head -c $((1 << 20)) > /fill/mib
i=0
while [ $i -lt 64 ]; do cat /fill/mib; i=$((i + 1)); done > /fill/data
rm -f /fill/data /fill/mib
balloon_to $PAGES "before: the balloon inflates"
inst0=$(cat /sys/kernel/pvx/instance)
lost0=$(cat /sys/kernel/pvx/service_lost)
sleep 3
t0=$(now)
dmesg -c > /dev/null
mark migrate 900 || { result 1 "migrate: L1 acked"; say done; exit 0; }
say "migrated: $ack_line"
t1=$(now)
wait_all_on after 30
sleep 5
check_loops after "$t0" 5
inst1=$(cat /sys/kernel/pvx/instance)
[ "$inst1" != "$inst0" ]
result $? "after: pvx_guest serves from the destination's instance ($inst0 -> $inst1)"
# The destination must hold the same balloon: not given back to the
# guest, and its ranges recorded by the destination's host (L1 checks).
[ "$(cat $B/pages)" = $PAGES ]
result $? "after: the balloon still holds its pages ($(cat $B/pages) of $PAGES)"
msg=$(dmesg | grep -E 'pvx(_[a-z]+)?: ' | sed 's/^\[[^]]*\] //' | tr '\n' '|')
say "log after the migration: ${msg%|}"
say "stats: balloon $(cat $B/pages) pages, service_lost $lost0 -> $(cat /sys/kernel/pvx/service_lost), guest uptime ${t0}..${t1}"
mark check 120 || result 1 "check: L1 acked"
balloon_to 0 "after: the balloon deflates on the destination"
err=$(dd if=/dev/zero of=/fill/data bs=1M count=64 2>&1)
result $? "after: the deflated memory is usable (64 MiB written; $(echo "$err" | tail -n1); $(grep MemFree /proc/meminfo))"
rm -f /fill/data
loops_stop
say done
