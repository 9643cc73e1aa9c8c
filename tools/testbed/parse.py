#!/usr/bin/env python3
"""Turn one lane's tap.log + console.log into per-test results.

usage: parse.py --lane NAME --out DIR [--counts FILE]
       parse.py --lost --out DIR
DIR holds tap.log (ttyS1), console.log (ttyS0) and tests.list (what /init
was asked to run).  Prints one line per result and a summary; with
--counts writes "passed failed skipped" to FILE.  Exit status 1 when any
result failed.

--lost answers whether that boot was lost to the testbed rather than
failed: exit 0 when L1 stopped (froze until the timeout, reset, or QEMU
itself ended) before PVX-ALL-DONE without a kernel message saying why;
exit 1 otherwise, and for a boot that printed a splat (a real failure).

Counting rules:
 - every "ok N ..." / "not ok N ..." line (any indentation: KTAP subtests
   and KUnit cases count too) inside a "# PVX-BEGIN x" / "# PVX-END x rc=N"
   frame is one result; "ok ... # SKIP" is skipped; "not ok ... # TODO"
   is skipped.
 - a frame that exited non-zero without any "not ok", a frame with no
   result, a frame without PVX-END (hang/crash), a test from tests.list that
   never started, a top-level plan "1..N" that does not match: one failure.
 - a boot that never reached /init, or that did not reach PVX-ALL-DONE:
   one failure.
 - kernel splats in console.log: "no kernel splat" fails (context printed),
   otherwise it is one passed result.
"""
import argparse
import os
import re
import sys

SPLAT_PATTERNS = [
    r"Oops", r"BUG:", r"KASAN", r"WARNING:", r"-+\[ cut here \]-+",
    r"possible recursive locking", r"circular locking",
    r"inconsistent lock state", r"suspicious RCU usage",
    r"INFO: task .* blocked for more than", r"general protection fault",
    r"Call Trace:", r"kernel BUG", r"UBSAN", r"kmemleak: .* new suspected",
    r"Kernel panic",
]
SPLAT_RE = re.compile("|".join(SPLAT_PATTERNS))
RESULT_RE = re.compile(r"^(\s*)(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*(#.*)?$")
BEGIN_RE = re.compile(r"^# PVX-BEGIN (\S+)")
END_RE = re.compile(r"^# PVX-END (\S+) rc=(-?\d+)")


def clean(line):
    line = line.replace("\r", "")
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line)


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return [clean(l) for l in f.read().decode("utf-8", "replace").split("\n")]
    except FileNotFoundError:
        return None


class Counter:
    def __init__(self, lane):
        self.lane = lane
        self.passed = self.failed = self.skipped = 0

    def add(self, kind, test, desc):
        if kind == "PASS":
            self.passed += 1
        elif kind == "FAIL":
            self.failed += 1
        else:
            self.skipped += 1
        print(f"{kind} {self.lane}/{test}: {desc}")


def lost(out):
    tap = read_lines(os.path.join(out, "tap.log")) or []
    con = read_lines(os.path.join(out, "console.log")) or []
    if any(l.startswith("# PVX-ALL-DONE") for l in tap):
        return False
    return not any(SPLAT_RE.search(l) for l in con)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lane")
    ap.add_argument("--out", required=True)
    ap.add_argument("--counts")
    ap.add_argument("--lost", action="store_true")
    a = ap.parse_args()
    if a.lost:
        return 0 if lost(a.out) else 1
    if not a.lane:
        ap.error("--lane is required")
    c = Counter(a.lane)
    tap = read_lines(os.path.join(a.out, "tap.log"))
    con = read_lines(os.path.join(a.out, "console.log")) or []
    listed = read_lines(os.path.join(a.out, "tests.list")) or []
    listed = [t.strip() for t in listed if t.strip()]

    booted = tap is not None and any(l.startswith("# PVX-INIT") for l in tap)
    if not booted:
        c.add("FAIL", "boot", "L1 never reached /init; console.log tail:")
        for l in con[-40:]:
            print(f"    | {l}")
        tap = tap or []

    started = set()
    cur = None      # name of the open frame
    st = None       # state of the open frame

    def close(name, rc):
        nonlocal st
        if st["results"] == 0:
            c.add("FAIL", name, f"printed no result (rc={rc})")
        elif rc is None:
            c.add("FAIL", name, "no PVX-END: the test hung or L1 died")
        elif rc != 0 and st["notok"] == 0:
            c.add("FAIL", name, f"exited with rc={rc} without reporting a failure")
        if (rc is not None and st["plan"] is not None
                and not name.startswith("kunit/")
                and st["plan"] != st["top"]):
            c.add("FAIL", name, f"plan 1..{st['plan']} but {st['top']} top-level results")
        st = None

    for line in tap:
        m = BEGIN_RE.match(line)
        if m:
            if cur is not None:
                close(cur, None)
            cur = m.group(1)
            started.add(cur)
            st = {"results": 0, "notok": 0, "top": 0, "plan": None}
            continue
        m = END_RE.match(line)
        if m and cur is not None and m.group(1) == cur:
            close(cur, int(m.group(2)))
            cur = None
            continue
        if cur is None:
            continue
        m = RESULT_RE.match(line)
        if m:
            indent, word, num, desc = m.groups()
            st["results"] += 1
            if not indent:
                st["top"] += 1
            label = f"{word} {num or ''} {desc}".replace("  ", " ").strip()
            directive = desc.split("#", 1)[1].strip().upper() if "#" in desc else ""
            if word == "ok":
                c.add("SKIP" if directive.startswith("SKIP") else "PASS", cur, label)
            elif directive.startswith("TODO"):
                c.add("SKIP", cur, label)
            else:
                st["notok"] += 1
                c.add("FAIL", cur, label)
            continue
        m = PLAN_RE.match(line)
        if m and st["plan"] is None:
            st["plan"] = int(m.group(1))
    if cur is not None:
        close(cur, None)

    if booted:
        for t in listed:
            if t not in started:
                c.add("FAIL", t, "never started (L1 died or timed out before it)")
        if not any(l.startswith("# PVX-ALL-DONE") for l in tap):
            why = "timed out" if any("PVX-L1-TIMEOUT" in l for l in tap) else "died"
            c.add("FAIL", "l1", f"L1 {why} before PVX-ALL-DONE; console.log tail:")
            for l in con[-25:]:
                print(f"    | {l}")

    # kernel splats
    hits = [i for i, l in enumerate(con) if SPLAT_RE.search(l)]
    if hits:
        c.add("FAIL", "console", f"no kernel splat ({len(hits)} matching lines)")
        shown_to = -1
        shown = 0
        for i in hits:
            if i <= shown_to:
                continue
            if shown == 4:
                print("    | ... more splats in console.log")
                break
            lo, hi = max(0, i - 8), min(len(con), i + 40)
            print(f"    | --- console.log lines {lo + 1}-{hi} ---")
            for l in con[lo:hi]:
                print(f"    | {l}")
            shown_to = hi
            shown += 1
    elif booted:
        c.add("PASS", "console", "no kernel splat")

    summary = f"{c.passed} passed, {c.failed} failed"
    if c.skipped:
        summary += f", {c.skipped} skipped"
    print(f"lane {a.lane}: {summary}")
    if a.counts:
        with open(a.counts, "w") as f:
            f.write(f"{c.passed} {c.failed} {c.skipped}\n")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
