#!/usr/bin/python3
"""Ingest into an hnsw-indexed table (issue #3), on a running server with vecdb installed:

    bench/hnsw/ingest.py "host=/tmp port=5499 dbname=postgres" [--data-dir ../shared/data]

glove-100-angular: the first n - rows rows are loaded with COPY and indexed
(m 16, ef_construction 64, cosine), then the last `rows` rows arrive as
`batch`-row INSERT statements (one transaction each, binary parameters).
Reported:
  * findable-at-commit rate: rows / seconds of the INSERTs (a committed row is
    found by index scans at once, from the pending list or the graph);
  * time until the pending list is empty (polls vecdb_hnsw_pending_count
    while the background merger works; then vecdb_hnsw_merge_pending, timed);
  * CPU seconds of the inserting backend and of the merge workers (from
    /proc, so the server must run on this machine; steadier than wall clock
    on a shared machine);
  * recall@10 after VACUUM at each ef_search, against the official ground
    truth, and the same for a fresh build of the whole table (--fresh).
The machine this runs on may be shared: read wall-clock figures with the load
average printed next to them."""
import argparse
import os
import sys
import time

import numpy as np
import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from vecbench import data as datalib  # noqa: E402
from vecbench import pg  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def load_avg():
    return os.getloadavg()[0]


def recall(conn, ds, nq, ef, k=10):
    conn.execute("SET hnsw.ef_search = %d" % ef)
    hits = 0
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(nq):
            cur.execute("SELECT id FROM glove ORDER BY emb <=> %s LIMIT %d" % ("%s", k),
                        [pg.VecParam(pg.vector_binary(ds.queries[i]))], prepare=True)
            got = {r[0] for r in cur.fetchall()}
            hits += len(got & set(int(x) for x in ds.gt[i][:k]))
    return hits / (nq * k), nq / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("conninfo")
    ap.add_argument("--data-dir", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))),
                                                       "shared", "data"))
    ap.add_argument("--cache-dir", default="/tmp/vecdb-bench-cache")
    ap.add_argument("--rows", type=int, default=30000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--ef", default="40,80,160")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--pending-list-limit", help="hnsw.pending_list_limit for the inserts (e.g. 32MB; 0: off)")
    ap.add_argument("--fresh", action="store_true", help="also build the whole table fresh and measure its recall")
    ap.add_argument("--reuse", action="store_true", help="keep table glove_base if it exists (skips the load)")
    a = ap.parse_args()

    ds = datalib.load_shared(a.data_dir, "glove-100-angular", a.cache_dir)
    n, d, m = ds.n, ds.d, a.rows
    keep = n - m
    efs = [int(x) for x in a.ef.split(",")]
    conn = psycopg.connect(a.conninfo, autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vecdb")
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    conn = pg.connect(a.conninfo, conn.execute("SELECT 'vector'::regtype::oid").fetchone()[0])
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 0")
    have_base = conn.execute("SELECT to_regclass('glove_base') IS NOT NULL").fetchone()[0]
    if not (a.reuse and have_base):
        conn.execute("DROP TABLE IF EXISTS glove_base")
        conn.execute("CREATE TABLE glove_base (id int, category int, emb vector(%d))" % d)
        secs = pg.copy_rows(conn, "glove_base", np.arange(n, dtype=np.int32), np.zeros(n, np.int32), ds.base)
        print("loaded %d rows in %.1f s" % (n, secs), flush=True)
    conn.execute("DROP TABLE IF EXISTS glove")
    conn.execute("CREATE TABLE glove (id int, category int, emb vector(%d))" % d)
    conn.execute("INSERT INTO glove SELECT * FROM glove_base WHERE id < %d" % keep)
    conn.execute("VACUUM (FREEZE, ANALYZE) glove")
    t0 = time.perf_counter()
    conn.execute("CREATE INDEX glove_idx ON glove USING hnsw (emb vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
    print("built the index of %d rows in %.1f s (load %.1f)" % (keep, time.perf_counter() - t0, load_avg()), flush=True)
    try:
        conn.execute("SELECT pg_prewarm('glove'), pg_prewarm('glove_idx')")
    except psycopg.Error:
        pass
    if a.pending_list_limit is not None:
        conn.execute("SET hnsw.pending_list_limit = '%s'" % a.pending_list_limit)
    have_pending = conn.execute("SELECT to_regproc('vecdb_hnsw_pending_count') IS NOT NULL").fetchone()[0]

    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    mon = psycopg.connect(a.conninfo, autocommit=True)
    cpu0 = cpu_seconds(backend)
    load0 = load_avg()
    secs = pg.insert_batches(conn, "glove", np.arange(keep, n, dtype=np.int32), np.zeros(m, np.int32),
                             ds.base[keep:], a.batch)
    ins_cpu = (cpu_seconds(backend) or 0) - (cpu0 or 0)
    print("INSERT %d rows in %d-row statements: %.1f s = %.0f rows/s findable at commit "
          "(inserting backend %.1f CPU s = %.0f rows per CPU s; load %.1f -> %.1f)"
          % (m, a.batch, secs, m / secs, ins_cpu, m / max(ins_cpu, 1e-9), load0, load_avg()), flush=True)
    if have_pending:
        t1 = time.perf_counter()
        left = mon.execute("SELECT vecdb_hnsw_pending_count('glove_idx')").fetchone()[0]
        print("pending after the INSERTs: %d" % left, flush=True)
        worker_cpu = {}
        while left > 0 and time.perf_counter() - t1 < 900:
            for (pid,) in mon.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'vecdb hnsw merge'"):
                c = cpu_seconds(pid)
                if c is not None:
                    worker_cpu[pid] = c
            time.sleep(0.5)
            left = mon.execute("SELECT vecdb_hnsw_pending_count('glove_idx')").fetchone()[0]
        waited = time.perf_counter() - t1
        t2 = time.perf_counter()
        rest = conn.execute("SELECT vecdb_hnsw_merge_pending('glove_idx')").fetchone()[0]
        fin = time.perf_counter() - t2
        print("pending list empty %.1f s after the last INSERT (background merger; %.1f CPU s seen in merge workers), "
              "then vecdb_hnsw_merge_pending merged %d more in %.1f s; fully merged %.1f s after the first INSERT = "
              "%.0f rows/s (load %.1f)" % (waited, sum(worker_cpu.values()), rest, fin, secs + waited + fin,
                                          m / (secs + waited + fin), load_avg()), flush=True)
    t3 = time.perf_counter()
    conn.execute("VACUUM ANALYZE glove")
    print("VACUUM %.1f s" % (time.perf_counter() - t3), flush=True)
    try:
        conn.execute("SELECT pg_prewarm('glove_idx')")
    except psycopg.Error:
        pass
    nq = min(a.queries, ds.nq)
    for ef in efs:
        r, qps = recall(conn, ds, nq, ef)
        print("after inserts: ef_search %d recall@10 %.4f (%.0f qps)" % (ef, r, qps), flush=True)
    if a.fresh:
        conn.execute("DROP INDEX glove_idx")
        t0 = time.perf_counter()
        conn.execute("CREATE INDEX glove_idx ON glove USING hnsw (emb vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
        print("fresh build of %d rows: %.1f s" % (n, time.perf_counter() - t0), flush=True)
        for ef in efs:
            r, qps = recall(conn, ds, nq, ef)
            print("fresh build:   ef_search %d recall@10 %.4f (%.0f qps)" % (ef, r, qps), flush=True)


if __name__ == "__main__":
    main()
