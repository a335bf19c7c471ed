"""Runs one scenario end to end and returns the result document."""
import json
import os
import re
import subprocess
import tempfile
import time

import numpy as np
import psycopg

from . import data, measure, pg, refs



class Runner:
    def __init__(self, opts, scenario, cluster, log=print):
        self.o = opts
        self.sc = scenario
        self.cluster = cluster
        self.log = log
        self.limits = scenario["limits"]
        self.repeat = max(1, opts.repeat or scenario.get("repeat", 1))
        self.db = None

    # ------------------------------------------------------------ helpers
    def section(self, out, name, fn):
        """Run one part of the benchmark. Database errors (a missing feature,
        a bug in the extension) are recorded and the run goes on; errors of
        the tool itself propagate and make the run fail."""
        t0 = time.time()
        try:
            out[name] = fn()
        except psycopg.Error as e:
            msg = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
            self.log("  ! %s failed: %s" % (name, msg))
            out[name] = {"error": msg}
            if self.o.strict:
                raise
            if self.db is not None:
                self.db.ensure_connected()
        self.log("  %s: %.1f s" % (name, time.time() - t0))
        return out[name]

    def load_dataset(self, spec):
        cache = self.o.cache_dir
        if "shared" in spec:
            ds = data.load_shared(self.o.data_dir, spec["shared"], cache)
        else:
            s = dict(spec["synthetic"])
            if self.o.dim:
                s["d"] = self.o.dim
            ds = data.synthetic(cache_dir=cache, **s)
        ds = data.limit(ds, self.o.limit_rows, self.o.limit_queries, cache)
        ds.category = data.make_categories(ds.n)
        return ds

    # ------------------------------------------------------------ main
    def run(self):
        results = []
        specs = self.sc["datasets"]
        if self.o.sizes:
            template = next((s for s in specs if "synthetic" in s), None)
            if template is None:
                raise SystemExit("--sizes applies to scenarios with synthetic data")
            specs = [{"synthetic": dict(template["synthetic"], n=n)} for n in self.o.sizes]
        for spec in specs:
            t0 = time.time()
            ds = self.load_dataset(spec)
            self.log("dataset %s: n=%d d=%d nq=%d metric=%s" % (ds.name, ds.n, ds.d, ds.nq, ds.metric))
            judge = measure.RecallJudge(ds)
            res = {"dataset": ds.describe(), "runs": []}
            if self.want("vecdb"):
                self.vecdb(ds, judge, res)
            self.references(ds, judge, res)
            res["comparison"] = compare(res["runs"])
            res["seconds"] = time.time() - t0
            results.append(res)
        return results

    def want(self, system):
        return not self.o.systems or system in self.o.systems

    # ------------------------------------------------------------ references
    def references(self, ds, judge, res):
        warm = self.sc["warmup"]
        fns = {"hnswlib": refs.hnswlib_run, "faiss-hnsw": refs.faiss_hnsw_run, "faiss-ivfpq": refs.faiss_ivfpq_run}
        for name, cfg in self.sc["refs"].items():
            if not self.want(name):
                continue
            self.log("  %s ..." % name)
            t0 = time.time()
            kw = {}
            if name == "hnswlib" and self.sc.get("ingest"):
                kw["ingest_rows"] = self.ingest_rows(ds)
            run = fns[name](ds, judge, cfg, self.limits, warm, repeat=self.repeat, cpu=self.o.client_cpu, **kw)
            self.log("  %s: build %.2f s, %s" % (name, run["build"]["seconds"], summary(run["points"])))
            run["seconds"] = time.time() - t0
            res["runs"].append(run)

    def ingest_rows(self, ds):
        return max(1, min(self.sc["ingest"]["rows"], ds.n // 2))

    # ------------------------------------------------------------ vecdb
    def runs_section(self, name):
        """--sections picks parts of a scenario (default: all it has)."""
        secs = self.o.sections or self.sc.get("sections")
        return not secs or name in secs

    def vecdb(self, ds, judge, res):
        db = pg.VecdbDB(self.cluster, "bench_" + re.sub(r"[^a-z0-9]+", "_", ds.name.lower())[:50],
                        self.o.param_format, self.log, self.o.client_exe, self.o.client_cpu)
        info = res.setdefault("vecdb", {})
        # The churn section works on its own table: alone, it needs no `items`.
        needs_items = any(self.runs_section(x) for x in
                          ("exact", "sweep", "build_variants", "filtered", "concurrency", "ingest"))
        reused = self.o.reuse_db and db.reuse(ds.n if needs_items else None)
        if not reused:
            db.create()
        self.db = db
        info["database"] = db.dbname
        info["reused"] = bool(reused)
        info["has_scan_stats"] = db.has_function("vecdb_last_scan_stats")
        if reused:
            self.log("  reusing database %s" % db.dbname)
        elif not needs_items:
            db.create_table("items", ds.d)  # empty: the sections run need none
        else:
            db.create_table("items", ds.d)
            info["load"] = db.load("items", ds, copy_format=self.o.copy_format)
            self.log("  COPY %d rows: %.2f s (%.0f rows/s), table %.1f MB" % (
                ds.n, info["load"]["seconds"], info["load"]["rows_per_s"], db.table_bytes("items") / 2**20))
        info["table_bytes"] = db.table_bytes("items")
        params = [db.encode(q) for q in ds.queries]

        if self.sc.get("exact") and self.runs_section("exact"):
            nq = min(self.sc["exact"]["queries"], ds.nq)

            def exact():
                db.prewarm("items")
                point = self.measure_point(db, ds, judge, "items", params[:nq], {}, "seq scan")
                return {"system": "vecdb-exact", "label": "vecdb exact scan (no index)",
                        "sweep_param": None, "queries": nq, "points": [point]}
            run = self.section(info, "exact", exact)
            if "points" in run:
                res["runs"].append(run)
                self.log("  exact: %s" % summary(run["points"]))

        for cfg in self.sc["vecdb"]:
            key = "index_" + cfg["name"]
            if not db.has_am(cfg["am"]):
                info[key] = {"skipped": "access method %s is not installed" % cfg["am"]}
                self.log("  skipped %s: access method not installed" % cfg["name"])
                continue
            needs_index = any(self.runs_section(x) and self.sc.get(x)
                              for x in ("filtered", "concurrency")) or self.runs_section("sweep")
            if not needs_index:
                run = {"points": [], "sweep_param": cfg["sweep"]["guc"], "system": "vecdb-" + cfg["name"],
                       "label": "vecdb %s" % cfg["am"]}
            else:
                run = self.section(info, key, lambda: self.index_run(db, ds, judge, cfg, params,
                                                                      reuse=reused or cfg.get("reuse_index", False)))
                if "points" not in run:
                    continue
            if run["points"]:
                res["runs"].append(run)
            if cfg.get("sweep_only"):
                continue
            best = self.operating_value(run, cfg)
            if (self.sc.get("build_variants") or self.sc.get("mwm_curve")) and self.runs_section("build_variants"):
                self.section(run, "build_variants", lambda: self.build_variants(db, ds, cfg))
            if self.sc.get("filtered") and self.runs_section("filtered"):
                self.section(run, "filtered", lambda: self.filtered(db, ds, cfg, params))
            if self.sc.get("concurrency") and self.runs_section("concurrency"):
                self.section(run, "concurrency", lambda: self.concurrency(db, ds, cfg, best))
            if self.sc.get("ingest") and self.runs_section("ingest"):
                self.section(run, "ingest", lambda: self.ingest(db, ds, judge, cfg, params, run))
            if self.sc.get("churn") and self.runs_section("churn"):
                self.section(run, "churn", lambda: self.churn(db, ds, cfg))
                if not run["points"]:
                    info[key + "_churn"] = run["churn"]
            if not run["points"] and isinstance(run.get("ingest"), dict):
                res["runs"].append(run)  # --sections ingest alone: keep its figures for the report
        db.ensure_connected()
        db.conn.close()
        self.db = None
        if not self.o.keep_db and not self.o.reuse_db:
            with pg.retry_connect(lambda: psycopg.connect(self.cluster.conninfo("postgres"), autocommit=True)) as c:
                c.execute('DROP DATABASE IF EXISTS "%s"' % db.dbname)

    def operating_value(self, run, cfg):
        """Sweep value used for concurrency: the smallest reaching recall@10
        >= 0.95, else the one with the best recall."""
        pts = [p for p in run["points"] if p.get("recall@10") is not None]
        ok = [p for p in pts if p["recall@10"] >= 0.95]
        if ok:
            return ok[0]["param"]
        return max(pts, key=lambda p: p["recall@10"])["param"] if pts else cfg["sweep"]["values"][0]

    def index_run(self, db, ds, judge, cfg, params, table="items", index="items_idx", reuse=False):
        opclass = cfg.get("opclass") or pg.OPCLASSES[ds.metric]
        if reuse and db.has_relation(index):
            build = {"reused": True, "seconds": None, "index_bytes": db.relation_bytes(index)}
            self.log("  reusing index %s (%.1f MB)" % (index, build["index_bytes"] / 2**20))
        else:
            build = db.build_index(table, index, cfg["am"], opclass, cfg.get("with"), cfg.get("build_settings"))
            self.log("  build %s: %.2f s, index %.1f MB (%.0f B/vector)" % (
                cfg["name"], build["seconds"], build["index_bytes"] / 2**20, build["index_bytes"] / ds.n))
        db.prewarm(table, index)
        guc = cfg["sweep"]["guc"]
        points = []
        for val in (cfg["sweep"]["values"] if self.runs_section("sweep") else []):
            gucs = {guc: val}
            # Settings that follow the swept one (hnsw.search_patience = ef_search / 3).
            for k, f in (cfg["sweep"].get("scaled") or {}).items():
                gucs[k] = max(1, int(round(val * f)))
            points.append(self.measure_point(db, ds, judge, table, params, gucs, val))
            plan = points[-1].get("prepared_plan") or []
            note = "" if any(index in n for n in plan) else "  (prepared plan does not use the index: %s)" % " > ".join(plan)
            self.log("    %s=%s: %s%s" % (guc, val, summary(points[-1:]), note))
        return {"system": "vecdb-" + cfg["name"],
                "label": "vecdb %s %s%s" % (cfg["am"], " ".join("%s=%s" % kv for kv in (cfg.get("with") or {}).items()),
                                            " " + cfg["label_suffix"] if cfg.get("label_suffix") else ""),
                "params": dict(cfg.get("with") or {}, am=cfg["am"], opclass=opclass),
                "sweep_param": guc, "build": build, "index_bytes": build["index_bytes"],
                "bytes_per_vector": build["index_bytes"] / ds.n, "points": points}

    def measure_point(self, db, ds, judge, table, params, gucs, label, where="", queries=None):
        """One sweep point: warm-up, a timed pass per LIMIT, then (untimed)
        plan shapes, EXPLAIN buffers and vecdb scan statistics on samples."""
        conn = db.connect()
        try:
            db.set_gucs(conn, gucs)
            point = {"param": label}
            # Untimed queries before the timed passes of each LIMIT: the
            # scenario's count before the first (buffers, caches), 100 before
            # the others, which only need to warm up a new connection. The
            # passes of one LIMIT share a connection, like an application's
            # pooled one: a new backend pays a page fault for each shared
            # buffer it first touches, a cost per connection.
            warm = [min(100, self.sc["warmup"])] * (len(self.limits) - 1) + [self.sc["warmup"]]
            for li, lim in enumerate(self.limits):
                sql = db.query_sql(table, ds.metric, lim, where)
                best, passes = measure.best_pass(db.run_queries(conn, sql, params, lim, warm.pop(), gucs, self.repeat))
                res, lat, cpu = best
                rec = judge.all(res, lim, queries)
                stats = measure.latency_stats(lat)
                rows = float(np.mean([len(r) for r in res])) if res else 0.0
                if li == 0:
                    point.update(rec)
                    point.update(stats)
                    point.update(measure.min_tail(passes))
                    point.update({k: v for k, v in cpu.items() if v is not None})
                    point["rows_returned"] = rows
                    point["short_results"] = int(sum(1 for r in res if len(r) < lim))
                else:
                    point["recall@%d" % lim] = rec.get("recall@%d" % lim)
                    point["qps@%d" % lim] = stats["qps"]
                    point["p99_ms@%d" % lim] = stats["p99_ms"]
                    point["rows_returned@%d" % lim] = rows
            sql = db.query_sql(table, ds.metric, self.limits[0], where)
            ns = min(self.sc.get("explain_sample", 10), len(params))
            ex = [db.explain(conn, sql, p) for p in params[:ns]]
            point["plan"] = ex[0]["nodes"] if ex else None
            point["buffers_per_query"] = float(np.mean([(e["shared_hit"] or 0) + (e["shared_read"] or 0) for e in ex])) if ex else None
            point["prepared_plan"] = db.prepared_plan(conn, sql, params[0])
            if gucs and db.has_function("vecdb_last_scan_stats"):
                st = db.scan_stats(conn, sql, params[:min(self.sc.get("stats_sample", 100), len(params))])
                point["scan_stats"] = st
            return point
        finally:
            conn.close()

    # ------------------------------------------------------------ extras
    def build_variants(self, db, ds, cfg):
        """Extra builds of the same index: other settings (parallel workers)
        and a maintenance_work_mem curve. The main index stays in place."""
        opclass = cfg.get("opclass") or pg.OPCLASSES[ds.metric]
        variants = [dict(v) for v in self.sc.get("build_variants", [])]
        variants += [{"maintenance_work_mem": m} for m in self.sc.get("mwm_curve", [])]
        out = []
        for v in variants:
            b = db.build_index("items", "items_variant_idx", cfg["am"], opclass, cfg.get("with"), v)
            db.drop_index("items_variant_idx")
            self.log("    build %s: %.2f s, %.1f MB" % (v, b["seconds"], b["index_bytes"] / 2**20))
            out.append(b)
        return out

    def filtered(self, db, ds, cfg, params):
        """WHERE category = c at 10 % (c=0) and 1 % (c=1) selectivity, with
        and without iterative index scans: recall against the exact filtered
        neighbours, rows returned, QPS."""
        fc = self.sc["filtered"]
        out = []
        k = max(self.limits)
        for cat, sel in ((0, 0.10), (1, 0.01)):
            mask = ds.category == cat
            fgt = data.exact_knn(ds.base, ds.queries, ds.metric, k, mask=mask)
            judge = measure.RecallJudge(ds, gt=fgt, ks=[1, 10, 100])
            for mode in fc["iterative_scan"]:
                gucs_base = {}
                if mode != "off" or db.has_setting("hnsw.iterative_scan"):
                    gucs_base["hnsw.iterative_scan"] = mode
                if mode != "off" and not db.has_setting("hnsw.iterative_scan"):
                    out.append({"category": cat, "selectivity": sel, "iterative_scan": mode,
                                "skipped": "setting hnsw.iterative_scan does not exist"})
                    continue
                for val in fc["values"]:
                    g = dict(gucs_base)
                    g[cfg["sweep"]["guc"]] = val
                    p = self.measure_point(db, ds, judge, "items", params, g, val, where="category = %d" % cat)
                    p.update({"category": cat, "selectivity": sel, "iterative_scan": mode})
                    out.append(p)
                    self.log("    filter %.0f%% %s %s=%s: recall@10 %.3f rows %.1f qps %.0f" % (
                        sel * 100, mode, cfg["sweep"]["guc"], val, p.get("recall@10", float("nan")),
                        p["rows_returned"], p["qps"]))
        return out

    def concurrency(self, db, ds, cfg, value):
        """Throughput with N clients: pgbench, prepared protocol, each
        transaction one query whose vector comes from a query table."""
        cc = self.sc["concurrency"]
        db.conn.execute("DROP TABLE IF EXISTS bench_queries")
        db.conn.execute("CREATE TABLE bench_queries (id int4 PRIMARY KEY, category int4, emb vector(%d))" % ds.d)
        pg.copy_rows(db.conn, "bench_queries", np.arange(ds.nq, dtype=np.int32),
                     np.zeros(ds.nq, np.int32), np.asarray(ds.queries))
        db.conn.execute("ANALYZE bench_queries")
        lim = self.limits[0]
        op = pg.OPERATORS[ds.metric]
        sql = "SELECT id FROM items ORDER BY emb %s (SELECT emb FROM bench_queries WHERE id = :qid) LIMIT %d;" % (op, lim)
        guc = cfg["sweep"]["guc"]
        db.set_gucs(db.conn, {guc: value})
        plan = db.conn.execute("EXPLAIN (FORMAT JSON) " + sql.replace(":qid", "0").rstrip(";")).fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        db.conn.execute("RESET %s" % guc)
        out = {"setting": {guc: value}, "query": sql, "plan": pg.plan_nodes(plan[0]["Plan"]),
               "tool": "pgbench -M prepared", "seconds_each": cc["seconds"], "points": []}
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write("\\set qid random(0, %d)\n%s\n" % (ds.nq - 1, sql))
            script = f.name
        try:
            env = dict(os.environ, PGOPTIONS="-c %s=%s" % (guc, value))
            for n in cc["clients"]:
                cmd = [self.cluster.pgbench(), "-n", "-M", "prepared", "-f", script, "-c", str(n),
                       "-j", str(min(n, os.cpu_count() or 1)), "-T", str(cc["seconds"]),
                       "-h", self.cluster.socket_dir, "-p", str(self.cluster.port),
                       "-U", self.cluster.user, db.dbname]
                r = subprocess.run(cmd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                tps = re.search(r"tps = ([\d.]+)", r.stdout)
                latm = re.search(r"latency average = ([\d.]+) ms", r.stdout)
                pt = {"clients": n, "qps": float(tps.group(1)) if tps else None,
                      "latency_avg_ms": float(latm.group(1)) if latm else None}
                if r.returncode != 0 or not tps:
                    pt["error"] = r.stdout.strip().splitlines()[-3:] if r.stdout else "pgbench rc %d" % r.returncode
                out["points"].append(pt)
                self.log("    %d clients: %s qps" % (n, pt["qps"]))
        finally:
            os.unlink(script)
        return out

    def ingest(self, db, ds, judge, cfg, params, fresh_run):
        """Rows/s into a table whose index already holds the first n-m rows:
        COPY of the last m rows, and 100-row INSERT statements of them; then
        recall of the INSERT-grown index against the fresh build."""
        ic = self.sc["ingest"]
        m = self.ingest_rows(ds)
        keep = ds.n - m
        opclass = cfg.get("opclass") or pg.OPCLASSES[ds.metric]
        out = {"rows": m, "preloaded_rows": keep}
        for method in ic["methods"]:
            table, index = "items_ingest", "items_ingest_idx"
            db.create_table(table, ds.d)
            db.load(table, ds, rows=(0, keep), copy_format=self.o.copy_format)
            b = db.build_index(table, index, cfg["am"], opclass, cfg.get("with"), cfg.get("build_settings"))
            ids = np.arange(keep, ds.n, dtype=np.int32)
            if method == "copy":
                secs = pg.copy_rows(db.conn, table, ids, ds.category[keep:], ds.base[keep:], self.o.copy_format)
            else:
                secs = pg.insert_batches(db.conn, table, ids, ds.category[keep:], ds.base[keep:], 100,
                                         self.o.param_format)
            entry = {"seconds": secs, "rows_per_s": m / secs, "build_of_preloaded_s": b["seconds"],
                     "fresh_index_bytes": fresh_run.get("index_bytes")}
            self.log("    ingest %s: %d rows in %.2f s = %.0f rows/s" % (method, m, secs, m / secs))
            if db.has_function("vecdb_hnsw_pending_count"):
                # Rows are findable at commit (from the hnsw pending list);
                # also report when they are all linked into the graph: wait
                # for the background merger, then merge the rest, timed.
                t0 = time.perf_counter()
                left = pg.scalar(db.conn, "SELECT vecdb_hnsw_pending_count(%s::regclass)", [index])
                entry["pending_after"] = left
                while left and time.perf_counter() - t0 < 1800:
                    time.sleep(0.5)
                    left = pg.scalar(db.conn, "SELECT vecdb_hnsw_pending_count(%s::regclass)", [index])
                pg.scalar(db.conn, "SELECT vecdb_hnsw_merge_pending(%s::regclass)", [index])
                merged = secs + time.perf_counter() - t0
                entry["merged_seconds"] = merged
                entry["merged_rows_per_s"] = m / merged
                self.log("    ingest %s: pending list empty %.2f s after the first row = %.0f rows/s fully merged "
                         "(%d pending at the end of the inserts)" % (method, merged, m / merged, entry["pending_after"]))
            entry["index_bytes_after"] = db.relation_bytes(index)
            if method == "insert100" and ic.get("recall_values"):
                db.conn.execute("VACUUM ANALYZE %s" % table)
                db.prewarm(table, index)
                pts = []
                fresh = {p["param"]: p for p in fresh_run["points"]}
                for val in ic["recall_values"]:
                    p = self.measure_point(db, ds, judge, table, params, {cfg["sweep"]["guc"]: val}, val)
                    f = fresh.get(val, {})
                    pts.append({"param": val, "recall@10": p.get("recall@10"), "qps": p.get("qps"),
                                "fresh_recall@10": f.get("recall@10"), "fresh_qps": f.get("qps")})
                    self.log("    after inserts %s=%s: recall@10 %.3f (fresh build %s)" % (
                        cfg["sweep"]["guc"], val, p.get("recall@10"), f.get("recall@10")))
                entry["recall_after"] = pts
            out[method] = entry
            db.conn.execute("DROP TABLE %s" % table)
        return out

    def churn(self, db, ds, cfg):
        """Delete-heavy upkeep: delete a random fraction of the rows, VACUUM,
        re-insert the same rows (COPY, through the index's insert path),
        `rounds` times; recall@10 at a few search settings after each round
        against a fresh build of the same final rows. The rows are the
        dataset's first `rows` (all when None), so the ground truth is exact
        for that set. Plain SQL: works whatever the index does inside
        (pending lists merged by VACUUM, slot reuse)."""
        cc = self.sc["churn"]
        rows = cc.get("rows") if self.o.churn_rows is None else (self.o.churn_rows or None)
        sub = data.limit(ds, rows, cc.get("queries"), self.o.cache_dir)
        sub.category = ds.category[:sub.n]
        judge = measure.RecallJudge(sub)
        params = [db.encode(q) for q in sub.queries]
        opclass = cfg.get("opclass") or pg.OPCLASSES[ds.metric]
        guc = cfg["sweep"]["guc"]
        table, index = "items_churn", "items_churn_idx"
        rng = np.random.default_rng(cc.get("seed", 11))
        frac, n_rounds = cc.get("fraction", 0.2), cc.get("rounds", 3)
        out = {"rows": sub.n, "dataset": sub.name, "queries": sub.nq, "fraction": frac, "rounds": []}

        def recall_points(label):
            db.prewarm(table, index)
            pts = []
            for val in cc["values"]:
                p = self.measure_point(db, sub, judge, table, params, {guc: val}, val)
                pts.append({"param": val, "recall@10": p.get("recall@10"), "qps": p.get("qps"),
                            "p50_ms": p.get("p50_ms"), "p99_ms": p.get("p99_ms"),
                            "distances": (p.get("scan_stats") or {}).get("distances")})
            self.log("    churn %s: %s" % (label, "; ".join(
                "%s=%s R@10 %.3f" % (guc, q["param"], q["recall@10"]) for q in pts)))
            return pts

        db.create_table(table, sub.d)
        db.load(table, sub, copy_format=self.o.copy_format)
        out["initial_build"] = db.build_index(table, index, cfg["am"], opclass, cfg.get("with"),
                                              cfg.get("build_settings"))
        out["initial"] = recall_points("initial build")
        for r in range(n_rounds):
            gone = np.sort(rng.choice(sub.n, size=int(sub.n * frac), replace=False)).astype(np.int32)
            t0 = time.perf_counter()
            db.conn.execute("DELETE FROM %s WHERE id = ANY(%%s)" % table, (gone.tolist(),))
            t_del = time.perf_counter() - t0
            t0 = time.perf_counter()
            db.conn.execute("VACUUM %s" % table)
            t_vac = time.perf_counter() - t0
            t_ins = pg.copy_rows(db.conn, table, gone, sub.category[gone], sub.base[gone], self.o.copy_format)
            db.conn.execute("VACUUM ANALYZE %s" % table)  # hint bits, visibility map: queries pay neither
            entry = {"round": r + 1, "deleted": int(gone.size), "delete_s": t_del, "vacuum_s": t_vac,
                     "reinsert_s": t_ins, "index_bytes": db.relation_bytes(index)}
            self.log("    churn round %d: delete %d rows %.1f s, vacuum %.1f s, re-insert %.1f s, index %.1f MB" % (
                r + 1, gone.size, t_del, t_vac, t_ins, entry["index_bytes"] / 2**20))
            if db.has_function("vecdb_index_check") and cc.get("check", True):
                entry["check"] = [str(x) for x in db.conn.execute(
                    "SELECT * FROM vecdb_index_check(%s::regclass, false)", (index,)).fetchall()][:20]
            entry["points"] = recall_points("after round %d" % (r + 1))
            out["rounds"].append(entry)
        db.drop_index(index)
        out["fresh_build"] = db.build_index(table, index, cfg["am"], opclass, cfg.get("with"),
                                            cfg.get("build_settings"))
        out["fresh"] = recall_points("fresh build of the final rows")
        fresh = {p["param"]: p["recall@10"] for p in out["fresh"]}
        last = out["rounds"][-1]["points"] if out["rounds"] else out["initial"]
        out["max_recall_loss"] = max(fresh[p["param"]] - p["recall@10"] for p in last)
        self.log("    churn: recall@10 after %d rounds vs fresh build: largest loss %.4f" % (
            n_rounds, out["max_recall_loss"]))
        db.conn.execute("DROP TABLE %s" % table)
        return out


def summary(points):
    parts = []
    for p in points:
        parts.append("[%s] R@10 %.3f qps %.0f p99 %.2f ms" % (
            p.get("param"), p.get("recall@10", float("nan")), p.get("qps", float("nan")), p.get("p99_ms", float("nan"))))
    return "; ".join(parts)


def compare(runs):
    """vecdb vs each reference: QPS at equal recall (best point reaching the
    target, and interpolated at the target), build time and index size
    ratios (vecdb / reference)."""
    ours = [r for r in runs if r["system"].startswith("vecdb-") and r["system"] != "vecdb-exact" and r["points"]]
    theirs = [r for r in runs if not r["system"].startswith("vecdb-") and r["points"]]
    out = []
    for a in ours:
        for b in theirs:
            row = {"vecdb": a["label"], "reference": b["label"]}
            for t in measure.RECALL_TARGETS:
                pa, pb = measure.best_qps_at(a["points"], t), measure.best_qps_at(b["points"], t)
                row["qps_ratio@%.2f" % t] = (pa["qps"] / pb["qps"]) if pa and pb else None
                row["vecdb_qps@%.2f" % t] = pa["qps"] if pa else None
                row["ref_qps@%.2f" % t] = pb["qps"] if pb else None
                ia, ib = measure.qps_at_recall(a["points"], t), measure.qps_at_recall(b["points"], t)
                row["qps_ratio_interp@%.2f" % t] = ia / ib if ia and ib else None
            ba, bb = a.get("build", {}).get("seconds"), b.get("build", {}).get("seconds")
            row["build_ratio"] = ba / bb if ba and bb else None
            sa, sb = a.get("index_bytes"), b.get("index_bytes")
            row["size_ratio"] = sa / sb if sa and sb else None
            out.append(row)
    return out
