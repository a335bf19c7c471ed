#!/usr/bin/python3
"""Single-client query loop with binary parameters, like the harness, for A/B work on a running server:

    bench/hnsw/query_loop.py DSN TABLE EF SECONDS [QUERY_TABLE GT_TABLE OP]

TABLE(id int, v vector), QUERY_TABLE(id int, v vector) and GT_TABLE(id int, nn int[]) as loaded by
test/tools/f32_to_copy.py (defaults fm_q, fm_gt, <->). Runs `SELECT id FROM TABLE ORDER BY v OP $1 LIMIT 10`
(prepared) over the first 1,000 queries, cycling, for SECONDS at hnsw.ef_search = EF, and prints wall QPS,
queries per second of backend CPU (steadier on a shared machine; needs the server on this host) and recall@10.
Prints the backend pid first, for `perf record -p`. QUERY_LOOP_SQL, when set, replaces the query: each %s in
it takes the query vector (e.g. a float16 expression index re-ranked exactly, docs/hnsw.md).
"""
import os
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vecbench import pg  # noqa: E402


def main():
    dsn, table, ef, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    qt, gtt, op = sys.argv[5:8] if len(sys.argv) > 7 else ("fm_q", "fm_gt", "<->")
    c0 = psycopg.connect(dsn, autocommit=True)
    oid = c0.execute("SELECT 'vector'::regtype::oid").fetchone()[0]
    qs = [np.array([float(x) for x in r[0].strip("[]").split(",")], dtype=np.float32)
          for r in c0.execute("SELECT v::text FROM %s ORDER BY id LIMIT 1000" % qt).fetchall()]
    gt = [r[0] for r in c0.execute("SELECT nn FROM %s ORDER BY id LIMIT 1000" % gtt).fetchall()]
    conn = pg.connect(dsn, oid)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET hnsw.ef_search = %d" % ef)
    pid = cur.execute("SELECT pg_backend_pid()").fetchone()[0]
    print("pid", pid, flush=True)
    sql = os.environ.get("QUERY_LOOP_SQL") or "SELECT id FROM %s ORDER BY v %s %%s LIMIT 10" % (table, op)
    uses = sql.count("%s")
    params = [pg.VecParam(pg.vector_binary(q)) for q in qs]

    def cpu():
        f = open("/proc/%d/stat" % pid).read().split(")")[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    for p in params[:50]:
        cur.execute(sql, [p] * uses, prepare=True).fetchall()
    t0, c_0, n, hits = time.perf_counter(), cpu(), 0, 0
    while time.perf_counter() - t0 < secs:
        i = n % len(params)
        rows = cur.execute(sql, [params[i]] * uses, prepare=True).fetchall()
        hits += len({r[0] for r in rows} & set(gt[i][:10]))
        n += 1
    t, c = time.perf_counter() - t0, cpu() - c_0
    print("%s ef=%d n=%d qps=%.0f cpu-qps=%.0f recall=%.4f" % (table, ef, n, n / t, n / max(c, 1e-9), hits / (10 * n)),
          flush=True)


if __name__ == "__main__":
    main()
