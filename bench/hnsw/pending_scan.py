#!/usr/bin/python3
"""Query latency with a full hnsw pending list (issue #3, docs/benchmarks.md "Ingest with merge lanes, and why they are off").

    bench/hnsw/pending_scan.py "host=/tmp port=5498 dbname=ingest user=postgres" [--rows 10000]

Runs on the table bench/hnsw/ingest.py leaves behind (glove: id, category, emb;
glove_idx, cosine). Times --queries prepared `ORDER BY emb <=> q LIMIT 10`
queries at ef_search 40 with the list empty, then appends --rows copies of
existing rows to the pending list (background merge off, a 64 MB limit, so
nothing merges them), times the same queries again, deletes the copies and
vacuums (which drops their entries unlinked). Prints the best of --passes."""
import argparse
import time

import psycopg


def timed(cur, qs, passes):
    best = None
    for _ in range(passes):
        t = time.perf_counter()
        for q in qs:
            cur.execute("SELECT id FROM glove ORDER BY emb <=> %s::vector LIMIT 10", (q,), prepare=True)
            cur.fetchall()
        dt = (time.perf_counter() - t) / len(qs) * 1000
        best = dt if best is None else min(best, dt)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("conninfo")
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--passes", type=int, default=2)
    a = ap.parse_args()
    conn = psycopg.connect(a.conninfo, autocommit=True)
    cur = conn.cursor()
    cur.execute("SET hnsw.ef_search = 40")
    qs = [r[0] for r in cur.execute("SELECT emb::text FROM glove ORDER BY id DESC LIMIT %s", (a.queries,))]
    if cur.execute("SELECT vecdb_hnsw_pending_count('glove_idx')").fetchone()[0] > 0:
        cur.execute("SELECT vecdb_hnsw_merge_pending('glove_idx')")
    print("pending 0: %.3f ms per query" % timed(cur, qs, a.passes), flush=True)
    cur.execute("SET hnsw.background_merge = off")
    cur.execute("SET hnsw.pending_list_limit = '64MB'")
    for lo in range(0, a.rows, 100):
        cur.execute("INSERT INTO glove SELECT id + 10000000, category, emb FROM glove WHERE id >= %s AND id < %s",
                    (lo, min(lo + 100, a.rows)))
    n = cur.execute("SELECT vecdb_hnsw_pending_count('glove_idx')").fetchone()[0]
    print("pending %d: %.3f ms per query" % (n, timed(cur, qs, a.passes)), flush=True)
    cur.execute("DELETE FROM glove WHERE id >= 10000000")
    cur.execute("VACUUM glove")  # drops their entries unlinked


if __name__ == "__main__":
    main()
