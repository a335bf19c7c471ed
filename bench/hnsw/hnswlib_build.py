#!/usr/bin/python3
"""hnswlib reference for bench/hnsw/hnsw_build_driver.cpp: build time and
recall@10 on one shared dataset.

    /usr/bin/python3 bench/hnsw/hnswlib_build.py /work/shared/data/glove-100-angular cosine \
        [--threads 1] [--m 16] [--efc 64] [--ef 10,20,40,80,160]
"""
import argparse
import json
import lzma
import time

import hnswlib
import numpy as np


def load(path, dtype):
    with lzma.open(path) as f:
        return np.frombuffer(f.read(), dtype=dtype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("metric", choices=["l2", "cosine", "ip"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--ef", default="10,20,40,80,160")
    a = ap.parse_args()
    d = json.load(open(a.dir + "/meta.json"))["d"]
    base = load(a.dir + "/base.f32.xz", np.float32).reshape(-1, d)
    query = load(a.dir + "/query.f32.xz", np.float32).reshape(-1, d)
    gt = load(a.dir + "/gt.i32.xz", np.int32).reshape(-1, 100)
    n = base.shape[0]
    index = hnswlib.Index(space=a.metric, dim=d)
    index.init_index(max_elements=n, M=a.m, ef_construction=a.efc)
    index.set_num_threads(a.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    index.add_items(base, np.arange(n))
    t1, c1 = time.perf_counter(), time.process_time()
    print(f"hnswlib n={n} dim={d} M={a.m} efc={a.efc} threads={a.threads}: "
          f"build {t1 - t0:.2f} s (CPU {c1 - c0:.2f} s)")
    index.set_num_threads(1)
    for ef in [int(x) for x in a.ef.split(",")]:
        index.set_ef(max(ef, 10))
        t0 = time.perf_counter()
        labels, _ = index.knn_query(query, k=10)
        t1 = time.perf_counter()
        hits = sum(len(set(labels[i]) & set(gt[i, :10])) for i in range(len(query)))
        print(f"ef {ef:4d}  recall@10 {hits / (10 * len(query)):.4f}  {len(query) / (t1 - t0):.0f} QPS (1 thread)")


if __name__ == "__main__":
    main()
