"""Datasets: the shared ANN sets (../shared/data, format in its README) and a
synthetic clustered-Gaussian generator. Everything is returned as float32
numpy arrays; decompressed/generated arrays are cached as .npy files under the
cache directory (never inside the repository)."""
import dataclasses
import json
import lzma
import os

import numpy as np

GT_K = 100


@dataclasses.dataclass
class Dataset:
    name: str
    metric: str            # 'l2' | 'angular' | 'ip'
    base: np.ndarray       # n x d float32
    queries: np.ndarray    # nq x d float32
    gt: np.ndarray         # nq x GT_K int32, 0-based rows of base, nearest first
    source: str
    category: np.ndarray = None  # n int32 (see make_categories)

    @property
    def n(self):
        return self.base.shape[0]

    @property
    def d(self):
        return self.base.shape[1]

    @property
    def nq(self):
        return self.queries.shape[0]

    def describe(self):
        return {"name": self.name, "n": self.n, "d": self.d, "nq": self.nq,
                "metric": self.metric, "source": self.source}


def _cached(cache_dir, key, make):
    path = os.path.join(cache_dir, key + ".npy")
    if os.path.exists(path):
        return np.load(path, mmap_mode="r")
    arr = make()
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + ".tmp.%d.npy" % os.getpid()
    np.save(tmp, arr)
    os.replace(tmp, path)
    return np.load(path, mmap_mode="r")


def _read_xz(path, dtype, cols):
    with lzma.open(path, "rb") as f:
        raw = f.read()
    arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    return arr.reshape(-1, cols).astype(dtype, copy=False)


def load_shared(data_dir, name, cache_dir):
    """One folder of ../shared/data: base.f32.xz, query.f32.xz, gt.i32.xz, meta.json."""
    folder = os.path.join(data_dir, name)
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    d = int(meta["d"])
    ck = os.path.join(cache_dir, "shared", name)
    base = _cached(ck, "base", lambda: _read_xz(os.path.join(folder, "base.f32.xz"), np.float32, d))
    queries = _cached(ck, "query", lambda: _read_xz(os.path.join(folder, "query.f32.xz"), np.float32, d))
    gt = _cached(ck, "gt", lambda: _read_xz(os.path.join(folder, "gt.i32.xz"), np.int32, int(meta.get("gt_k", GT_K))))
    assert base.shape == (meta["n"], d) and queries.shape == (meta["nq"], d), "dataset shape disagrees with meta.json"
    metric = {"euclidean": "l2", "l2": "l2", "angular": "angular", "cosine": "angular",
              "ip": "ip", "dot": "ip"}[meta["metric"]]
    return Dataset(name=name, metric=metric, base=base, queries=queries, gt=gt,
                   source=meta.get("source", ""))


def synthetic(n, d, clusters=None, nq=1000, metric="l2", seed=1, cache_dir=None):
    """Clustered Gaussian data: `clusters` centres drawn from N(0, 1), points
    spread around a random centre with per-cluster sigma in [0.2, 0.6] (so
    clusters overlap partially, like real embeddings). Queries come from the
    same distribution with a different random stream, so they are never part
    of the base. Ground truth is exact (brute force)."""
    clusters = clusters or max(10, int(round(np.sqrt(n) / 4)))
    name = "synthetic-n%d-d%d-c%d-%s-s%d" % (n, d, clusters, metric, seed)

    def make_points(count, stream):
        rng_c = np.random.default_rng(seed)
        centres = rng_c.standard_normal((clusters, d), dtype=np.float32)
        sigmas = rng_c.uniform(0.2, 0.6, clusters).astype(np.float32)
        rng = np.random.default_rng([seed, stream])
        out = np.empty((count, d), dtype=np.float32)
        step = 65536
        for s in range(0, count, step):
            e = min(count, s + step)
            lab = rng.integers(0, clusters, e - s)
            out[s:e] = rng.standard_normal((e - s, d), dtype=np.float32)
            out[s:e] *= sigmas[lab, None]
            out[s:e] += centres[lab]
        return out

    if cache_dir:
        ck = os.path.join(cache_dir, "synthetic", name)
        base = _cached(ck, "base", lambda: make_points(n, 1))
        queries = _cached(ck, "query", lambda: make_points(nq, 2))
        gt = _cached(ck, "gt", lambda: exact_knn(base, queries, metric, GT_K))
    else:
        base, queries = make_points(n, 1), make_points(nq, 2)
        gt = exact_knn(base, queries, metric, GT_K)
    src = "synthetic clustered Gaussian (n=%d, d=%d, clusters=%d, seed=%d)" % (n, d, clusters, seed)
    return Dataset(name=name, metric=metric, base=base, queries=queries, gt=gt, source=src)


def limit(ds, rows=None, queries=None, cache_dir=None):
    """First `rows` base rows / first `queries` queries. Ground truth is
    recomputed when rows are cut (the shipped one refers to the full base)."""
    base, q, gt, name = ds.base, ds.queries, ds.gt, ds.name
    if queries and queries < q.shape[0]:
        q, gt = q[:queries], gt[:queries]
    if rows and rows < base.shape[0]:
        base = base[:rows]
        name = "%s@%d" % (ds.name, rows)
        make = lambda: exact_knn(base, q, ds.metric, GT_K)
        if cache_dir:
            gt = _cached(os.path.join(cache_dir, "limited", name), "gt-q%d" % q.shape[0], make)
        else:
            gt = make()
    return dataclasses.replace(ds, name=name, base=base, queries=q, gt=gt)


def make_categories(n, seed=7):
    """Category column for filtered queries: category 0 holds 10 % of the rows,
    category 1 holds 1 %, the other 89 % spread over categories 2..99. Rows
    are assigned by a seeded permutation, so categories do not follow row order."""
    perm = np.random.default_rng(seed).permutation(n)
    cat = np.empty(n, dtype=np.int32)
    n10, n1 = int(round(n * 0.10)), int(round(n * 0.01))
    cat[perm[:n10]] = 0
    cat[perm[n10:n10 + n1]] = 1
    rest = perm[n10 + n1:]
    cat[rest] = 2 + (np.arange(rest.size) % 98)
    return cat


# ---------------------------------------------------------------- distances

def _prep(x, metric):
    x = np.asarray(x, dtype=np.float64)
    if metric == "angular":
        norms = np.linalg.norm(x, axis=-1, keepdims=True)
        norms[norms == 0] = 1.0
        x = x / norms
    return x


def distances(base, ids, query, metric):
    """Exact distances (float64) from `query` to base[ids], in the SQL operator's
    sense: L2 distance, cosine distance (1 - cos) or negative inner product."""
    ids = np.asarray(ids, dtype=np.int64)
    v = _prep(base[ids], metric)
    qv = _prep(query, metric)
    if metric == "l2":
        return np.sqrt(np.maximum(((v - qv) ** 2).sum(axis=1), 0.0))
    if metric == "angular":
        return 1.0 - v @ qv
    return -(v @ qv)


def exact_knn(base, queries, metric, k, mask=None, chunk=128):
    """Exact k nearest rows of base for each query (float32 screening, float64
    re-rank of the best candidates). `mask`: optional boolean row filter; rows
    outside it are never returned. Result is nq x k int32 (-1 pads when fewer
    than k rows qualify)."""
    base = np.asarray(base)
    allowed = np.arange(base.shape[0]) if mask is None else np.flatnonzero(mask)
    b = base[allowed].astype(np.float32, copy=False)
    if metric == "angular":
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
    bn = (b.astype(np.float32) ** 2).sum(axis=1) if metric == "l2" else None
    nq = queries.shape[0]
    kk = min(k, b.shape[0])
    extra = min(b.shape[0], kk + 32)
    out = np.full((nq, k), -1, dtype=np.int32)
    for s in range(0, nq, chunk):
        q = np.asarray(queries[s:s + chunk], dtype=np.float32)
        if metric == "angular":
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
        dots = q @ b.T
        score = (bn[None, :] - 2 * dots) if metric == "l2" else -dots
        cand = np.argpartition(score, extra - 1, axis=1)[:, :extra] if extra < b.shape[0] else \
            np.tile(np.arange(b.shape[0]), (q.shape[0], 1))
        for i in range(q.shape[0]):
            rows = allowed[cand[i]]
            dist = distances(base, rows, queries[s + i], metric)
            order = np.lexsort((rows, dist))[:kk]
            out[s + i, :kk] = rows[order]
    return out
