#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw `make bench`'s plots (PNG) from the bench.json collect.py wrote.

usage: plot.py --json OUT/bench.json --out DIR

  msr_sweep.png  exits per MSR write and MSR_BATCH's host time over the
                 WRMSR loop's, against the batch size (1 to 256 entries)
  ratios.png     every ratio of the run (pvx's path over the stock one, or
                 for scale over one VM): median, whiskers min to max

Each plot is drawn only from a complete set of the figures it needs: when
one is missing from bench.json the plot is not drawn (an old PNG of it in
DIR is removed), the figure is named, and the exit status is 1.  Needs
python3-matplotlib (tools/testbed/deps.sh installs it).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import collect  # noqa: E402

TITLE_NOTE = "TCG testbed: counts exact, times only as ratios"


def expected(result):
    """What collect.py expected of the run (--no-iommu: no IOMMU row)."""
    return collect.expected(iommu=not result.get("no_iommu", False))


def sweep_needs(result):
    return [e for e in expected(result) if e[0] == "msr_sweep"
            and e[1] in ("exits_per_write", "host_time_ratio")]


def ratio_needs(result):
    return [e for e in expected(result) if e[1].endswith("_ratio")]


def footer(result):
    b = result.get("bench", {})
    return "L1 %s, %s, commit %s%s, %s rounds, %s" % (
        result.get("kernel"), result.get("qemu"),
        (result.get("commit") or "?")[:12],
        "+dirty" if result.get("commit_dirty") else "", b.get("reps", "?"),
        (result.get("date") or "?")[:10])


def whiskers(figs):
    return [[f["median"] - f["min"] for f in figs],
            [f["max"] - f["median"] for f in figs]]


def plot_sweep(plt, have, result, path):
    sizes = collect.SWEEP_SIZES
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.8))
    for v, label, mark in (("wrmsr_loop", "WRMSR loop (stock)", "s"),
                           ("msr_batch", "one MSR_BATCH (pvx)", "o")):
        figs = [have[("msr_sweep", "exits_per_write", "%s_%d" % (v, n))]
                for n in sizes]
        ax1.errorbar(sizes, [f["median"] for f in figs], yerr=whiskers(figs),
                     marker=mark, capsize=3, label=label)
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log", base=2)
    ax1.set_xticks(sizes, [str(n) for n in sizes])
    ax1.set_xlabel("MSR writes per batch")
    ax1.set_ylabel("exits per write (closing message's exit off)")
    ax1.set_title("exits per MSR write (exact counts)")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    figs = [have[("msr_sweep", "host_time_ratio",
                  "msr_batch_%d/wrmsr_loop_%d" % (n, n))] for n in sizes]
    ax2.errorbar(sizes, [f["median"] for f in figs], yerr=whiskers(figs),
                 marker="o", capsize=3, color="C1")
    ax2.axhline(1, color="grey", linestyle="--", linewidth=1)
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xticks(sizes, [str(n) for n in sizes])
    ax2.set_xlabel("MSR writes per batch")
    ax2.set_ylabel("host time, MSR_BATCH / WRMSR loop")
    ax2.set_title("time ratio (median, min-max), 1 = the same")
    ax2.grid(True, which="both", alpha=0.3)
    fig.suptitle("MSR_BATCH against a WRMSR loop of the same length\n"
                 + TITLE_NOTE)
    fig.text(0.5, 0.01, footer(result), ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_ratios(plt, have, result, path):
    # in the run's order, so a row's ratios stay together
    keys = [k for k in have if k in set(ratio_needs(result))]
    figs = [have[k] for k in keys]
    labels = ["%s %s: %s" % (r, f.replace("_ratio", ""), v)
              for r, f, v in keys]
    y = list(range(len(figs)))[::-1]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.3 * len(figs)))
    med = [f["median"] for f in figs]
    ax.barh(y, [m - 1 for m in med], left=1, height=0.6, color="C0",
            xerr=whiskers(figs), capsize=2, ecolor="black")
    ax.axvline(1, color="grey", linewidth=1)
    if all(f["min"] > 0 for f in figs):
        ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("ratio (pvx path / stock path; < 1: pvx took less), "
                  "median with min-max whiskers")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.set_title("Every ratio of the run\n" + TITLE_NOTE)
    fig.text(0.5, 0.005, footer(result), ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


PLOTS = [("msr_sweep.png", sweep_needs, plot_sweep),
         ("ratios.png", ratio_needs, plot_ratios)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:
        print("plot: matplotlib is not importable by %s (%s): install "
              "python3-matplotlib" % (sys.executable, err))
        return 1
    try:
        with open(a.json) as f:
            result = json.load(f)
    except (OSError, ValueError) as err:
        print("plot: %s" % err)
        return 1
    have = {}
    for f in result.get("figures", []):
        have[(f["row"], f["figure"], f["variant"])] = f
    os.makedirs(a.out, exist_ok=True)
    rc = 0
    for name, needs, draw in PLOTS:
        path = os.path.join(a.out, name)
        missing = [e for e in needs(result) if e not in have]
        if missing:
            for e in missing:
                print("MISSING %s: %s/%s/%s" % ((name,) + e))
            if os.path.exists(path):
                os.unlink(path)
            rc = 1
            continue
        draw(plt, have, result, path)
        print("written: %s" % path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
