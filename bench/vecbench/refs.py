"""In-process reference libraries, one thread, same data and parameters:
hnswlib (Debian python3-hnswlib) and FAISS (python3-faiss: HNSW-Flat, IVF-PQ).
Queries are issued one at a time from Python (as vecdb's are from one client),
so per-call overhead of a few microseconds is part of their latency too."""
import os
import tempfile
import time

import numpy as np

from . import measure


def _normalised(x):
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    return np.ascontiguousarray(x / n, dtype=np.float32)


def _prep(ds, x):
    return _normalised(x) if ds.metric == "angular" else np.ascontiguousarray(x, dtype=np.float32)


def _sweep(ds, judge, search_one, set_param, values, limits, warmup, repeat=1, cpu=None):
    """For each sweep value: warm-up, then every query once per limit, timed."""
    q = _prep(ds, ds.queries)
    points = []
    for val in values:
        set_param(val)
        with measure.bound_to(cpu):  # warm up on the CPU the passes run on
            for i in range(min(warmup, ds.nq)):
                search_one(q[i:i + 1], max(limits))
        point = {"param": val}
        for lim in limits:
            def one_pass():
                res, lat = [], np.empty(ds.nq, dtype=np.int64)
                spent = 0  # this thread's CPU in the searches (one thread: set_num_threads(1))
                for i in range(ds.nq):
                    c0 = time.thread_time_ns()
                    t0 = time.perf_counter_ns()
                    ids = search_one(q[i:i + 1], lim)
                    lat[i] = time.perf_counter_ns() - t0
                    spent += time.thread_time_ns() - c0
                    res.append([int(x) for x in ids if x >= 0])
                return res, lat, {"cpu_us": spent / 1e3 / max(1, ds.nq)}
            with measure.bound_to(cpu) as pinned:
                (res, lat, used), passes = measure.best_pass([one_pass() for _ in range(max(1, repeat))])
            rec = judge.all(res, lim)
            stats = measure.latency_stats(lat)
            if lim == limits[0]:
                point.update(rec)
                point.update(stats)
                point.update(measure.min_tail(passes))
                point.update(used, pinned=pinned)
            else:
                point["recall@%d" % lim] = rec.get("recall@%d" % lim)
                point["qps@%d" % lim] = stats["qps"]
        points.append(point)
    return points


def hnswlib_run(ds, judge, cfg, limits, warmup, ingest_rows=0, repeat=1, cpu=None):
    import hnswlib
    space = {"l2": "l2", "angular": "cosine", "ip": "ip"}[ds.metric]
    m, efc = cfg["m"], cfg["ef_construction"]
    base = np.ascontiguousarray(ds.base, dtype=np.float32)
    idx = hnswlib.Index(space=space, dim=ds.d)
    idx.init_index(max_elements=ds.n, M=m, ef_construction=efc, random_seed=100)
    idx.set_num_threads(1)
    t0 = time.perf_counter()
    idx.add_items(base, np.arange(ds.n), num_threads=1)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "hnswlib.bin")
        idx.save_index(path)
        size = os.path.getsize(path)

    def search(q, k):
        labels, _ = idx.knn_query(q, k=k, num_threads=1)
        return labels[0]

    # hnswlib searches with max(ef, k), as FAISS does.
    points = _sweep(ds, judge, search, idx.set_ef, cfg["ef_search"], limits, warmup, repeat, cpu)
    run = {"system": "hnswlib", "label": "hnswlib HNSW m=%d efc=%d" % (m, efc),
           "params": {"m": m, "ef_construction": efc, "threads": 1}, "sweep_param": "ef",
           "build": {"seconds": build}, "index_bytes": size,
           "bytes_per_vector": size / ds.n, "points": points}
    if ingest_rows:
        # Insert rate of the last `ingest_rows` rows into an index holding the rest.
        keep = ds.n - ingest_rows
        idx2 = hnswlib.Index(space=space, dim=ds.d)
        idx2.init_index(max_elements=ds.n, M=m, ef_construction=efc, random_seed=100)
        idx2.add_items(base[:keep], np.arange(keep), num_threads=1)
        t0 = time.perf_counter()
        idx2.add_items(base[keep:], np.arange(keep, ds.n), num_threads=1)
        secs = time.perf_counter() - t0
        run["ingest"] = {"rows": ingest_rows, "seconds": secs, "rows_per_s": ingest_rows / secs}
    return run


def _faiss_metric(ds):
    import faiss
    return faiss.METRIC_L2 if ds.metric == "l2" else faiss.METRIC_INNER_PRODUCT


def _faiss_size(index):
    import faiss
    return int(faiss.serialize_index(index).nbytes)


def faiss_hnsw_run(ds, judge, cfg, limits, warmup, repeat=1, cpu=None):
    import faiss
    faiss.omp_set_num_threads(1)
    m, efc = cfg["m"], cfg["ef_construction"]
    index = faiss.IndexHNSWFlat(ds.d, m, _faiss_metric(ds))
    index.hnsw.efConstruction = efc
    base = _prep(ds, ds.base)
    t0 = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - t0
    size = _faiss_size(index)

    def search(q, k):
        return index.search(q, k)[1][0]

    def set_ef(ef):
        index.hnsw.efSearch = ef

    points = _sweep(ds, judge, search, set_ef, cfg["ef_search"], limits, warmup, repeat, cpu)
    return {"system": "faiss-hnsw", "label": "FAISS HNSW-Flat m=%d efc=%d" % (m, efc),
            "params": {"m": m, "ef_construction": efc, "threads": 1}, "sweep_param": "efSearch",
            "build": {"seconds": build}, "index_bytes": size, "bytes_per_vector": size / ds.n,
            "points": points}


def pq_subquantizers(d, want):
    """Largest divisor of d that is <= want (FAISS PQ needs m | d)."""
    for m in range(min(want, d), 0, -1):
        if d % m == 0:
            return m
    return 1


def faiss_ivfpq_run(ds, judge, cfg, limits, warmup, repeat=1, cpu=None):
    """IVF-PQ with 8-bit codes, then exact re-rank of k * refine candidates
    (IndexRefineFlat), the configuration that reaches high recall."""
    import faiss
    faiss.omp_set_num_threads(1)
    nlist = cfg.get("nlist") or max(16, int(2 * np.sqrt(ds.n)))
    nlist = min(nlist, max(1, ds.n // 39))
    # 4 dimensions per sub-quantizer (8 for wide vectors, where training
    # hundreds of tiny k-means would dominate the run).
    msub = pq_subquantizers(ds.d, cfg.get("pq_m") or max(1, ds.d // (4 if ds.d <= 256 else 8)))
    refine = cfg.get("refine", 4)
    metric = _faiss_metric(ds)
    quant = faiss.IndexFlat(ds.d, metric)
    ivf = faiss.IndexIVFPQ(quant, ds.d, nlist, msub, 8, metric)
    # Fewer k-means iterations than FAISS's default 25: training time would
    # otherwise dominate the whole scenario on a small machine; recall after
    # the exact re-rank barely changes.
    niter = cfg.get("kmeans_iters", 10)
    ivf.cp.niter = niter
    ivf.pq.cp.niter = niter
    base = _prep(ds, ds.base)
    train_n = min(ds.n, cfg.get("train_rows") or min(50000, max(10000, 40 * nlist)))
    train = base[np.random.default_rng(3).choice(ds.n, train_n, replace=False)] if train_n < ds.n else base
    t0 = time.perf_counter()
    ivf.train(train)
    index = faiss.IndexRefineFlat(ivf) if refine else ivf
    if refine:
        index.k_factor = float(refine)
    index.add(base)
    build = time.perf_counter() - t0
    size = _faiss_size(index)
    code_bytes = _faiss_size(ivf)

    def search(q, k):
        return index.search(q, k)[1][0]

    def set_probes(p):
        ivf.nprobe = p

    points = _sweep(ds, judge, search, set_probes, cfg["nprobe"], limits, warmup, repeat, cpu)
    return {"system": "faiss-ivfpq",
            "label": "FAISS IVF%d-PQ%dx8%s" % (nlist, msub, " +refine x%g" % refine if refine else ""),
            "params": {"nlist": nlist, "pq_m": msub, "pq_bits": 8, "refine_k_factor": refine,
                       "train_rows": train_n, "kmeans_iters": niter, "threads": 1},
            "sweep_param": "nprobe", "build": {"seconds": build, "includes": "train + add"},
            "index_bytes": size, "bytes_per_vector": size / ds.n,
            "ivfpq_only_bytes": code_bytes, "points": points}
