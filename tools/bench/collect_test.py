#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""collect.py's own test (TAP): every promised figure present passes; one
missing figure, a bad line or a failed program fails and is named."""
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


def run(text):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "tap.log")
        j = os.path.join(d, "bench.json")
        with open(p, "w") as f:
            f.write(text)
        r = subprocess.run([sys.executable, os.path.join(HERE, "collect.py"),
                            "--tap", p, "--json", j, "--qemu", "/bin/true"],
                           capture_output=True, text=True)
        data = json.load(open(j)) if os.path.exists(j) else None
        return r.returncode, r.stdout + r.stderr, data


print("TAP version 13")
all_figs = collect.expected()
rc, out, data = run(tap(all_figs))
ok(rc == 0, "every figure present: exit 0 (%d)" % rc)
ok(data and data["kernel"] == "6.12-test" and len(data["figures"]) ==
   len(all_figs), "bench.json has the kernel and every figure")
ok(data and all(k in data for k in ("qemu", "commit", "machine", "note")),
   "bench.json records QEMU, commit and machine")
ok("absolute times mean nothing" in out, "the output says TCG times mean nothing")
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
