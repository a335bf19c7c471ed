"""Recall and latency arithmetic shared by every system."""
import contextlib
import math
import os

import numpy as np

from . import data

# Relative slack when comparing a result's exact distance with the k-th
# ground-truth distance (both recomputed in float64 here, so only ties and
# float32-vs-float64 rounding in the ground truth itself matter).
TIE_EPS = 1e-6

# Recall@10 levels at which vecdb's QPS is compared with each reference's.
RECALL_TARGETS = (0.90, 0.95, 0.97, 0.99)


def kth_distances(ds, k):
    """Exact distance of each query's k-th ground-truth neighbour (nq floats)."""
    out = np.empty(ds.nq)
    for i in range(ds.nq):
        out[i] = data.distances(ds.base, ds.gt[i, k - 1:k], ds.queries[i], ds.metric)[0]
    return out


class RecallJudge:
    """recall@k with the ties rule of ../shared/data/README.md: a returned row
    counts as correct when its exact distance is no larger than the k-th
    ground-truth distance. Duplicated ids count once."""

    def __init__(self, ds, gt=None, ks=(1, 10, 100)):
        self.ds = ds
        self.gt = ds.gt if gt is None else gt
        self.ks = [k for k in ks if k <= self.gt.shape[1]]
        self.kth = {}
        for k in self.ks:
            col = self.gt[:, k - 1]
            kd = np.full(ds.nq, np.inf)
            for i in range(ds.nq):
                if col[i] >= 0:
                    kd[i] = data.distances(ds.base, [col[i]], ds.queries[i], ds.metric)[0]
            self.kth[k] = kd

    def expected(self, qi, k):
        """How many correct rows exist (fewer than k when a filter leaves fewer rows)."""
        return int((self.gt[qi, :k] >= 0).sum())

    def recall(self, results, k, queries=None):
        """Mean recall@k of `results` (list of id sequences, one per query in
        `queries`, default 0..len-1)."""
        queries = range(len(results)) if queries is None else queries
        total = 0.0
        count = 0
        for qi, res in zip(queries, results):
            want = self.expected(qi, k)
            if want == 0:
                continue
            ids = []
            seen = set()
            for r in list(res)[:k]:
                if r not in seen and 0 <= r < self.ds.n:
                    seen.add(r)
                    ids.append(r)
            if ids:
                dist = data.distances(self.ds.base, ids, self.ds.queries[qi], self.ds.metric)
                lim = self.kth[k][qi]
                hit = int((dist <= lim + TIE_EPS * max(1.0, abs(lim))).sum())
            else:
                hit = 0
            total += min(hit, want) / want
            count += 1
        return total / count if count else float("nan")

    def all(self, results, limit, queries=None):
        return {"recall@%d" % k: self.recall(results, k, queries) for k in self.ks if k <= limit}


def latency_stats(ns):
    """Per-query client-side latencies (ns) -> QPS of one serial client and
    percentiles in milliseconds."""
    a = np.asarray(ns, dtype=np.float64) / 1e6
    return {
        "qps": float(len(a) / (a.sum() / 1e3)) if a.sum() > 0 else float("nan"),
        "mean_ms": float(a.mean()),
        "p50_ms": float(np.percentile(a, 50)),
        "p95_ms": float(np.percentile(a, 95)),
        "p99_ms": float(np.percentile(a, 99)),
    }


def best_pass(passes):
    """The fastest of several timed passes over the same queries (the one
    least disturbed by other work on the machine). passes: tuples whose first
    two items are (results, per-query ns); results are identical across
    passes. Returns (that tuple, every pass's latencies)."""
    if not passes:
        raise ValueError("best_pass: no passes")
    best = min(passes, key=lambda p: p[1].sum())
    return best, [p[1] for p in passes]


def min_tail(passes):
    """Tail latency with the host's noise filtered out: p50 and p99 of each
    query's fastest time over several timed passes (a query slow in every
    pass stays slow; a pause that hit one pass does not). {} for one pass."""
    if len(passes) < 2:
        return {}
    a = np.min(np.asarray(passes, dtype=np.float64), axis=0) / 1e6
    return {"p50_ms_min": float(np.percentile(a, 50)), "p99_ms_min": float(np.percentile(a, 99))}


def best_qps_at(points, target, key="recall@10"):
    """Highest QPS among sweep points whose recall reaches `target`, with the
    point it came from (None when no point reaches it)."""
    ok = [p for p in points if p.get(key) is not None and p[key] >= target and p.get("qps")]
    if not ok:
        return None
    return max(ok, key=lambda p: p["qps"])


def qps_at_recall(points, target, key="recall@10"):
    """QPS at exactly recall `target`, read off the sweep's upper envelope:
    the points no other point beats on both recall and QPS, joined by
    straight lines in (recall, log QPS) between the two that bracket the
    target. A coarse sweep then does not charge a system for overshooting
    the target at its first point past it. The envelope's own QPS when its
    lowest recall already reaches the target; None when no point does."""
    pts = sorted((p[key], p["qps"]) for p in points if p.get(key) is not None and p.get("qps"))
    envelope = []
    for r, q in reversed(pts):  # recall descending: keep points faster than every higher-recall one
        if not envelope or q > envelope[-1][1]:
            envelope.append((r, q))
    envelope.reverse()
    hi = next((i for i, (r, _) in enumerate(envelope) if r >= target), None)
    if hi is None:
        return None
    if hi == 0:
        return envelope[0][1]
    (r0, q0), (r1, q1) = envelope[hi - 1], envelope[hi]
    w = (target - r0) / (r1 - r0)
    return float(math.exp(math.log(q0) + w * (math.log(q1) - math.log(q0))))


@contextlib.contextmanager
def bound_to(cpu, *pids):
    """Binds the calling thread (and pids, e.g. its backend) to `cpu` for
    the block (pgquery.c says why); yields the CPU, or None when cpu is None
    or binding failed, in which case nothing stays bound. The thread's own CPU
    set is restored afterwards (the pids', which end with their connection,
    are not)."""
    if cpu is None:
        yield None
        return
    before = {pid: os.sched_getaffinity(pid) for pid in (0,) + pids if _exists(pid)}
    try:
        try:
            for pid in pids + (0,):
                os.sched_setaffinity(pid, {cpu})
            pinned = cpu
        except OSError:
            for pid, mask in before.items():
                try:
                    os.sched_setaffinity(pid, mask)
                except OSError:
                    pass
            pinned = None
        yield pinned
    finally:
        os.sched_setaffinity(0, before[0])


def _exists(pid):
    try:
        os.sched_getaffinity(pid)
        return True
    except OSError:
        return False
