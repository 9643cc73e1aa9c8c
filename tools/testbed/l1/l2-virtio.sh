# shellcheck shell=sh
# Sourced by l2-smoke.sh: the L1 side of the pvx_virtio test
# (tools/testbed/l2/virtio-test.sh runs in L2).  Uses l2-smoke.sh's $H
# (the build machine's root, where QEMU is chrooted) and res().
#
#   l2v_setup            disk image and ack fifos; sets L2V_QEMU_ARGS
#   l2v_sampler QPID &   at each "PVX-L2-VIRTIO: mark NAME" of L2, records
#                        KVM's exits and hypercalls of QPID's VM and pvx's
#                        doorbell calls, then acks
#   l2v_results          TAP results and exits per I/O, stock vs pvx_virtio

L2V_LOG=$H/run/l2.log
L2V_EXITS=/tmp/l2-virtio-exits.txt
L2V_RE='PVX-L2-VIRTIO: '

l2v_setup() {
	# the disk lives on L1's tmpfs (QEMU sees $H/run as /run)
	dd if=/dev/zero of=$H/run/l2-disk.img bs=1M count=32 2>/dev/null
	dd if=/dev/zero of=$H/run/l2-disk2.img bs=1M count=8 2>/dev/null
	rm -f $H/run/l2ack.in $H/run/l2ack.out
	mkfifo $H/run/l2ack.in $H/run/l2ack.out
	cat $H/run/l2ack.out > /dev/null 2>&1 &
	# slirp makes the socket pair for the guestfwd command over loopback
	ip link set lo up
	: > $L2V_EXITS
	# ttyS1 (so after ttyS0, the console, on QEMU's command line)
	# carries L1's acks into L2; what L2 writes there is drained (a full
	# pipe would stop L2's vCPU in the UART).  The echo service for the
	# TCP test is a cat that QEMU's user network starts per connection.
	# No option ROM: L2 boots with -kernel.  The second disk has no
	# ioeventfd (the host finds no listener: pvx_virtio's fallback) and a
	# fixed address, 00:0c.0, by which L2 tells it from the first.  The
	# virtio-rng devices at 00:0d.0-00:0f.0 are pvx_batch_test's queues.
	L2V_QEMU_ARGS="-serial pipe:/run/l2ack
		-drive file=/run/l2-disk.img,if=none,id=pvxdisk,format=raw
		-device virtio-blk-pci,drive=pvxdisk,disable-legacy=on
		-drive file=/run/l2-disk2.img,if=none,id=pvxdisk2,format=raw
		-device virtio-blk-pci,drive=pvxdisk2,disable-legacy=on,ioeventfd=off,num-queues=1,addr=0x0c
		-netdev user,id=pvxnet,guestfwd=tcp:10.0.2.100:5000-cmd:cat
		-device virtio-net-pci,netdev=pvxnet,disable-legacy=on,romfile=
		-device virtio-rng-pci,disable-legacy=on,addr=0x0d
		-device virtio-rng-pci,disable-legacy=on,addr=0x0e
		-device virtio-rng-pci,disable-legacy=on,addr=0x0f"
}

l2v_sampler() {
	seen=0
	while kill -0 "$1" 2>/dev/null; do
		marks=$(grep -c "${L2V_RE}mark " $L2V_LOG 2>/dev/null)
		while [ "${marks:-0}" -gt $seen ]; do
			seen=$((seen + 1))
			name=$(grep "${L2V_RE}mark " $L2V_LOG | sed -n "${seen}p" |
				sed 's/.*mark //' | tr -d '\r')
			d=$(ls -d /sys/kernel/debug/kvm/"$1"-* 2>/dev/null | head -n1)
			bells=$(/pvx/pvxctl stats 2>/dev/null |
				awk '$1 == "doorbell" { print $2; exit }')
			echo "$name $(cat "$d/exits" "$d/hypercalls" "$d/mmio_exits" \
				"$d/halt_exits" 2>/dev/null | tr '\n' ' ')${bells:-?}" >> $L2V_EXITS
			# (QEMU holds the fifo open; if it just died, do not block)
			timeout 5 sh -c "echo 'ack $name' > $H/run/l2ack.in"
		done
		usleep 200000 2>/dev/null || sleep 1
	done
}

# l2v_line PATTERN: the first L2 result line matching PATTERN, no prefix
l2v_line() {
	grep "$L2V_RE$1" $L2V_LOG | head -n1 | tr -d '\r' | sed "s/.*$L2V_RE//"
}

# l2v_count NAME: the counts between NAME-begin and NAME-end, KVM's
# "exits hypercalls mmio_exits halt_exits" then pvx's doorbell calls
l2v_count() {
	awk -v n="$1" '$1 == n "-begin" { for (i = 2; i <= 6; i++) c0[i] = $i; b = NF }
		$1 == n "-end" { for (i = 2; i <= 6; i++) c1[i] = $i; e = NF }
		END { if (b == 6 && e == 6 && c0[6] != "?" && c1[6] != "?")
			print c1[2] - c0[2], c1[3] - c0[3], c1[4] - c0[4], c1[5] - c0[5], c1[6] - c0[6] }' $L2V_EXITS
}

# l2v_calls NAME: pvx_virtio's hypercalls in its "stats NAME" line
l2v_calls() {
	l2v_line "stats $1: " | sed -n 's/.* hypercalls \([0-9]*\).*/\1/p'
}

l2v_results() {
	if ! grep -q "${L2V_RE}devices: " $L2V_LOG; then
		res 1 "pvx_virtio: L2 found its virtio-blk and virtio-net devices ($(l2v_line '' | head -n1))"
		return
	fi
	l2v_line 'bound: ' | grep -q 'blk pvx_virtio, net pvx_virtio'
	res $? "pvx_virtio: virtio-blk and virtio-net moved from virtio-pci by driver_override ($(l2v_line 'bound: '))"
	for t in stock pvx; do
		l2v_line "fio $t " | grep -Eq 'rc=0 ios=[1-9]'
		res $? "pvx_virtio: fio io_uring with crc32c verify on the $t transport ($(l2v_line "fio $t "))"
	done
	l2v_line 'verify control: ' | grep -Eq 'write rc=0, intact rc=0, corrupted rc=[1-9]'
	res $? "pvx_virtio: fio's verify fails on a block changed behind its back ($(l2v_line 'verify control: '))"
	l2v_line 'batch: ' | grep -Eq '^batch: rc=0, 3 queues, 3 notifications from one softirq pass, 3 devices answered; pvx_virtio: kicks \+3 hypercalls \+1 delivered \+3 plain \+0$'
	res $? "pvx_virtio: 3 queues kicked in one softirq pass, one doorbell hypercall ($(l2v_line 'batch: '))"
	bells=$(l2v_count batch | awk '{ print $5 }')
	[ "$bells" = 1 ]
	res $? "pvx_virtio: the host took that batch as one doorbell hypercall (pvxctl stats: ${bells:-no count})"
	l2v_line 'ping ' | grep -q 'rc=0'
	res $? "pvx_virtio: virtio-net pings QEMU's gateway ($(l2v_line 'ping '))"
	l2v_line 'tcp echo: ' | awk '/bytes: intact/ && $6 > 0 && $6 == $8 { ok = 1 } END { exit !ok }'
	res $? "pvx_virtio: virtio-net TCP echo through QEMU ($(l2v_line 'tcp echo: '))"
	l2v_line 'stats net: ' | grep -Eq 'delivered [1-9]'
	res $? "pvx_virtio: kicks delivered by doorbell hypercalls ($(l2v_line 'stats net: '))"
	l2v_line 'unbound: ' | grep -q 'blk virtio-pci, net virtio-pci'
	res $? "pvx_virtio: unbound while idle, devices back on virtio-pci ($(l2v_line 'unbound: '))"
	l2v_line 'no-listener disk: ' | grep -Eq 'fio rc=0, 1 queue fell back, plain [1-9]'
	res $? "pvx_virtio: a queue without an ioeventfd falls back to its notify register ($(l2v_line 'no-listener disk: '))"
	grep -q "${L2V_RE}rmmod pvx_virtio ok" $L2V_LOG
	res $? "pvx_virtio: rmmod"
	grep "${L2V_RE}" $L2V_LOG | tr -d '\r' | grep -v ' fio: ' | sed 's/^/# /'

	# exits per I/O: the same fio job, L2 still around it (L1 acked).
	# Then what they were: pvx_virtio's doorbell hypercalls in that
	# window (one per kick), other hypercalls (pvx_clock's timer), halts,
	# and the rest (virtio-pci's notify writes, which KVM hands to the
	# ioeventfd in the kernel without a count of their own, interrupts).
	s=$(l2v_count stock | cut -d' ' -f1-4) p=$(l2v_count pvx | cut -d' ' -f1-4)
	si=$(l2v_line 'fio stock ' | sed -n 's/.*ios=\([0-9]*\).*/\1/p')
	pi=$(l2v_line 'fio pvx ' | sed -n 's/.*ios=\([0-9]*\).*/\1/p')
	db=$(( $(l2v_calls fio) - $(l2v_calls before) ))
	echo "$s $si $p $pi $db" | awk 'NF == 11 && $5 > 0 && $10 > 0 {
		a = $1 / $5; b = $6 / $10
		printf "# exits per I/O: stock virtio-pci %.3f (%d exits, %d ios), pvx_virtio %.3f (%d exits, %d ios); pvx/stock %.3f\n",
			a, $1, $5, b, $6, $10, (a > 0 ? b / a : 0)
		printf "# per I/O, stock virtio-pci: hypercalls %.3f, halts %.3f, the rest %.3f\n",
			$2 / $5, $4 / $5, ($1 - $2 - $4) / $5
		printf "# per I/O, pvx_virtio: doorbell hypercalls %.3f, other hypercalls %.3f, halts %.3f, the rest %.3f\n",
			$11 / $10, ($7 - $11) / $10, $9 / $10, ($6 - $7 - $9) / $10 }'
	[ -n "$s" ] && [ -n "$p" ]
	res $? "pvx_virtio: KVM exit counts read at L2's marks (exits per I/O printed)"
}
