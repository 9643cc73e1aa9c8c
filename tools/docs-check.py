#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make check's documentation lane (TAP): every reStructuredText file
under Documentation/ parses with docutils without a warning, and no
tracked text file keeps a merge's conflict markers.  A stray '======='
under a line of prose makes that line a section title, and a table
whose text runs past its column is dropped from the page, silently:
neither shows in a diff.

usage: docs-check.py [REPO]   (Debian's python3-docutils)
"""
import glob
import io
import os
import re
import subprocess
import sys

import docutils.core

repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..")
n = failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    failed += not cond
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond and detail:
        for line in detail.rstrip().splitlines()[:20]:
            print("#   " + line)


print("TAP version 13")
files = sorted(glob.glob(os.path.join(repo, "Documentation", "**", "*.rst"),
                         recursive=True))
ok(len(files) > 0, "found %d .rst files under Documentation/" % len(files))
for path in files:
    rel = os.path.relpath(path, repo)
    err = io.StringIO()
    with open(path, encoding="utf-8") as f:
        docutils.core.publish_doctree(
            f.read(), source_path=rel,
            settings_overrides={"warning_stream": err, "report_level": 2,
                                "halt_level": 5})
    ok(not err.getvalue(), "%s parses without a warning" % rel, err.getvalue())

marker = re.compile(r"^(<{7}|>{7})( |$)")
tracked = subprocess.run(["git", "-C", repo, "ls-files"], capture_output=True,
                         text=True).stdout.split()
hits = []
for rel in tracked:
    path = os.path.join(repo, rel)
    try:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if marker.match(line):
                    hits.append("%s:%d: %s" % (rel, i, line.rstrip()))
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        continue
ok(tracked and not hits, "no conflict markers in %d tracked files" %
   len(tracked), "\n".join(hits))
print("1..%d" % n)
print("# %d passed, %d failed, 0 skipped" % (n - failed, failed))
sys.exit(1 if failed else 0)
