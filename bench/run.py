#!/usr/bin/python3
"""vecdb benchmark suite — one command per scenario.

    /usr/bin/python3 bench/run.py quick --pg-config /path/to/pg_config

Starts (or reuses) a scratch cluster, installs the working tree into the
Postgres of --pg-config, loads the scenario's datasets with COPY, builds the
indexes (timed), sweeps the search setting and runs the in-process references
(hnswlib, FAISS) on the same data. Writes result.json, result.md and PNG plots
to the output directory. Timings never decide the exit status: it is non-zero
only when the tool itself breaks (or, for `smoke`, when its checks fail).
See bench/README.md."""
import argparse
import datetime
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import psycopg  # noqa: E402

from vecbench import cluster as clusterlib  # noqa: E402
from vecbench import client as clientlib  # noqa: E402
from vecbench import envinfo, report, runner  # noqa: E402
from vecbench.scenarios import SCENARIOS  # noqa: E402

SYSTEMS = ("vecdb", "hnswlib", "faiss-hnsw", "faiss-ivfpq")


def default_data_dir():
    for cand in (os.environ.get("VECDB_DATA_DIR"), os.path.join(REPO, "..", "shared", "data"),
                 os.path.join(REPO, "..", "..", "shared", "data")):
        if cand and os.path.isdir(cand):
            return os.path.abspath(cand)
    return os.path.abspath(os.path.join(REPO, "..", "shared", "data"))


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--pg-config", default="pg_config", help="pg_config of the Postgres to install into and run")
    ap.add_argument("--port", type=int, default=5499, help="port of the scratch cluster (default 5499; 0 picks a free one)")
    ap.add_argument("--workdir", default="/tmp/vecdb-bench", help="cluster data directory and cache live here")
    ap.add_argument("--data-dir", default=None, help="dataset folder (default ../shared/data)")
    ap.add_argument("--cache-dir", default=None, help="decompressed/generated arrays (default WORKDIR/cache)")
    ap.add_argument("--out", default=None, help="output directory (default bench/out/SCENARIO-TIMESTAMP)")
    ap.add_argument("--limit-rows", type=int, default=None, help="use only the first N base rows (ground truth recomputed)")
    ap.add_argument("--limit-queries", type=int, default=None, help="use only the first N queries")
    ap.add_argument("--sizes", default=None, help="comma list of row counts for synthetic scenarios (scale)")
    ap.add_argument("--dim", type=int, default=None, help="dimension of synthetic datasets (e.g. 768, 1536)")
    ap.add_argument("--systems", default=None,
                    help="comma list of systems to run (default all): " + ",".join(SYSTEMS))
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a server setting (repeatable), e.g. --set shared_buffers=8GB")
    ap.add_argument("--no-install", action="store_true", help="do not run make && make install first")
    ap.add_argument("--fresh", action="store_true", help="re-create the cluster (initdb) before running")
    ap.add_argument("--stop", action="store_true", help="stop the cluster at the end")
    ap.add_argument("--keep-db", action="store_true", help="keep the benchmark databases afterwards")
    ap.add_argument("--sections", default=None,
                    help="comma list: run only these parts of the scenario (exact, sweep, build_variants, filtered, "
                         "concurrency, ingest, churn); references run only with --systems naming them")
    ap.add_argument("--reuse-db", action="store_true",
                    help="reuse the benchmark database (table and index) of an earlier run when its row count "
                         "matches, and keep it afterwards")
    ap.add_argument("--churn-rows", type=int, default=None,
                    help="rows of the churn section's table (default: the scenario's; 0 = all)")
    ap.add_argument("--strict", action="store_true", help="a database error fails the run (default: recorded)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed passes per sweep point, keep the fastest (default: scenario's, 1)")
    ap.add_argument("--param-format", choices=("binary", "text"), default="binary",
                    help="how query vectors are sent (default binary)")
    ap.add_argument("--client", choices=("libpq", "psycopg"), default="libpq",
                    help="what times the queries: bench/client/pgquery.c on libpq (default; built with cc, "
                         "psycopg when that fails) or psycopg's Python loop")
    ap.add_argument("--copy-format", choices=("binary", "text"), default="binary", help="COPY format (default binary)")
    ap.add_argument("--client-cpu", default="auto",
                    help="CPU to bind the timing client and its backend to, and the in-process references' "
                         "searches (default auto: the highest CPU this process may use; 'any': no binding)")
    o = ap.parse_args(argv)
    o.data_dir = os.path.abspath(o.data_dir) if o.data_dir else default_data_dir()
    o.cache_dir = o.cache_dir or os.path.join(o.workdir, "cache")
    o.sizes = [int(x) for x in o.sizes.split(",")] if o.sizes else None
    o.systems = [s.strip() for s in o.systems.split(",")] if o.systems else None
    o.sections = [s.strip() for s in o.sections.split(",")] if o.sections else None
    if o.sections and not o.systems:
        o.systems = ["vecdb"]  # a partial run measures the extension, not the references
    for s in o.systems or ():
        if s not in SYSTEMS:
            ap.error("unknown system %r (known: %s)" % (s, ", ".join(SYSTEMS)))
    o.client_exe = None  # built in main() when --client libpq
    if o.client_cpu == "any":
        o.client_cpu = None
    elif o.client_cpu == "auto":
        o.client_cpu = max(os.sched_getaffinity(0))
    else:
        try:
            o.client_cpu = int(o.client_cpu)
        except ValueError:
            ap.error("--client-cpu wants a CPU number, auto or any")
        if o.client_cpu not in os.sched_getaffinity(0):
            ap.error("--client-cpu %d: not a CPU this process may use" % o.client_cpu)
    o.settings = {}
    for kv in o.set:
        if "=" not in kv:
            ap.error("--set wants NAME=VALUE")
        k, v = kv.split("=", 1)
        o.settings[k.strip()] = v.strip()
    return o


def smoke_checks(doc, out_dir, scenario, client):
    """The smoke scenario's assertions: files exist, the exact path is exact
    and the asked-for client timed the queries, with the answering
    process's CPU time."""
    problems = []
    if client == "libpq" and not doc["options"].get("client", "").startswith("libpq"):
        problems.append("queries were not timed by bench/client/pgquery.c (see the log for why it was not built)")
    for f in ("result.json", "result.md"):
        if not os.path.getsize(os.path.join(out_dir, f)):
            problems.append("%s is empty" % f)
    pngs = [f for f in os.listdir(out_dir) if f.endswith(".png")]
    if not pngs:
        problems.append("no PNG plot written")
    want = scenario["checks"]["exact_recall"]
    for res in doc["results"]:
        exact = [r for r in res["runs"] if r["system"] == "vecdb-exact"]
        if not exact:
            problems.append("%s: the exact (sequential scan) path did not run" % res["dataset"]["name"])
        for r in exact:
            for k in ("recall@1", "recall@10", "recall@100"):
                got = r["points"][0].get(k)
                if got is None or abs(got - want) > 1e-9:
                    problems.append("%s: exact %s = %s, expected %s" % (res["dataset"]["name"], k, got, want))
        for r in res["runs"]:
            for p in r["points"]:
                if not (p.get("qps") or 0) > 0:
                    problems.append("%s %s: no QPS measured" % (res["dataset"]["name"], r["label"]))
                # The server runs on this host, so its backend's CPU is readable.
                if not (p.get("cpu_us") or 0) > 0:
                    problems.append("%s %s: no CPU time per query measured" % (res["dataset"]["name"], r["label"]))
                cpu = doc["options"].get("client_cpu")
                if cpu is not None and p.get("pinned") != cpu:
                    problems.append("%s %s: timed queries not bound to CPU %s (binding a backend needs root; "
                                    "--client-cpu any runs unbound)" % (res["dataset"]["name"], r["label"], cpu))
    return problems


def main(argv=None):
    o = parse_args(sys.argv[1:] if argv is None else argv)
    sc = SCENARIOS[o.scenario]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = o.out or os.path.join(HERE, "out", "%s-%s" % (o.scenario, stamp))
    os.makedirs(out_dir, exist_ok=True)
    log_f = open(os.path.join(out_dir, "log.txt"), "w")

    def log(msg):
        line = "[%s] %s" % (datetime.datetime.now().strftime("%H:%M:%S"), msg)
        print(line, flush=True)
        log_f.write(line + "\n")
        log_f.flush()

    t0 = time.time()
    command = "/usr/bin/python3 bench/run.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    log("scenario %s -> %s" % (o.scenario, out_dir))
    doc = {"scenario": o.scenario, "description": sc["description"], "command": command,
           "started": datetime.datetime.now().isoformat(timespec="seconds"),
           "options": {k: getattr(o, k) for k in ("limit_rows", "limit_queries", "sizes", "dim", "systems", "repeat", "param_format",
                                                  "copy_format", "data_dir", "port", "client_cpu")},
           "environment": envinfo.environment(REPO)}
    cl = None
    if not o.systems or "vecdb" in o.systems:
        if not o.no_install:
            clusterlib.install_extension(REPO, o.pg_config, log=log)
        cl = clusterlib.Cluster(o.pg_config, o.workdir, o.port, o.settings, log=log)
        doc["cluster"] = {"state": cl.ensure(fresh=o.fresh), "datadir": cl.datadir, "port": cl.port,
                          "settings_file": cl.conf_text()}
        doc["server"] = envinfo.server_info(cl.conninfo())
        if o.client == "libpq" and o.param_format == "binary":
            o.client_exe = clientlib.build(o.pg_config, o.workdir, log)
    doc["options"]["client"] = "libpq (bench/client/pgquery.c)" if o.client_exe else "psycopg %s (%s libpq wrapper)" % (
        psycopg.__version__, psycopg.pq.__impl__)
    try:
        doc["results"] = runner.Runner(o, sc, cl, log).run()
    finally:
        if cl and o.stop:
            cl.stop()
    doc["seconds"] = time.time() - t0
    doc["environment"]["load_average_end"] = list(os.getloadavg())

    plots = {}
    for res in doc["results"]:
        path = os.path.join(out_dir, "%s-recall-qps.png" % res["dataset"]["name"].replace("@", "-"))
        report.plot_recall_qps(res, path)
        plots[res["dataset"]["name"]] = path
    if sc.get("scale_plot"):
        plots["__scale__"] = os.path.join(out_dir, "scale.png")
        report.plot_scale(doc["results"], plots["__scale__"])
    report.write_json(doc, os.path.join(out_dir, "result.json"))
    with open(os.path.join(out_dir, "result.md"), "w") as f:
        f.write(report.markdown(doc, plots))
    log("wrote %s (result.json, result.md, %d plot(s)) in %.0f s" % (out_dir, len(plots), doc["seconds"]))

    if o.scenario == "smoke":
        problems = smoke_checks(doc, out_dir, sc, o.client)
        for p in problems:
            log("SMOKE CHECK FAILED: " + p)
        if problems:
            return 1
        log("smoke checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
