# shellcheck shell=sh
# Sourced by L2's test scripts (life-test.sh, migrate-test.sh), which
# define result() first: the clock event devices of the CPUs' ticks,
# one sleep loop per CPU (pinned) that stamps /proc/uptime into
# /tmp/ticks.CPU every 100 ms, to tell a tick that went on from one that
# stopped, and the balloon's target.
CE=/sys/devices/system/clockevents
B=/sys/kernel/pvx_balloon

# tick_devices: every CPU's tick device, space-separated
tick_devices() {
	for c in "$CE"/clockevent*; do
		[ -f "$c/current_device" ] && printf '%s ' "$(cat "$c/current_device")"
	done
}
# all_on DEV: every CPU's tick is DEV; none_on DEV: no CPU's is
all_on() { for d in $(tick_devices); do [ "$d" = "$1" ] || return 1; done; }
none_on() { for d in $(tick_devices); do [ "$d" != "$1" ] || return 1; done; }

# wait_all_on NAME SECONDS: every CPU's tick on pvx within SECONDS
wait_all_on() {
	i=0
	while [ $i -lt "$2" ] && ! all_on pvx; do sleep 1; i=$((i + 1)); done
	all_on pvx
	result $? "$1: every CPU's tick back on pvx after ${i}s ($(tick_devices))"
}

# stamps FILE FROM: lines of FILE after uptime FROM, and the largest gap
# between consecutive stamps from FROM on (centiseconds)
stamps() {
	awk -v from="$2" '$1 >= from { n++; if (n > 1 && $1 - last > gap) gap = $1 - last; last = $1 }
		END { printf "%d %d\n", n, gap * 100 }' "$1"
}
now() { cut -d' ' -f1 /proc/uptime; }

# loops_start [US]: one stamping loop per CPU ($ncpu of them), each
# sleeping US microseconds (100000) between stamps
loops_start() {
	ncpu=$(nproc)
	cpu=0
	while [ $cpu -lt "$ncpu" ]; do
		: > /tmp/ticks.$cpu
		taskset -c $cpu sh -c "while :; do usleep ${1:-100000}; cut -d' ' -f1 /proc/uptime >> /tmp/ticks.$cpu; done" &
		eval "loop$cpu=$!"
		cpu=$((cpu + 1))
	done
}
loops_stop() {
	cpu=0
	while [ $cpu -lt "$ncpu" ]; do
		eval "kill \$loop$cpu"
		cpu=$((cpu + 1))
	done
}

# check_loops NAME FROM [MIN]: every CPU's loop went on since FROM: at
# least MIN stamps (10: of about 50 in 5 s of 100 ms loops), none more
# than 10 s after the last.  A
# stopped tick stops the loop for good (seen: no sleep ended in 3
# minutes); TCG stalls all of L2 now and then, for up to 4 s seen while
# L1 loaded pvx_host on a busy build machine.
check_loops() {
	name=$1 from=$2 min=${3:-10} cpu=0 bad=0 detail=
	while [ $cpu -lt "$ncpu" ]; do
		# shellcheck disable=SC2046
		set -- $(stamps /tmp/ticks.$cpu "$from")
		detail="$detail cpu$cpu: $1 stamps, max gap ${2}0 ms;"
		{ [ "$1" -ge "$min" ] && [ "$2" -lt 1000 ]; } || bad=1
		cpu=$((cpu + 1))
	done
	result $bad "$name: every CPU's sleep loop went on ($detail)"
}

# balloon_to PAGES NAME: the balloon's target, and it must get there
balloon_to() {
	echo "$1" > $B/target_pages 2>/dev/null
	[ "$(cat $B/pages)" = "$1" ]
	result $? "$2 (target $1, pages $(cat $B/pages))"
}
