#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Collect `make bench` figures from testbed boots' tap.logs.

Benchmark programs print one JSON object per figure on a line of its own,
`# PVX-BENCH: {...}` (a TAP diagnostic: the testbed's framing and
parse.py pass it through).  This gathers them, prints a table, writes
bench.json with the run's kernel, QEMU, commit and machine, and fails,
naming each one, when a figure the rows promise is missing.  It never
reads prose.  --tap may be given more than once (make bench's stock L1
and its IOMMU L1): the figures of all logs are merged, and each log must
have pvx_bench's end.

usage: collect.py --tap OUT/tap.log [--tap OUT/iommu/tap.log ...]
                  --json OUT/bench.json [--no-iommu]
                  [--qemu QEMU_BINARY] [--repo DIR] [--accel tcg]
Python 3 standard library only (Debian's python3).
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

LINE_RE = re.compile(r"PVX-BENCH: (.*?)\s*$")
INIT_RE = re.compile(r"^# PVX-INIT lane=(\S*) kernel=(\S+)")
END_RE = re.compile(r"^# PVX-END (\S+) rc=(-?\d+)")
PROGRAMS = ["bench/pvx_bench"]

# What each row measures (the table's headings), in issue #16's order.
ROWS = {
    "msr64": "64 MSR writes: MSR_BATCH vs a WRMSR loop",
    "msr_sweep": "MSR_BATCH of 1, 4, 16, 64, 256 entries vs a WRMSR loop "
                 "of the same length",
    "fresh256": "256 fresh pages read then written: PREFAULT_WRITE vs no hint "
                "vs KVM_PRE_FAULT_MEMORY (a read fault: a reference) vs the "
                "VMM's MADV_POPULATE_WRITE + KVM_PRE_FAULT_MEMORY",
    "copy1k": "bulk copy of 1024 pages: COPY_PAGES vs guest memcpy",
    "kvm_hc_sched_yield": "KVM_HC_SCHED_YIELD to self, pvx_host loaded vs not",
    "kvm_hc_unknown": "an unknown hypercall number (KVM's -ENOSYS), "
                      "pvx_host loaded vs not",
    "scale": "PVX_HC_PROBE per call with 1, 8, 32 VMs attached",
    "timer": "one-shot deadlines 200 us ahead, awaited halted: TIMER_SET "
             "(delta, TSC deadline) vs the LAPIC timer in TSC-deadline mode",
    "iommu256": "256 pages mapped for edu behind VT-d, then unmapped: "
                "IOMMU_MAP/_UNMAP lists of 256 entries vs one hypercall "
                "of one entry a page (the IOMMU L1)",
}

# The row only the IOMMU L1 (run-l1.sh --iommu: edu behind VT-d) runs.
IOMMU_ROW = "iommu256"


# msr_sweep's batch sizes (pvx_bench.c's sweep_sizes).
SWEEP_SIZES = (1, 4, 16, 64, 256)


def expected(iommu=True):
    """(row, figure, variant) of every figure the rows promise; without
    the IOMMU L1's row if not @iommu."""
    e = []
    for v in ("wrmsr_loop", "msr_batch"):
        e += [("msr64", "exits", v), ("msr64", "host_ns", v)]
    e += [("msr64", "pvx_calls", "msr_batch"),
          ("msr64", "host_time_ratio", "msr_batch/wrmsr_loop")]
    for n in SWEEP_SIZES:
        a, b = "wrmsr_loop_%d" % n, "msr_batch_%d" % n
        e += [("msr_sweep", f, v) for f in ("exits", "exits_per_write")
              for v in (a, b)]
        e += [("msr_sweep", "pvx_calls", b),
              ("msr_sweep", "host_time_ratio", b + "/" + a)]
    for v in ("no_hint", "prefault_write", "kvm_pre_fault_memory",
              "populate_write_pre_fault"):
        e += [("fresh256", "exits", v), ("fresh256", "host_ns", v)]
    e += [("fresh256", "pvx_calls", "prefault_write"),
          ("fresh256", "host_time_ratio", "prefault_write/no_hint"),
          ("fresh256", "host_time_ratio", "kvm_pre_fault_memory/no_hint"),
          ("fresh256", "host_time_ratio",
           "populate_write_pre_fault/no_hint")]
    for v in ("guest_memcpy", "copy_pages"):
        e += [("copy1k", "exits", v), ("copy1k", "guest_tsc", v)]
    e += [("copy1k", "pvx_calls", "copy_pages"),
          ("copy1k", "guest_time_ratio", "copy_pages/guest_memcpy"),
          ("copy1k", "host_time_ratio", "copy_pages/guest_memcpy")]
    for row in ("kvm_hc_sched_yield", "kvm_hc_unknown"):
        for v in ("pvx_unloaded", "pvx_loaded_unattached",
                  "pvx_loaded_attached"):
            e += [(row, "exits", v), (row, "host_ns_per_call", v)]
        for v in ("pvx_loaded_unattached", "pvx_loaded_attached"):
            e += [(row, "host_time_ratio", v + "/pvx_unloaded")]
    for v in ("1_vm", "8_vms", "32_vms"):
        e += [("scale", "exits", v), ("scale", "pvx_calls", v),
              ("scale", "host_ns_per_call", v)]
    e += [("scale", "host_time_ratio", "8_vms/1_vm"),
          ("scale", "host_time_ratio", "32_vms/1_vm")]
    for v in ("lapic_tsc_deadline", "timer_set", "timer_set_tsc"):
        e += [("timer", f, v) for f in ("exits_per_expiry",
                                        "l1_busy_ns_per_expiry",
                                        "lateness_median", "lateness_p99",
                                        "early")]
    for v in ("timer_set", "timer_set_tsc"):
        e += [("timer", "pvx_timers_fired", v)]
        e += [("timer", f, v + "/lapic_tsc_deadline")
              for f in ("l1_busy_ratio", "lateness_median_ratio",
                        "lateness_p99_ratio")]
    for p in ("map", "unmap") if iommu else ():
        a, b = p + "_single", p + "_batch"
        e += [(IOMMU_ROW, f, v) for f in ("exits", "pvx_calls", "host_ns")
              for v in (a, b)]
        e += [(IOMMU_ROW, "host_time_ratio", b + "/" + a)]
    return e


# Rows of issue #16 this slice does not measure yet.
NOT_DONE = [
    "timer in a Linux L2 (pvx_clock vs kvmclock + LAPIC TSC-deadline); "
    "the timer row runs a bare guest in L1's KVM",
    "guest spinlock contention, 4 and 8 vCPUs, vs pv qspinlock",
    "virtio-blk at queue depth 1/8/32 (fio io_uring) vs virtio-pci",
    "virtio-net TCP request/response and stream vs virtio-pci",
    "balloon 1 GiB in L2 vs virtio-balloon and free page reporting",
    "the L2 baseline with kvm-pv-unhalt, kvm-pv-sched-yield, kvm-pv-ipi",
    "COPY_PAGES split-phase and on a DMA engine",
]

TCG_NOTE = ("Under TCG (L1 is emulated, L2 is nested SVM in that emulation) "
            "absolute times mean nothing: read the exact counts (KVM's binary "
            "stats via KVM_GET_STATS_FD, pvx's via PVX_IOC_STATS) and the "
            "ratios, each taken within one run with both paths run "
            "alternately, repeated to give min/median/max.  Every exit count "
            "includes the one exit of the guest's closing message.")


def parse(lines, name="tap.log"):
    figures, meta, kernel, ends = [], {}, None, {}
    for n, line in enumerate(lines, 1):
        line = line.replace("\r", "")
        m = INIT_RE.match(line)
        if m:
            kernel = m.group(2)
        m = END_RE.match(line)
        if m:
            ends[m.group(1)] = int(m.group(2))
        m = LINE_RE.search(line)
        if not m:
            continue
        try:
            obj = json.loads(m.group(1))
        except ValueError as err:
            raise SystemExit("%s:%d: bad PVX-BENCH line: %s"
                             % (name, n, err))
        if "meta" in obj:
            meta.update(obj["meta"])
        else:
            figures.append(obj)
    return figures, meta, kernel, ends


def run(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"host": platform.node(), "uname": " ".join(platform.uname()),
            "cpu": model, "cpus": os.cpu_count()}


def fmt(x):
    if x is None:
        return "-"
    if x == int(x) and abs(x) < 1e15:
        return "%d" % x
    if abs(x) < 10:
        return "%.3f" % x
    return "%.1f" % x if abs(x) < 1e4 else "%.4g" % x


def table(figures):
    out = []
    seen = []
    for f in figures:
        if f["row"] not in seen:
            seen.append(f["row"])
    w = max([len(f["figure"] + " " + f["variant"]) for f in figures] + [20])
    for row in seen:
        out.append("")
        out.append("%s: %s" % (row, ROWS.get(row, "")))
        for f in (f for f in figures if f["row"] == row):
            name = f["figure"] + " " + f["variant"]
            out.append("  %-*s %12s %12s %12s  %s" % (
                w, name, fmt(f["min"]), fmt(f["median"]), fmt(f["max"]),
                f["unit"]))
    hdr = "  %-*s %12s %12s %12s  %s" % (w, "figure variant", "min",
                                         "median", "max", "unit")
    return [hdr] + out


def rst_table(figures, result):
    """The table as reStructuredText, for Documentation/perf/README.rst."""
    cols = ["row", "figure", "variant", "min", "median", "max", "unit"]
    rows = [[f["row"], f["figure"], f["variant"], fmt(f["min"]),
             fmt(f["median"]), fmt(f["max"]), f["unit"]] for f in figures]
    w = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
         for i, c in enumerate(cols)]
    sep = " ".join("=" * n for n in w)
    line = lambda r: " ".join(x.ljust(n) for x, n in zip(r, w)).rstrip()
    out = ["Run of %s: L1 kernel %s, %s, -accel %s, commit %s%s, %s "
           "rounds, on %s (%s CPUs)." % (
               result["date"][:10], result["kernel"], result["qemu"],
               result["accel"], (result["commit"] or "?")[:12],
               " (dirty)" if result["commit_dirty"] else "",
               result["bench"].get("reps", "?"),
               result["machine"]["cpu"], result["machine"]["cpus"]),
           "", sep, line(cols), sep] + [line(r) for r in rows] + [sep]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tap", required=True, action="append",
                    help="a boot's tap.log; again for each further boot "
                    "(the figures are merged)")
    ap.add_argument("--no-iommu", action="store_true",
                    help="do not expect the IOMMU L1's row (%s)" % IOMMU_ROW)
    ap.add_argument("--json", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--rst", help="also write the table as reStructuredText")
    ap.add_argument("--counts", help="also write 'passed failed skipped' "
                    "for make check: each figure present one passed result, "
                    "each missing one failed (a failed program is parse.py's)")
    ap.add_argument("--commit", help="the commit measured (default: the "
                    "repository's HEAD now), '+dirty' appended if it had changes")
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", ".."))
    a = ap.parse_args()

    figures, meta, kernel, failed, have = [], {}, None, [], set()
    for path in a.tap:
        try:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").split("\n")
        except OSError as err:
            print("bench: %s" % err)
            return 1
        figs, m, k, ends = parse(lines, path)
        for f in figs:
            key = (f["row"], f["figure"], f["variant"])
            if key in have:
                failed.append("%s/%s/%s twice (again in %s)"
                              % (key + (path,)))
                continue
            have.add(key)
            figures.append(f)
        meta.update(m)
        kernel = kernel or k
        failed += ["%s exited %d (%s)" % (p, ends[p], path) for p in PROGRAMS
                   if ends.get(p, 0) != 0]
        failed += ["%s never finished (no PVX-END in %s)" % (p, path)
                   for p in PROGRAMS if p not in ends]

    want = expected(iommu=not a.no_iommu)
    missing = [e for e in want if e not in have]

    qver = run([a.qemu, "--version"])
    if a.commit:
        commit, dirty = a.commit.split("+")[0], a.commit.endswith("+dirty")
    else:
        commit = run(["git", "rev-parse", "HEAD"], cwd=a.repo)
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"],
                    cwd=a.repo)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "kernel": kernel,
        "qemu": qver.splitlines()[0] if qver else None,
        "accel": a.accel,
        "commit": commit,
        "commit_dirty": bool(dirty),
        "machine": machine(),
        "bench": meta,
        "note": TCG_NOTE,
        "figures": figures,
        "no_iommu": a.no_iommu,
        "missing": ["%s/%s/%s" % e for e in missing],
        "failed": failed,
        "not_done": NOT_DONE,
    }
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    if a.counts:
        with open(a.counts, "w") as f:
            f.write("%d %d 0\n" % (len(want) - len(missing), len(missing)))

    if a.rst:
        with open(a.rst, "w") as f:
            f.write("\n".join(rst_table(figures, result)) + "\n")

    print("pvx bench: L1 kernel %s, %s (-accel %s), commit %s%s, %d repetitions"
          % (kernel, result["qemu"], a.accel, (commit or "?")[:12],
             " (dirty)" if dirty else "", meta.get("reps", 0)))
    print(TCG_NOTE)
    for line in table(figures):
        print(line)
    print("")
    print("not measured yet: " + "; ".join(NOT_DONE))
    print("written: %s" % a.json)
    for e in missing:
        print("MISSING %s/%s/%s" % e)
    for f in failed:
        print("FAILED %s" % f)
    if missing or failed:
        print("bench: %d figures missing, %d programs failed"
              % (len(missing), len(failed)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
