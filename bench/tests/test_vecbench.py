"""Unit tests of the benchmark tool's arithmetic (no Postgres needed).

    /usr/bin/python3 -m unittest discover -s bench/tests -v
"""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from vecbench import client, data, measure, pg, refs, report, runner  # noqa: E402


def brute(base, q, metric, k, mask=None):
    rows = np.arange(base.shape[0]) if mask is None else np.flatnonzero(mask)
    d = data.distances(base, rows, q, metric)
    return rows[np.lexsort((rows, d))][:k]


class ExactKnn(unittest.TestCase):
    def test_matches_brute_force(self):
        rng = np.random.default_rng(0)
        base = rng.standard_normal((500, 12)).astype(np.float32)
        qs = rng.standard_normal((7, 12)).astype(np.float32)
        for metric in ("l2", "angular", "ip"):
            got = data.exact_knn(base, qs, metric, 20)
            for i in range(qs.shape[0]):
                np.testing.assert_array_equal(got[i], brute(base, qs[i], metric, 20), err_msg=metric)

    def test_mask_and_padding(self):
        rng = np.random.default_rng(1)
        base = rng.standard_normal((300, 5)).astype(np.float32)
        qs = rng.standard_normal((3, 5)).astype(np.float32)
        mask = np.zeros(300, bool)
        mask[::50] = True  # 6 rows qualify
        got = data.exact_knn(base, qs, "l2", 10, mask=mask)
        self.assertTrue((got[:, 6:] == -1).all())
        self.assertTrue(mask[got[:, :6]].all())
        for i in range(3):
            np.testing.assert_array_equal(got[i, :6], brute(base, qs[i], "l2", 6, mask))


class Recall(unittest.TestCase):
    def setUp(self):
        base = np.array([[0.0], [1.0], [-1.0], [2.0], [3.0]], dtype=np.float32)
        self.ds = data.Dataset(name="t", metric="l2", base=base, queries=np.array([[0.0]], np.float32),
                               gt=np.array([[0, 1, 2, 3, 4]], np.int32), source="")

    def test_exact_is_one(self):
        j = measure.RecallJudge(self.ds, ks=(1, 2, 5))
        self.assertEqual(j.recall([[0, 1, 2, 3, 4]], 5), 1.0)
        self.assertEqual(j.recall([[0]], 1), 1.0)

    def test_ties_count_as_correct(self):
        # Rows 1 and 2 are both at distance 1: either one is a correct 2nd neighbour.
        j = measure.RecallJudge(self.ds, ks=(2,))
        self.assertEqual(j.recall([[0, 2]], 2), 1.0)
        self.assertEqual(j.recall([[0, 3]], 2), 0.5)

    def test_duplicates_and_short_lists(self):
        j = measure.RecallJudge(self.ds, ks=(2, 5))
        self.assertEqual(j.recall([[0, 0]], 2), 0.5)
        self.assertEqual(j.recall([[0, 1]], 5), 0.4)

    def test_best_qps_at(self):
        pts = [{"recall@10": 0.9, "qps": 100}, {"recall@10": 0.96, "qps": 50}, {"recall@10": 0.99, "qps": 20}]
        self.assertEqual(measure.best_qps_at(pts, 0.95)["qps"], 50)
        self.assertIsNone(measure.best_qps_at(pts, 0.995))

    def test_latency_stats(self):
        st = measure.latency_stats([1_000_000] * 99 + [10_000_000])
        self.assertAlmostEqual(st["qps"], 100 / 0.109)
        self.assertAlmostEqual(st["p50_ms"], 1.0)


    def test_min_tail(self):
        self.assertEqual(measure.min_tail([np.array([1, 2])]), {})
        # Query 3 is slow in one pass only (a pause of the host): its
        # minimum drops out of the tail; query 0 is slow in both and stays.
        a = np.array([4e6, 1e6, 1e6, 9e6] + [1e6] * 96)
        b = np.array([4e6, 1e6, 1e6, 1e6] + [1e6] * 96)
        t = measure.min_tail([a, b])
        self.assertAlmostEqual(t["p50_ms_min"], 1.0)
        self.assertAlmostEqual(t["p99_ms_min"], 1.0 + 0.01 * 3.0)

    def test_qps_at_recall(self):
        pts = [{"recall@10": 0.90, "qps": 4000}, {"recall@10": 0.94, "qps": 1000},
               {"recall@10": 0.96, "qps": 400}, {"recall@10": 0.93, "qps": 500},  # dominated by 0.94
               {"recall@10": 0.99, "qps": 100}]
        # Between 0.94 (1000) and 0.96 (400), half-way in log QPS.
        self.assertAlmostEqual(measure.qps_at_recall(pts, 0.95), (1000 * 400) ** 0.5, places=6)
        self.assertAlmostEqual(measure.qps_at_recall(pts, 0.96), 400)
        self.assertAlmostEqual(measure.qps_at_recall(pts, 0.85), 4000)  # first point already past it
        self.assertIsNone(measure.qps_at_recall(pts, 0.995))
        # A faster point at higher recall hides slower ones below it.
        pts.append({"recall@10": 0.97, "qps": 2000})
        self.assertAlmostEqual(measure.qps_at_recall(pts, 0.95), (4000 ** (1 - 5 / 7)) * (2000 ** (5 / 7)), places=6)

    def test_best_pass(self):
        slow = (["a"], np.array([3, 3]), {"cpu_us": 2.0})
        fast = (["a"], np.array([1, 4]), {"cpu_us": 1.0})
        best, lats = measure.best_pass([slow, fast, slow])
        self.assertIs(best, fast)
        self.assertEqual([list(x) for x in lats], [[3, 3], [1, 4], [3, 3]])
        with self.assertRaises(ValueError):
            measure.best_pass([])

    def test_pgquery_pass_lines(self):
        text = ("pass 1 wall_ns 900 backend_cpu_ns 400000 client_cpu_ns 20000\n"
                "pass 2 wall_ns 800 backend_cpu_ns -1 client_cpu_ns 10000\n")
        cpus = client.parse_pass_lines(text, 100)
        self.assertEqual(len(cpus), 2)
        self.assertAlmostEqual(cpus[0]["cpu_us"], 4.0)
        self.assertAlmostEqual(cpus[0]["client_cpu_us"], 0.2)
        self.assertIsNone(cpus[1]["cpu_us"])

    def test_bound_to(self):
        before = os.sched_getaffinity(0)
        cpu = max(before)
        with measure.bound_to(cpu) as pinned:
            self.assertEqual(pinned, cpu)
            self.assertEqual(os.sched_getaffinity(0), {cpu})
        self.assertEqual(os.sched_getaffinity(0), before)
        with measure.bound_to(None) as pinned:
            self.assertIsNone(pinned)
        with measure.bound_to(cpu, 2 ** 22 + 7) as pinned:  # no such process: not bound
            self.assertIsNone(pinned)
        self.assertEqual(os.sched_getaffinity(0), before)

    def test_process_cpu_ns(self):
        self.assertGreater(pg.process_cpu_ns(os.getpid()), 0)
        self.assertIsNone(pg.process_cpu_ns(2 ** 22 + 7))


class Data(unittest.TestCase):
    def test_categories(self):
        cat = data.make_categories(10000)
        self.assertEqual((cat == 0).sum(), 1000)
        self.assertEqual((cat == 1).sum(), 100)
        self.assertTrue(((cat >= 0) & (cat < 100)).all())
        self.assertLess((cat[:1000] == 0).mean(), 0.2)  # not in row order

    def test_synthetic_is_deterministic(self):
        a = data.synthetic(300, 8, clusters=4, nq=5)
        b = data.synthetic(300, 8, clusters=4, nq=5)
        np.testing.assert_array_equal(a.base, b.base)
        np.testing.assert_array_equal(a.gt, b.gt)
        self.assertEqual(a.base.dtype, np.float32)
        self.assertFalse(np.isin(a.queries, a.base).all(axis=1).any())

    def test_limit_recomputes_ground_truth(self):
        ds = data.synthetic(400, 6, clusters=3, nq=4)
        cut = data.limit(ds, rows=100, queries=2)
        self.assertEqual((cut.n, cut.nq), (100, 2))
        self.assertTrue((cut.gt[:, :100] < 100).all())
        np.testing.assert_array_equal(cut.gt, data.exact_knn(ds.base[:100], ds.queries[:2], "l2", 100))


class Encoding(unittest.TestCase):
    def test_vector_binary(self):
        raw = pg.vector_binary(np.array([1.0, -2.5], np.float32))
        self.assertEqual(raw, b"\x00\x02\x00\x00" + np.array([1.0, -2.5], ">f4").tobytes())
        self.assertEqual(pg.vector_text_of(pg.VecParam(raw)), "[1,-2.5]")

    def test_pq_subquantizers(self):
        self.assertEqual(refs.pq_subquantizers(100, 25), 25)
        self.assertEqual(refs.pq_subquantizers(784, 196), 196)
        self.assertEqual(refs.pq_subquantizers(7, 3), 1)


class SmokeChecks(unittest.TestCase):
    def _doc(self, recall, client="libpq (bench/client/pgquery.c)"):
        pt = {"param": "seq scan", "recall@1": recall, "recall@10": recall, "recall@100": recall, "qps": 10.0,
              "cpu_us": 50.0}
        return {"options": {"client": client}, "results": [{"dataset": {"name": "x"}, "runs": [
            {"system": "vecdb-exact", "label": "exact", "points": [pt]}]}]}

    def test_checks(self):
        import tempfile
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        import run
        sc = {"checks": {"exact_recall": 1.0}}
        with tempfile.TemporaryDirectory() as d:
            for f in ("result.json", "result.md", "p.png"):
                with open(os.path.join(d, f), "w") as fh:
                    fh.write("x")
            self.assertEqual(run.smoke_checks(self._doc(1.0), d, sc, "libpq"), [])
            self.assertEqual(len(run.smoke_checks(self._doc(0.9), d, sc, "libpq")), 3)
            # The C client was asked for but the run fell back to psycopg.
            fell_back = self._doc(1.0, "psycopg 3.1.7 (python libpq wrapper)")
            self.assertEqual(len(run.smoke_checks(fell_back, d, sc, "libpq")), 1)
            self.assertEqual(run.smoke_checks(fell_back, d, sc, "psycopg"), [])
            no_cpu = self._doc(1.0)
            del no_cpu["results"][0]["runs"][0]["points"][0]["cpu_us"]
            self.assertEqual(run.smoke_checks(no_cpu, d, sc, "libpq"), ["x exact: no CPU time per query measured"])
            # Asked to bind the timed passes to CPU 1: every point must say it was.
            pinned = self._doc(1.0)
            pinned["options"]["client_cpu"] = 1
            self.assertEqual(len(run.smoke_checks(pinned, d, sc, "libpq")), 1)
            pinned["results"][0]["runs"][0]["points"][0]["pinned"] = 1
            self.assertEqual(run.smoke_checks(pinned, d, sc, "libpq"), [])
            os.unlink(os.path.join(d, "p.png"))
            self.assertIn("no PNG plot written", run.smoke_checks(self._doc(1.0), d, sc, "libpq"))


if __name__ == "__main__":
    unittest.main()


class IngestAlone(unittest.TestCase):
    """`--sections ingest` alone: the vecdb run has no sweep points but its
    ingest figures still reach the report, and it is left out of the QPS
    comparison."""

    def doc(self):
        ingest = {"rows": 300, "preloaded_rows": 700,
                  "insert100": {"rows_per_s": 2500.0, "seconds": 0.12, "merged_rows_per_s": 1500.0,
                                "merged_seconds": 0.2,
                                "recall_after": [{"param": 40, "recall@10": 0.81, "fresh_recall@10": 0.8,
                                                  "qps": 1000.0, "fresh_qps": 1100.0}]}}
        ours = {"system": "vecdb-hnsw", "label": "vecdb hnsw", "sweep_param": "hnsw.ef_search", "points": [],
                "ingest": ingest}
        ref = {"system": "hnswlib", "label": "hnswlib", "sweep_param": "ef", "build": {"seconds": 1.0},
               "points": [{"param": 40, "recall@10": 0.96, "qps": 5000.0}],
               "ingest": {"rows": 300, "seconds": 0.05, "rows_per_s": 6000.0}}
        runs = [ours, ref]
        ds = {"name": "toy", "n": 1000, "d": 4, "nq": 10, "metric": "l2", "source": "test"}
        res = {"dataset": ds, "runs": runs, "vecdb": {}, "comparison": runner.compare(runs)}
        env = {"cpu": "cpu", "cores": 2, "memory_gib": 1, "load_average": [0, 0, 0], "git": {"commit": "abc"}}
        return {"scenario": "full", "command": "x", "started": "now", "seconds": 1, "environment": env,
                "results": [res]}

    def test_report_has_ingest_table(self):
        doc = self.doc()
        self.assertEqual(doc["results"][0]["comparison"], [])
        text = report.markdown(doc, {})
        self.assertIn("Ingest into an indexed table (vecdb hnsw; 300 rows onto an index of 700)", text)
        self.assertIn("| insert100 | 2500 |", text)
        self.assertIn("| insert100, fully merged | 1500 |", text)
        self.assertIn("| hnswlib add_items (1 thread) | 6000 |", text)

