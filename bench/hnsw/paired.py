#!/usr/bin/python3
"""vecdb through SQL against hnswlib in process, measured in interleaved rounds.

    bench/hnsw/paired.py DSN TABLE OP DATASET_DIR HNSWLIB_INDEX TARGET VECDB_EFS HNSWLIB_EFS [ROUNDS] [NQ]

e.g. bench/hnsw/paired.py "host=/tmp port=5498 dbname=postgres user=postgres" glove '<=>' \\
         /work/shared/data/glove-100-angular /tmp/hnswlib-glove-100-angular.bin 0.95 200,220,240 260,280,300

Why: the harness sweeps one system after the other, minutes apart, and this
host's speed drifts on that scale (the same code's glove-100 ratio read 0.50x
and 0.34x in two runs an hour apart, docs/benchmarks.md). Here each round
times one pass of the same NQ queries through each system back to back, the
order alternating between rounds, so every ratio compares two systems in the
same stretch of the host; the median over ROUNDS (default 10) is the figure.

TABLE holds the dataset's base rows as (id = row number, v); OP is its index's
operator. For each system the smallest ef_search (ef) of the given lists whose
recall@10 on the NQ (default 1000) queries reaches TARGET is used (each
candidate checked once, untimed). vecdb queries run through
bench/client/pgquery.c (built here) as the harness runs them: a prepared
statement with a binary parameter, one connection per round that first runs
every query once untimed; hnswlib likewise gets one untimed pass per round.
HNSWLIB_INDEX: an index saved by bench/hnsw/hnswlib_queries.py (M=16,
ef_construction=64). Per round: QPS and CPU microseconds per query of each
(the backend's, and hnswlib's thread), and the QPS ratio.

Timed passes are bound to one CPU as in the harness (`--client-cpu`): pgquery
and its backend, and hnswlib's search thread; PAIRED_CPU=N picks the CPU
(default the highest this process may use), PAIRED_CPU=any binds nothing.
"""
import json
import lzma
import os
import statistics
import sys
import tempfile
import time

import hnswlib
import numpy as np
import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vecbench import client, measure, pg  # noqa: E402


def load(d, name, dtype):
    return np.frombuffer(lzma.open(os.path.join(d, name)).read(), dtype=dtype)


def recall(results, gt):
    return sum(len(set(r[:10]) & set(g[:10].tolist())) for r, g in zip(results, gt)) / (10.0 * len(gt))


def main():
    if len(sys.argv) < 9:
        sys.exit(__doc__)
    dsn, table, op, d, index_file = sys.argv[1:6]
    target = float(sys.argv[6])
    vecdb_efs = [int(x) for x in sys.argv[7].split(",")]
    hnswlib_efs = [int(x) for x in sys.argv[8].split(",")]
    rounds = int(sys.argv[9]) if len(sys.argv) > 9 else 10
    nq = int(sys.argv[10]) if len(sys.argv) > 10 else 1000

    meta = json.load(open(os.path.join(d, "meta.json")))
    dim = meta["d"]
    space = {"l2": "l2", "angular": "cosine", "cosine": "cosine", "ip": "ip"}[meta["metric"]]
    queries = load(d, "query.f32.xz", np.float32).reshape(-1, dim)[:nq]
    gt = load(d, "gt.i32.xz", np.int32).reshape(-1, 100)[:nq]
    nq = len(queries)

    index = hnswlib.Index(space=space, dim=dim)
    index.load_index(index_file, max_elements=meta["n"])
    index.set_num_threads(1)

    with psycopg.connect(dsn, autocommit=True) as c:
        oid = c.execute("SELECT 'vector'::regtype::oid").fetchone()[0]
    work = tempfile.mkdtemp(prefix="paired-")
    exe = client.build(os.environ.get("PG_CONFIG", "pg_config"), work, log=lambda m: sys.stderr.write(m + "\n"))
    if exe is None:
        sys.exit("pgquery could not be built")
    sql = "SELECT id FROM %s ORDER BY v %s $1 LIMIT 10" % (table, op)
    cpu_arg = os.environ.get("PAIRED_CPU", "auto")
    cpu = None if cpu_arg == "any" else max(os.sched_getaffinity(0)) if cpu_arg == "auto" else int(cpu_arg)
    params = [pg.vector_binary(q) for q in queries]

    def vecdb_pass(ef, warm=True):
        runs = client.run(exe, dsn, sql, params, oid, 10, nq if warm else 0, {"hnsw.ef_search": ef}, 1, cpu)
        res, ns, used = runs[0]
        if cpu is not None and used.get("pinned") != cpu:
            sys.exit("pgquery could not bind itself and its backend to CPU %d (needs root); PAIRED_CPU=any runs unbound" % cpu)
        return res, ns, used.get("cpu_us")

    def hnswlib_pass(ef, warm=True):
        index.set_ef(ef)
        res, ns, used = [], np.empty(nq, dtype=np.int64), 0
        with measure.bound_to(cpu):
            if warm:
                for q in queries:
                    index.knn_query(q, k=10)
            for i, q in enumerate(queries):
                c0 = time.thread_time_ns()
                t0 = time.perf_counter_ns()
                labels, _ = index.knn_query(q, k=10)
                ns[i] = time.perf_counter_ns() - t0
                used += time.thread_time_ns() - c0
                res.append([int(x) for x in labels[0]])
        return res, ns, used / 1e3 / nq

    def pick(name, efs, run):
        for ef in sorted(efs):
            r = recall(run(ef, warm=False)[0], gt)
            print("%s ef %d: recall@10 %.4f" % (name, ef, r), flush=True)
            if r >= target:
                return ef, r
        sys.exit("%s: no ef in %s reaches recall %.3f" % (name, efs, target))

    v_ef, v_rec = pick("vecdb", vecdb_efs, vecdb_pass)
    h_ef, h_rec = pick("hnswlib", hnswlib_efs, hnswlib_pass)
    print("rounds: vecdb ef_search %d (recall %.4f) against hnswlib ef %d (recall %.4f), %d queries, %s"
          % (v_ef, v_rec, h_ef, h_rec, nq, "bound to CPU %d" % cpu if cpu is not None else "not bound"), flush=True)
    ratios = []
    for r in range(rounds):
        order = [("vecdb", vecdb_pass, v_ef), ("hnswlib", hnswlib_pass, h_ef)]
        if r % 2:
            order.reverse()
        got = {}
        for name, run, ef in order:
            _, ns, used = run(ef)
            got[name] = (nq / (ns.sum() / 1e9), used)
        ratio = got["vecdb"][0] / got["hnswlib"][0]
        ratios.append(ratio)
        print("round %d: vecdb %.0f QPS (%.0f us CPU/q), hnswlib %.0f QPS (%.0f us CPU/q), ratio %.3f"
              % (r + 1, got["vecdb"][0], got["vecdb"][1] or float("nan"), got["hnswlib"][0], got["hnswlib"][1], ratio),
              flush=True)
    print("ratio vecdb / hnswlib at recall@10 >= %.2f: median %.3f (min %.3f, max %.3f) over %d rounds"
          % (target, statistics.median(ratios), min(ratios), max(ratios), rounds))


if __name__ == "__main__":
    main()
