# shellcheck shell=sh
# Sourced by L2's test scripts, which define say() first.  mark NAME
# prints "mark NAME" (through say) and waits for L1's ack on ttyS1: L1
# does what NAME asks of it (or measures) meanwhile, and L2 sits still.
# fd 3: ttyS1, kept open so that no ack is lost between reads.
if exec 3<> /dev/ttyS1; then
	stty -echo <&3 2>/dev/null
	have_ack=1
else
	have_ack=0
fi
# mark NAME [SECONDS]: 1 when no ack came (in 30 s by default); the
# ack's line is in $ack_line
mark() {
	say "mark $1"
	ack_line=
	# shellcheck disable=SC3045 # busybox's read has -t
	if [ $have_ack = 1 ] && read -r -t "${2:-30}" ack_line <&3; then
		ack_line=$(printf '%s' "$ack_line" | tr -d '\r')
		return 0
	fi
	say "no ack from L1 for mark $1"
	return 1
}
