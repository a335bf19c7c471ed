#!/usr/bin/python3
"""Quick single-client sweep of an hnsw index (design steering; bench/ is the real harness).

usage: hnsw_quick_bench.py DSN TABLE QUERY_TABLE GT_TABLE OP EF_LIST [NQ]
  TABLE(id int, v vector), QUERY_TABLE(id int, v vector), GT_TABLE(id int, nn int[]) as loaded
  with test/tools/f32_to_copy.py; OP is <->, <=> or <#>; EF_LIST like 40,80,160.
Per ef_search: recall@10 against nn[1:10], wall QPS, QPS per second of backend CPU time
(steadier on a loaded machine; needs the server on this host), and distances and buffer
accesses per query from vecdb_last_scan_stats(). Queries are prepared statements.
"""
import os
import sys
import time

import psycopg


def main():
    dsn, table, qtable, gtable, op = sys.argv[1:6]
    efs = [int(x) for x in sys.argv[6].split(",")]
    nq = int(sys.argv[7]) if len(sys.argv) > 7 else 1000
    conn = psycopg.connect(dsn, autocommit=True)
    cur = conn.cursor()
    qs = cur.execute(f"SELECT id, v::text FROM {qtable} ORDER BY id LIMIT {nq}").fetchall()
    gt = dict(cur.execute(f"SELECT id, nn FROM {gtable}").fetchall())
    pid = cur.execute("SELECT pg_backend_pid()").fetchone()[0]
    sql = f"SELECT id FROM {table} ORDER BY v {op} %s::vector LIMIT 10"

    def cpu():
        f = open(f"/proc/{pid}/stat").read().split(")")[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    for ef in efs:
        cur.execute(f"SET hnsw.ef_search = {ef}")
        for _, v in qs[:50]:
            cur.execute(sql, (v,), prepare=True).fetchall()
        c0, t0 = cpu(), time.perf_counter()
        res = [(qid, cur.execute(sql, (v,), prepare=True).fetchall()) for qid, v in qs]
        t1, c1 = time.perf_counter(), cpu()
        hits = sum(len({r[0] for r in rows} & set(gt[qid][:10])) for qid, rows in res)
        dists = bufs = 0
        for _, v in qs[:100]:
            cur.execute(sql, (v,), prepare=True).fetchall()
            s = cur.execute("SELECT * FROM vecdb_last_scan_stats()").fetchone()
            dists += s[0]
            bufs += s[1]
        n = len(qs)
        print(f"ef={ef:4d} recall@10={hits / (10 * n):.4f} qps={n / (t1 - t0):8.1f} "
              f"cpu-qps={n / max(c1 - c0, 1e-9):8.1f} dist/q={dists / min(n, 100):7.0f} "
              f"buf/q={bufs / min(n, 100):7.0f}", flush=True)


if __name__ == "__main__":
    main()
