#!/usr/bin/python3
"""Counts the figures of docs/reliability.md ("Figures of the last full run")
from the logs a TAP run leaves behind:

    test/tools/reliability_figures.py [tmp_check/log]

regress_log_* are the test scripts' logs (assertions, checker summaries,
exact-match notes, immediate stops); the other *.log files are the servers'
logs (backends killed by signal 9, crash recoveries)."""
import glob
import os
import re
import sys

logdir = sys.argv[1] if len(sys.argv) > 1 else "tmp_check/log"
tap = sorted(glob.glob(os.path.join(logdir, "regress_log_*")))
servers = sorted(set(glob.glob(os.path.join(logdir, "*.log"))) - set(tap))
if not tap:
    sys.exit("no regress_log_* in %s: run the TAP tests first (make prove_installcheck)" % logdir)

fig = dict(files=len(tap), ok=0, not_ok=0, skipped=0, checker=0, heap_rows=0, exact_rows=0, exact_missed=0,
           immediate=0, killed=0, recoveries=0)
per_file = []
for path in tap:
    text = open(path, errors="replace").read()
    n_ok = len(re.findall(r"^\[[^\]]*\]\s*\([^)]*\)\s*ok \d+", text, re.M))
    n_bad = len(re.findall(r"^\[[^\]]*\]\s*\([^)]*\)\s*not ok \d+", text, re.M))
    fig["ok"] += n_ok
    fig["not_ok"] += n_bad
    fig["skipped"] += len(re.findall(r"ok \d+ # skip", text))
    fig["checker"] += len(re.findall(r"info summary", text))
    fig["heap_rows"] += sum(int(x) for x in re.findall(r"heap rows checked (\d+)", text))
    for missed, rows in re.findall(r"exact-match: .*?: (\d+) of (\d+) rows missed", text):
        fig["exact_rows"] += int(rows)
        fig["exact_missed"] += int(missed)
    fig["immediate"] += len(re.findall(r"-m immediate stop", text))
    per_file.append((os.path.basename(path)[len("regress_log_"):], n_ok + n_bad, n_bad))
for path in servers:
    text = open(path, errors="replace").read()
    fig["killed"] += len(re.findall(r"terminated by signal 9", text))
    fig["recoveries"] += len(re.findall(r"database system was not properly shut down; automatic recovery", text))

print("TAP files: %(files)d; assertions: %(ok)d ok, %(not_ok)d not ok (%(skipped)d skipped)" % fig)
for name, n, bad in per_file:
    print("  %-32s %4d assertions%s" % (name, n, ", %d failed" % bad if bad else ""))
print("checker runs (summaries): %(checker)d; heap rows verified by heapallindexed: %(heap_rows)d" % fig)
print("rows looked up by exact match through an index: %(exact_rows)d, missed %(exact_missed)d" % fig)
print("immediate stops: %(immediate)d; processes killed by signal 9: %(killed)d; crash recoveries: %(recoveries)d"
      % fig)
