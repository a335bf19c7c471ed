"""Named scenarios. A scenario lists datasets and, per system, what to build
and which search setting to sweep. vecdb index entries are generic:

    {"name": "hnsw", "am": "hnsw", "with": {"m": 16, "ef_construction": 64},
     "sweep": {"guc": "hnsw.ef_search", "values": [...]}}

so an `ivfpq` entry is {"am": "ivfpq", "with": {...}, "sweep": {"guc": "ivfpq.probes", ...}}.
The operator class follows the dataset's metric (vector_l2_ops / vector_cosine_ops)."""

EF_FULL = [10, 12, 14, 17, 20, 30, 40, 80, 120, 160, 180, 200, 220, 240, 280, 320, 480, 640]
HNSW = {"m": 16, "ef_construction": 64}


def hnsw_entry(values, **opts):
    w = dict(HNSW)
    w.update(opts)
    return {"name": "hnsw", "am": "hnsw", "with": w, "sweep": {"guc": "hnsw.ef_search", "values": list(values)}}


def hnsw_patience_entry(values, fraction=1 / 3):
    """The same index swept again with hnsw.search_patience = fraction x
    ef_search (docs/hnsw.md "Early termination"): sweep only, on the index the
    plain entry built."""
    e = hnsw_entry(values)
    e.update(name="hnsw-patience", label_suffix="search_patience=ef_search/%g" % (1 / fraction),
             sweep_only=True, reuse_index=True)
    e["sweep"]["scaled"] = {"hnsw.search_patience": fraction}
    return e


def hnsw_float16_entry(values):
    """An index with float16 pages on the same float32 column (WITH (storage =
    float16); docs/hnsw.md "float16 storage"), built after the others and
    swept only."""
    e = hnsw_entry(values, storage="float16")
    e.update(name="hnsw-float16", sweep_only=True)  # the label shows storage=float16 (with options)
    return e


def refs(values, nprobe, nlist=None, ivfpq=True, faiss_hnsw=True):
    out = {"hnswlib": dict(HNSW, ef_search=list(values))}
    if faiss_hnsw:
        out["faiss-hnsw"] = dict(HNSW, ef_search=list(values))
    if ivfpq:
        out["faiss-ivfpq"] = {"nlist": nlist, "nprobe": list(nprobe), "refine": 4}
    return out


SCENARIOS = {
    "smoke": {
        "description": "Tool self-test: 2,000 synthetic rows, d=16, one search setting (seconds).",
        "datasets": [{"synthetic": {"n": 2000, "d": 16, "clusters": 8, "nq": 50, "metric": "l2"}}],
        "limits": [10, 100],
        "warmup": 10,
        "exact": {"queries": 50},
        "vecdb": [hnsw_entry([40])],
        "refs": refs([40], [4], nlist=16),
        "build_variants": [{"max_parallel_maintenance_workers": 2}],
        "mwm_curve": [],
        "ingest": {"rows": 200, "methods": ["copy", "insert100"], "recall_values": [40]},
        "filtered": {"values": [40], "iterative_scan": ["off", "relaxed_order"]},
        "concurrency": {"clients": [1, 2], "seconds": 1},
        "stats_sample": 10,
        "explain_sample": 3,
        "checks": {"exact_recall": 1.0},
    },
    "quick": {
        "description": "Development loop: siftsmall (10K x 128, L2, 100 queries), < 2 minutes.",
        "datasets": [{"shared": "siftsmall-128-euclidean"}],
        "limits": [10, 100],
        "warmup": 100,
        "exact": {"queries": 100},
        "vecdb": [hnsw_entry([10, 20, 40, 80, 160, 320]), hnsw_patience_entry([40, 80, 160, 320, 640]),
                  hnsw_float16_entry([10, 20, 40, 80, 160, 320])],
        "refs": refs([10, 20, 40, 80, 160, 320], [1, 2, 4, 8, 16, 32], nlist=100),
        "build_variants": [{"max_parallel_maintenance_workers": 2}],
        "mwm_curve": [],
        "ingest": {"rows": 1000, "methods": ["copy", "insert100"], "recall_values": [40, 160]},
        "filtered": {"values": [40, 160], "iterative_scan": ["off", "relaxed_order"]},
        "concurrency": {"clients": [1, 2, 4, 8], "seconds": 3},
        "stats_sample": 100,
        "explain_sample": 10,
    },
    "full": {
        "description": "glove-100-angular and fashion-mnist-784-euclidean, every sweep (tens of minutes).",
        "datasets": [{"shared": "glove-100-angular"}, {"shared": "fashion-mnist-784-euclidean"}],
        "limits": [10, 100],
        "warmup": 1000,
        "exact": {"queries": 50},
        "vecdb": [hnsw_entry(EF_FULL), hnsw_patience_entry([20, 40, 80, 120, 160, 240, 320, 480, 640, 960]),
                  hnsw_float16_entry(EF_FULL)],
        "refs": refs(EF_FULL, [1, 2, 4, 8, 16, 32, 64, 128, 256]),
        "build_variants": [{"max_parallel_maintenance_workers": 2}],
        "mwm_curve": ["16MB", "64MB", "256MB"],
        "ingest": {"rows": 30000, "methods": ["copy", "insert100"], "recall_values": [40, 80, 160]},
        "filtered": {"values": [40, 160, 640], "iterative_scan": ["off", "relaxed_order", "strict_order"]},
        "concurrency": {"clients": [1, 2, 4, 8], "seconds": 10},
        "churn": {"rows": 100000, "fraction": 0.2, "rounds": 3, "values": [40, 80, 160], "queries": 1000},
        "stats_sample": 200,
        "explain_sample": 20,
        "repeat": 2,
    },
    "churn": {
        "description": "glove-100-angular: delete 20 %, VACUUM, re-insert, three times; recall@10 vs a fresh build.",
        "datasets": [{"shared": "glove-100-angular"}],
        "limits": [10],
        "warmup": 200,
        "exact": None,
        "vecdb": [hnsw_entry([40, 80, 160])],
        "refs": {},
        "build_variants": [],
        "mwm_curve": [],
        "ingest": None,
        "filtered": None,
        "concurrency": None,
        "churn": {"rows": None, "fraction": 0.2, "rounds": 3, "values": [40, 80, 160], "queries": 1000},
        "stats_sample": 100,
        "explain_sample": 5,
        "sections": ["churn"],
    },
    "scale": {
        "description": "Synthetic clustered data, 100K -> 1M rows (d=128 unless --dim): build time, size, QPS.",
        "datasets": [{"synthetic": {"n": n, "d": 128, "nq": 1000, "metric": "l2"}}
                     for n in (100000, 250000, 500000, 1000000)],
        "limits": [10],
        "warmup": 200,
        "exact": None,
        "vecdb": [hnsw_entry([20, 40, 80, 160])],
        "refs": refs([20, 40, 80, 160], [], ivfpq=False, faiss_hnsw=False),
        "build_variants": [],
        "mwm_curve": [],
        "ingest": None,
        "filtered": None,
        "concurrency": None,
        "stats_sample": 100,
        "explain_sample": 10,
        "scale_plot": True,
    },
}
