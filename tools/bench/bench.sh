#!/bin/bash
# make bench: what each pvx service saves, as exact VM exit counts from
# KVM's per-vCPU statistics, against doing the same thing without pvx, in
# one run in the testbed's L1 (stock lane).  The selftests measure and
# print the counts (TAP diagnostics); this collects them into one table.
# TCG time is not real time: no timings here, only counts and ratios.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tools/testbed/common.sh
. "$REPO/tools/testbed/common.sh"

[ -f "$PVX_CACHE/stock.env" ] || "$TESTBED_DIR/deps.sh"
KDIR=$(. "$PVX_CACHE/stock.env"; echo "$KDIR")
out=$PVX_CACHE/out/bench
stage=$PVX_CACHE/stage/bench
mkdir -p "$out"
make -C "$REPO" stage KDIR="$KDIR" STAGE="$stage" > "$out/stage.log" 2>&1 || {
	tail -40 "$out/stage.log"; tb_die "make stage failed"; }

tests="probe_test msr_test prefault_test copy_test timer_test yield_test split_test doorbell_test"
"$TESTBED_DIR/run-l1.sh" --lane stock --stage "$stage" --out "$out" \
	--tests "$(printf 'selftests/%s ' $tests)"

python3 - "$out/tap.log" <<'PY'
import re, sys

log = open(sys.argv[1], errors="replace").read()

def find(pattern):
    m = re.search(pattern, log)
    return [float(g) for g in m.groups()] if m else None

rows = []
def row(what, plain, pvx, unit="exits"):
    rows.append((what, plain, pvx, unit))

m = find(r"# (\d+) probes: (\d+) exits")
if m:
    row("hypercall round trip (PVX_HC_PROBE) x%d" % m[0], None, m[1])
m = find(r"# 64 writes: WRMSR loop (\d+) exits .*batch (\d+) exits")
if m:
    row("64 MSR writes: WRMSR loop / MSR_BATCH", m[0], m[1])
m = find(r"# (\d+) fresh pages read then written: (\d+) exits without the hint, (\d+) with")
if m:
    row("%d fresh pages read+written: plain / PREFAULT_WRITE" % m[0], m[1], m[2])
m = find(r"# (\d+) fork-shared pages: (\d+) exits with the hint")
if m:
    row("%d fork-shared pages written, PREFAULT_WRITE" % m[0], None, m[1])
m = find(r"# (\d+) pages copied: (\d+) exits")
if m:
    row("%d page copies, COPY_PAGES" % m[0], None, m[1])
m = find(r"# (\d+) MMIO \+ 1 port notifications: (\d+) exits as plain writes, (\d+) with")
if m:
    row("%d virtio-style notifications: plain writes / DOORBELL" % (m[0] + 1), m[1], m[2])
m = find(r"# (\d+) arms: (\d+) exits, (\d+) hypercalls")
if m:
    row("%d timer arms, TIMER_SET" % m[0], None, m[1])
m = find(r"# spins until the holder ran: (\d+) without yield, (\d+) with")
if m:
    row("spin on a preempted lock holder: plain / YIELD_TO", m[0], m[1], "spins")
m = find(r"vCPU ran guest code while the copy was in flight \((\d+) loop")
if m:
    row("guest loop iterations during a split-phase 170-page copy", None, m[0], "iters")

print()
print("pvx bench: exact counts from one run in L1 (Debian 6.12, nested SVM under TCG);")
print("each count includes the exit of the message that closes the measurement.")
print()
print("%-58s %12s %12s %9s" % ("", "without pvx", "with pvx", "ratio"))
for what, plain, pvx, unit in rows:
    p = "%d %s" % (plain, unit) if plain is not None else "-"
    r = "%.1fx" % (plain / pvx) if plain is not None and pvx else ""
    print("%-58s %12s %12s %9s" % (what, p, "%d %s" % (pvx, unit), r))
fails = len(re.findall(r"^not ok", log, re.M))
print()
print("(%d failed checks in the measuring tests; full log: %s)" % (fails, sys.argv[1]))
sys.exit(1 if fails or not rows else 0)
PY
