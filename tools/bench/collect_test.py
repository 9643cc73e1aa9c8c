#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""collect.py's own test (TAP): every promised figure present passes; one
missing figure, a bad line or a failed program fails and is named; the
IOMMU L1's log merges with the stock one's, or --no-iommu expects none."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import collect  # noqa: E402

n = failed = 0


def ok(cond, what):
    global n, failed
    n += 1
    failed += not cond
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))


def tap(figs, rc=0):
    lines = ["# PVX-INIT lane=stock kernel=6.12-test",
             "# PVX-BEGIN bench/pvx_bench",
             '# PVX-BENCH: {"meta": {"reps": 3}}']
    for row, fig, var in figs:
        lines.append("# PVX-BENCH: " + json.dumps(
            {"row": row, "figure": fig, "variant": var, "unit": "exits",
             "n": 3, "min": 1, "median": 2, "max": 3, "values": [1, 2, 3]}))
    lines.append("# PVX-END bench/pvx_bench rc=%d" % rc)
    return "\n".join(lines) + "\n"


def run(text, counts=False, args=()):
    """collect.py on @text, a tap.log, or a list of them (--tap each)."""
    with tempfile.TemporaryDirectory() as d:
        taps = []
        for i, t in enumerate([text] if isinstance(text, str) else text):
            taps += ["--tap", os.path.join(d, "tap%d.log" % i)]
            with open(taps[-1], "w") as f:
                f.write(t)
        j = os.path.join(d, "bench.json")
        c = os.path.join(d, "counts")
        r = subprocess.run([sys.executable, os.path.join(HERE, "collect.py"),
                            "--json", j, "--qemu", "/bin/true"] + taps
                           + (["--counts", c] if counts else [])
                           + list(args), capture_output=True, text=True)
        data = json.load(open(j)) if os.path.exists(j) else None
        if counts:
            data = open(c).read().split() if os.path.exists(c) else None
        return r.returncode, r.stdout + r.stderr, data


def plot(data):
    """plot.py on @data as bench.json: exit status, output, {png: bytes}."""
    with tempfile.TemporaryDirectory() as d:
        j = os.path.join(d, "bench.json")
        out = os.path.join(d, "plots")
        os.mkdir(out)
        # a stale plot of an earlier run must not survive a failed one
        for name in ("msr_sweep.png", "ratios.png"):
            with open(os.path.join(out, name), "w") as f:
                f.write("stale")
        with open(j, "w") as f:
            json.dump(data, f)
        r = subprocess.run([sys.executable, os.path.join(HERE, "plot.py"),
                            "--json", j, "--out", out],
                           capture_output=True, text=True)
        pngs = {}
        for name in os.listdir(out):
            with open(os.path.join(out, name), "rb") as f:
                pngs[name] = f.read()
        return r.returncode, r.stdout + r.stderr, pngs


def is_png(b):
    return b is not None and b[:8] == b"\x89PNG\r\n\x1a\n" and len(b) > 10000


print("TAP version 13")
all_figs = collect.expected()
rc, out, data = run(tap(all_figs))
ok(rc == 0, "every figure present: exit 0 (%d)" % rc)
ok(data and data["kernel"] == "6.12-test" and len(data["figures"]) ==
   len(all_figs), "bench.json has the kernel and every figure")
ok(data and all(k in data for k in ("qemu", "commit", "machine", "note")),
   "bench.json records QEMU, commit and machine")
ok("absolute times mean nothing" in out, "the output says TCG times mean nothing")
full = data
sweep = [e for e in all_figs if e[0] == "msr_sweep"]
ok(all(("msr_sweep", f, v % n) in sweep for n in collect.SWEEP_SIZES
       for f, v in (("exits_per_write", "wrmsr_loop_%d"),
                    ("exits_per_write", "msr_batch_%d"),
                    ("exits", "msr_batch_%d"), ("pvx_calls", "msr_batch_%d")))
   and all(("msr_sweep", "host_time_ratio",
            "msr_batch_%d/wrmsr_loop_%d" % (n, n)) in sweep
           for n in collect.SWEEP_SIZES) and len(sweep) == 6 * 5,
   "expected() lists the sweep's 6 figures at each of its 5 sizes")
lost = ("msr_sweep", "exits_per_write", "msr_batch_256")
rc, out, _ = run(tap([e for e in all_figs if e != lost]))
ok(rc == 1 and "MISSING msr_sweep/exits_per_write/msr_batch_256" in out,
   "a missing sweep figure: exit 1, named")
rc, out, counts = run(tap(all_figs), counts=True)
ok(rc == 0 and counts == [str(len(all_figs)), "0", "0"],
   "--counts: every figure one passed result (%s)" % counts)
rc, out, counts = run(tap(all_figs[2:]), counts=True)
ok(rc == 1 and counts == [str(len(all_figs) - 2), "2", "0"],
   "--counts: each missing figure one failed result (%s)" % counts)

# The IOMMU row: its own L1 (make bench's second boot), its own log.
iommu = [e for e in all_figs if e[0] == collect.IOMMU_ROW]
stock = [e for e in all_figs if e[0] != collect.IOMMU_ROW]
ok(all((collect.IOMMU_ROW, f, v) in iommu for f in ("exits", "pvx_calls",
                                                     "host_ns")
       for v in ("map_batch", "map_single", "unmap_batch", "unmap_single"))
   and (collect.IOMMU_ROW, "host_time_ratio",
        "map_batch/map_single") in iommu
   and len(iommu) == 14 and collect.IOMMU_ROW in collect.ROWS,
   "expected() lists iommu256's exits, calls, times and ratios")
ok(collect.expected(iommu=False) == stock,
   "expected(iommu=False): all but iommu256")
for lost in (("iommu256", "exits", "map_batch"),
             ("iommu256", "host_time_ratio", "map_batch/map_single")):
    rc, out, _ = run(tap([e for e in all_figs if e != lost]))
    ok(rc == 1 and "MISSING %s/%s/%s" % lost in out,
       "an iommu figure missing (%s): exit 1, named" % lost[2])
rc, out, _ = run(tap(stock))
ok(rc == 1 and out.count("MISSING iommu256/") == len(iommu),
   "the stock log alone: every iommu figure missing")
rc, out, counts = run(tap(stock), counts=True, args=["--no-iommu"])
ok(rc == 0 and counts == [str(len(stock)), "0", "0"],
   "--no-iommu: the stock log alone passes, no iommu result (%s)" % counts)
rc, out, data = run([tap(stock), tap(iommu)])
ok(rc == 0 and data and len(data["figures"]) == len(all_figs)
   and not data["missing"], "two --tap logs: their figures merged, exit 0")
rc, out, _ = run([tap(stock), tap(iommu[1:])])
ok(rc == 1 and "MISSING %s/%s/%s" % iommu[0] in out,
   "two logs, an iommu figure in neither: exit 1, named")
rc, out, _ = run([tap(stock), tap(iommu).replace(
    "# PVX-END bench/pvx_bench rc=0\n", "")])
ok(rc == 1 and "never finished (no PVX-END in" in out and "tap1.log" in out,
   "the second log without pvx_bench's end: exit 1, that log named")
rc, out, _ = run([tap(stock), tap(iommu, rc=1)])
ok(rc == 1 and "FAILED bench/pvx_bench exited 1" in out
   and "tap1.log" in out,
   "pvx_bench failed in the second log: exit 1, that log named")
rc, out, _ = run([tap(all_figs), tap(iommu)])
ok(rc == 1 and "FAILED iommu256/exits/map_single twice" in out,
   "a figure in two logs: exit 1, named")

try:
    import matplotlib  # noqa: F401
    why = None
except ImportError as err:
    why = "matplotlib is not importable by %s (%s)" % (sys.executable, err)
if why:
    print("# the plot step is not tested: " + why)
    ok(True, "plot step # SKIP " + why)
else:
    rc, out, pngs = plot(full)
    ok(rc == 0 and is_png(pngs.get("msr_sweep.png"))
       and is_png(pngs.get("ratios.png")),
       "plot.py draws msr_sweep.png and ratios.png (%d)" % rc)
    part = dict(full, figures=[f for f in full["figures"]
                               if (f["row"], f["figure"], f["variant"]) !=
                               ("msr_sweep", "host_time_ratio",
                                "msr_batch_16/wrmsr_loop_16")])
    rc, out, pngs = plot(part)
    ok(rc == 1 and "MISSING msr_sweep.png: msr_sweep/host_time_ratio/"
       "msr_batch_16/wrmsr_loop_16" in out and "msr_sweep.png" not in pngs,
       "a sweep figure missing: exit 1, named, no msr_sweep.png left")
    ok(rc == 1 and "MISSING ratios.png" in out and "ratios.png" not in pngs,
       "the same figure missing: no ratios.png either")
    part = dict(full, figures=[f for f in full["figures"]
                               if f["row"] != "copy1k"])
    rc, out, pngs = plot(part)
    ok(rc == 1 and "MISSING ratios.png: copy1k/guest_time_ratio" in out
       and "ratios.png" not in pngs and is_png(pngs.get("msr_sweep.png")),
       "another row's ratio missing: no ratios.png, msr_sweep.png drawn")
    rc, out, pngs = plot(dict(full, figures=[]))
    ok(rc == 1 and not pngs, "no figures at all: exit 1, no plot")
    part = dict(full, figures=[f for f in full["figures"]
                               if f["row"] != "iommu256"])
    rc, out, pngs = plot(part)
    ok(rc == 1 and "MISSING ratios.png: iommu256/host_time_ratio" in out
       and "ratios.png" not in pngs, "iommu256 missing: no ratios.png")
    rc, out, pngs = plot(dict(part, no_iommu=True))
    ok(rc == 0 and is_png(pngs.get("ratios.png")),
       "iommu256 missing, collected with --no-iommu: ratios.png drawn")

rc, out, data = run(tap(all_figs[1:]))
miss = "%s/%s/%s" % all_figs[0]
ok(rc == 1 and ("MISSING " + miss) in out, "one figure missing: exit 1, named")
ok(data and data["missing"] == [miss], "bench.json lists the missing figure")
rc, out, _ = run(tap(all_figs, rc=1))
ok(rc == 1 and "FAILED bench/pvx_bench exited 1" in out, "failed program: exit 1")
rc, out, _ = run(tap(all_figs).replace("# PVX-END bench/pvx_bench rc=0\n", ""))
ok(rc == 1 and "never finished" in out, "no PVX-END: exit 1")
rc, out, _ = run(tap(all_figs) + "# PVX-BENCH: {bad\n")
ok(rc != 0 and "bad PVX-BENCH line" in out, "a bad line fails")
print("1..%d" % n)
sys.exit(1 if failed else 0)
