#!/usr/bin/python3
"""hnswlib's single-thread query rate on one dataset (default glove-100-angular),
one query at a time, as test/tools/hnsw_quick_bench.py measures vecdb: recall@10
against the dataset's ground truth, wall-clock QPS and QPS per CPU-second.
    bench/hnsw/hnswlib_queries.py 80,120,160,240,320 [DATASET_DIR] [INDEX_FILE]
DATASET_DIR holds base/query/gt.*.xz and meta.json (e.g.
/work/shared/data/fashion-mnist-784-euclidean; a directory holding
glove-100-angular/ means that one). The index (M=16, ef_construction=64,
1 thread) is built once and saved to INDEX_FILE; its size is printed."""
import json
import lzma
import os
import sys
import time

import hnswlib
import numpy as np

efs = [int(x) for x in sys.argv[1].split(",")]
data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../../shared/data")
d = data if os.path.exists(os.path.join(data, "meta.json")) else os.path.join(data, "glove-100-angular")
meta = json.load(open(os.path.join(d, "meta.json")))
dim, n = meta["d"], meta["n"]
space = {"l2": "l2", "angular": "cosine", "cosine": "cosine", "ip": "ip"}[meta["metric"]]
index_file = sys.argv[3] if len(sys.argv) > 3 else f"/tmp/hnswlib-{os.path.basename(d.rstrip('/'))}.bin"


def load(name, dtype):
    return np.frombuffer(lzma.open(os.path.join(d, name)).read(), dtype=dtype)


q = load("query.f32.xz", np.float32).reshape(-1, dim)[:1000]
gt = load("gt.i32.xz", np.int32).reshape(-1, 100)[:1000]
p = hnswlib.Index(space=space, dim=dim)
p.set_num_threads(1)
if os.path.exists(index_file):
    p.load_index(index_file, max_elements=n)
else:
    base = load("base.f32.xz", np.float32).reshape(-1, dim)
    p.init_index(max_elements=len(base), M=16, ef_construction=64)
    p.add_items(base, np.arange(len(base)))
    p.save_index(index_file)
print(f"hnswlib index file {index_file}: {os.path.getsize(index_file)} bytes", flush=True)
p.set_num_threads(1)
for ef in efs:
    p.set_ef(ef)
    for i in range(50):  # warm-up
        p.knn_query(q[i:i + 1], k=10)
    c0, t0, hits = time.process_time(), time.perf_counter(), 0
    for i in range(len(q)):
        labels, _ = p.knn_query(q[i:i + 1], k=10)
        hits += len(set(labels[0]) & set(gt[i][:10]))
    c1, t1 = time.process_time(), time.perf_counter()
    print(f"hnswlib ef={ef} recall@10={hits / 10 / len(q):.4f} qps={len(q) / (t1 - t0):.1f} "
          f"cpu-qps={len(q) / (c1 - c0):.1f}", flush=True)
