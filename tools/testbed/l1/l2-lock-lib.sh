# shellcheck shell=sh
# L1 side of the lock-hint test (PVX_L2_MODE=lock, see l2-lock.sh),
# sourced by l2-smoke.sh:
#   l2k_actions QPID   at each "PVX-L2-LOCK: begin|end TAG" of L2, keeps
#                      pvx's lock-wait counters of QPID's VM
#   l2k_results        TAP results and the throughput ratios
L2K_RE='PVX-L2-LOCK: '
l2k_seen=0

# "waits boosted refused none zero unreadable" of the VM, from pvxctl.
l2k_counters() {
	/pvx/pvxctl stats --pid "$1" 2>/dev/null | sed -n \
		's/^ *lock waits: \([0-9]*\) boosted \([0-9]*\) refused \([0-9]*\) none \([0-9]*\); passed over: count zero \([0-9]*\) unreadable \([0-9]*\)$/\1 \2 \3 \4 \5 \6/p'
}

l2k_actions() {
	marks=$(grep -cE "${L2K_RE}(begin|end) " "$H/run/l2.log" 2>/dev/null)
	while [ "${marks:-0}" -gt $l2k_seen ]; do
		l2k_seen=$((l2k_seen + 1))
		# shellcheck disable=SC2046 # "begin TAG": two words
		set -- "$1" $(grep -E "${L2K_RE}(begin|end) " "$H/run/l2.log" |
			sed -n "${l2k_seen}p" | sed 's/.*PVX-L2-LOCK: //' | tr -d '\r')
		l2k_counters "$1" > "/tmp/l2-lock-$2-$3.txt"
	done
}

# The host's counters over run TAG: end minus begin, six numbers.
l2k_delta() {
	[ -s "/tmp/l2-lock-begin-$1.txt" ] && [ -s "/tmp/l2-lock-end-$1.txt" ] || return 1
	cat "/tmp/l2-lock-begin-$1.txt" "/tmp/l2-lock-end-$1.txt" | awk '
		NR == 1 { for (i = 1; i <= 6; i++) b[i] = $i }
		NR == 2 { for (i = 1; i <= 6; i++) printf "%d ", $i - b[i]; print "" }'
}

# Acquisitions per second of run TAG, from L2's result line.
l2k_rate() {
	tr -d '\r' < "$H/run/l2.log" | sed -n "s/^${L2K_RE}result $1: .* acquisitions, \([0-9]*\)\/s,.*/\1/p" | head -n1
}

l2k_results() {
	grep -q 'kvm-guest: PV spinlocks enabled' "$H/run/l2.log"
	res $? "l2 lock: the stock L2 kernel runs pv spinlocks (kvm-pv-unhalt)"
	tags=$(tr -d '\r' < "$H/run/l2.log" | sed -n "s/^${L2K_RE}result \([a-z0-9.]*\): .*/\1/p")
	[ -n "$tags" ]; res $? "l2 lock: the torture runs reported ($(echo $tags))"
	lost=$(tr -d '\r' < "$H/run/l2.log" | grep "^${L2K_RE}result " | grep -vc 'lost updates 0,')
	[ "$lost" = 0 ]; res $? "l2 lock: no lost update in any run ($lost runs had some)"
	echo "# lock runs: tag acquisitions/s; host: waits boosted refused none zero-count unreadable"
	for t in $tags; do
		echo "# lock $t: $(l2k_rate "$t")/s; host: $(l2k_delta "$t" || echo '?')"
	done
	for t in $tags; do
		d=$(l2k_delta "$t") || { res 1 "l2 lock $t: host counters around the run"; continue; }
		set -- $d
		case $t in
		stock*)
			# The guest's word (no stats of pvx_lockhint after the
			# run); the host's count, which L1 reads when it sees
			# L2's marks, a second or more late, is printed above.
			! tr -d '\r' < "$H/run/l2.log" | grep -q "^${L2K_RE}guest $t:"
			res $? "l2 lock $t: pvx_lockhint not loaded (host counted $1 lock waits meanwhile)" ;;
		lockhint[4-9]*)
			[ "$1" -gt 0 ] && [ "$2" -gt 0 ]
			res $? "l2 lock $t: lock-wait hypercalls arrived ($1) and boosts were done ($2)"
			# a call in flight at either snapshot: one each way
			d=$(($1 - $2 - $3 - $4))
			[ $d -ge -2 ] && [ $d -le 2 ]
			res $? "l2 lock $t: each wait boosted ($2), refused ($3) or found none ($4)" ;;
		esac
	done
	# The ratios: a figure, not a threshold.
	for t in $tags; do
		case $t in stock*) ;; *) continue ;; esac
		s=$(l2k_rate "$t") l=$(l2k_rate "lockhint${t#stock}")
		[ -n "$s" ] && [ -n "$l" ] && [ "$s" -gt 0 ] &&
			echo "# lock ratio ${t#stock} CPUs: lockhint/stock = $(awk "BEGIN { printf \"%.2f\", $l / $s }") ($l/s vs $s/s)"
	done
	# pvx_spinlock: exact holder, yields, halts and kicks (counts only)
	tr -d '\r' < "$H/run/l2.log" | sed -n "s/^${L2K_RE}pvx_spinlock /# pvx_spinlock /p"
	# (not $n: res's counter)
	sl=$(tr -d '\r' < "$H/run/l2.log" | grep "^${L2K_RE}pvx_spinlock [0-9]*: .*acquisitions" | grep -c 'lost updates 0,')
	[ "$sl" -ge 1 ] && [ "$sl" = "$(tr -d '\r' < "$H/run/l2.log" | grep -c "^${L2K_RE}pvx_spinlock [0-9]*: .*acquisitions")" ]
	res $? "l2 lock: pvx_spinlock (yield, halt, kick) ran without a lost update ($sl runs)"
	grep -q "${L2K_RE}pvx_lockhint unloaded" "$H/run/l2.log"
	res $? "l2 lock: pvx_lockhint unloads"
}
