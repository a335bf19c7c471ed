"""The Postgres side: database setup, COPY, index builds, timed query runs,
EXPLAIN buffers and vecdb's scan statistics."""
import json
import time

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types.numeric import Int4

from . import client, measure

OPERATORS = {"l2": "<->", "angular": "<=>", "ip": "<#>"}
OPCLASSES = {"l2": "vector_l2_ops", "angular": "vector_cosine_ops", "ip": "vector_ip_ops"}


def process_cpu_ns(pid):
    """CPU time a process on this host has run (ns, /proc/PID/schedstat);
    None where it cannot be read."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class VecParam:
    """A query vector already encoded in vector's binary send format."""
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def vector_binary(v):
    v = np.asarray(v, dtype=np.float32)
    return np.array([v.shape[0], 0], dtype=">i2").tobytes() + v.astype(">f4").tobytes()


def vector_text(v):
    return "[" + ",".join("%.9g" % x for x in np.asarray(v, dtype=np.float32)) + "]"


def connect(conninfo, vector_oid=None, param_format="binary"):
    conn = psycopg.connect(conninfo, autocommit=True)
    if vector_oid is not None and param_format == "binary":
        dumper = type("VecDumper", (Dumper,), {"format": Format.BINARY, "oid": vector_oid,
                                               "dump": lambda self, obj: obj.data})
        conn.adapters.register_dumper(VecParam, dumper)
    return conn


def retry_connect(make, wait_s=120):
    """make() until the server accepts the connection and answers a query
    (it refuses connections while it recovers from a backend crash)."""
    deadline = time.time() + wait_s
    while True:
        try:
            conn = make()
            conn.execute("SELECT 1")
            return conn
        except psycopg.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(1)


def scalar(conn, sql, params=None):
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def copy_rows(conn, table, ids, cats, vecs, fmt="binary", chunk_rows=20000):
    """COPY (id, category, emb) rows into `table`; returns seconds."""
    n, d = vecs.shape
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        if fmt == "binary":
            with cur.copy("COPY %s (id, category, emb) FROM STDIN (FORMAT BINARY)" % table) as cp:
                cp.write(b"PGCOPY\n\xff\r\n\x00" + np.zeros(2, ">i4").tobytes())
                rec = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"), ("cat", ">i4"),
                                ("l3", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (d,))])
                for s in range(0, n, chunk_rows):
                    e = min(n, s + chunk_rows)
                    buf = np.zeros(e - s, dtype=rec)
                    buf["nf"], buf["l1"], buf["l2"], buf["l3"] = 3, 4, 4, 4 + 4 * d
                    buf["id"], buf["cat"], buf["dim"] = ids[s:e], cats[s:e], d
                    buf["v"] = vecs[s:e]
                    cp.write(buf.tobytes())
                cp.write(np.array([-1], ">i2").tobytes())
        else:
            with cur.copy("COPY %s (id, category, emb) FROM STDIN" % table) as cp:
                for i in range(n):
                    cp.write("%d\t%d\t%s\n" % (ids[i], cats[i], vector_text(vecs[i])))
    return time.perf_counter() - t0


def insert_batches(conn, table, ids, cats, vecs, batch=100, param_format="binary"):
    """Multi-row INSERT statements of `batch` rows each (one transaction per
    statement, autocommit); returns seconds."""
    n = vecs.shape[0]
    enc = (lambda v: VecParam(vector_binary(v))) if param_format == "binary" else vector_text
    cast = "" if param_format == "binary" else "::vector"
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for s in range(0, n, batch):
            e = min(n, s + batch)
            sql = "INSERT INTO %s (id, category, emb) VALUES " % table + \
                ",".join(["(%%s,%%s,%%s%s)" % cast] * (e - s))
            params = []
            for i in range(s, e):
                params += [Int4(int(ids[i])), Int4(int(cats[i])), enc(vecs[i])]
            cur.execute(sql, params, prepare=True)
    return time.perf_counter() - t0


class VecdbDB:
    """One benchmark database with the vecdb extension."""

    def __init__(self, cluster, dbname, param_format="binary", log=print, client_exe=None, client_cpu=None):
        self.cluster = cluster
        self.client = client_exe  # bench/client/pgquery, or None: time queries with psycopg
        self.client_cpu = client_cpu  # bind timed passes (client and backend) to this CPU
        self.dbname = dbname
        self.param_format = param_format
        self.log = log
        self.conn = None
        self.vector_oid = None

    def create(self, extension="vecdb"):
        with psycopg.connect(self.cluster.conninfo("postgres"), autocommit=True) as c:
            c.execute('DROP DATABASE IF EXISTS "%s"' % self.dbname)
            c.execute('CREATE DATABASE "%s"' % self.dbname)
        conn = psycopg.connect(self.conninfo(), autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS %s" % extension)
        self.has_prewarm = True
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except psycopg.Error:
            self.has_prewarm = False
        self.vector_oid = scalar(conn, "SELECT 'vector'::regtype::oid")
        conn.close()
        self.conn = self.connect()

    def reuse(self, rows, table="items"):
        """Connect to an existing benchmark database whose `table` holds
        `rows` rows (--reuse-db); False when there is none to reuse."""
        try:
            conn = psycopg.connect(self.conninfo(), autocommit=True)
        except psycopg.Error:
            return False
        try:
            if not scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", (table,)):
                return False
            if rows is not None and int(scalar(conn, "SELECT count(*) FROM %s" % table)) != rows:
                return False
            self.has_prewarm = bool(scalar(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_prewarm'"))
            self.vector_oid = scalar(conn, "SELECT 'vector'::regtype::oid")
        finally:
            conn.close()
        self.conn = self.connect()
        return True

    def has_relation(self, name):
        return bool(scalar(self.conn, "SELECT to_regclass(%s) IS NOT NULL", (name,)))

    def conninfo(self):
        return self.cluster.conninfo(self.dbname)

    def ensure_connected(self, wait_s=120):
        """Reconnect after the server went away (a backend crash puts the
        whole cluster through recovery); waits until it accepts connections."""
        if self.conn is not None and not self.conn.closed and not self.conn.broken:
            try:
                self.conn.execute("SELECT 1")
                return
            except psycopg.Error:
                pass
        time.sleep(2)  # let the postmaster notice a crash and start recovery
        self.conn = retry_connect(self.connect, wait_s)

    def connect(self):
        return connect(self.conninfo(), self.vector_oid, self.param_format)

    def encode(self, v):
        return VecParam(vector_binary(v)) if self.param_format == "binary" else vector_text(v)

    @property
    def cast(self):
        return "" if self.param_format == "binary" else "::vector"

    # -- capabilities
    def has_am(self, am):
        return bool(scalar(self.conn, "SELECT count(*) FROM pg_am WHERE amname = %s", (am,)))

    def has_function(self, name):
        return bool(scalar(self.conn, "SELECT count(*) FROM pg_proc WHERE proname = %s", (name,)))

    def has_setting(self, name):
        self.conn.execute("LOAD 'vecdb'")
        return scalar(self.conn, "SELECT current_setting(%s, true)", (name,)) is not None

    # -- tables
    def create_table(self, table, d):
        self.conn.execute("DROP TABLE IF EXISTS %s" % table)
        self.conn.execute("CREATE TABLE %s (id int4 NOT NULL, category int4 NOT NULL, emb vector(%d))"
                          % (table, d))

    def load(self, table, ds, rows=None, copy_format="binary"):
        """COPY base rows [rows) into table, then VACUUM ANALYZE + CHECKPOINT so
        builds and queries do not pay for hint bits or dirty buffers."""
        lo, hi = rows or (0, ds.n)
        ids = np.arange(lo, hi, dtype=np.int32)
        secs = copy_rows(self.conn, table, ids, ds.category[lo:hi], ds.base[lo:hi], copy_format)
        self.conn.execute("VACUUM (FREEZE, ANALYZE) %s" % table)
        self.conn.execute("CHECKPOINT")
        return {"rows": hi - lo, "seconds": secs, "rows_per_s": (hi - lo) / secs if secs else None,
                "format": copy_format}

    def table_bytes(self, table):
        return int(scalar(self.conn, "SELECT pg_table_size(%s::regclass)", (table,)))

    def relation_bytes(self, rel):
        return int(scalar(self.conn, "SELECT pg_relation_size(%s::regclass)", (rel,)))

    # -- indexes
    def build_index(self, table, name, am, opclass, with_opts, settings=None):
        self.conn.execute("DROP INDEX IF EXISTS %s" % name)
        with_sql = ""
        if with_opts:
            with_sql = " WITH (%s)" % ", ".join("%s = %s" % kv for kv in with_opts.items())
        sql = "CREATE INDEX %s ON %s USING %s (emb %s)%s" % (name, table, am, opclass, with_sql)
        for k, v in (settings or {}).items():
            self.conn.execute("SELECT set_config(%s, %s, false)", (k, str(v)))
        t0 = time.perf_counter()
        self.conn.execute(sql)
        secs = time.perf_counter() - t0
        for k in (settings or {}):
            self.conn.execute("RESET %s" % k)
        self.conn.execute("CHECKPOINT")
        return {"sql": sql, "settings": dict(settings or {}), "seconds": secs,
                "index_bytes": self.relation_bytes(name)}

    def drop_index(self, name):
        self.conn.execute("DROP INDEX IF EXISTS %s" % name)

    def prewarm(self, *rels):
        if self.has_prewarm:
            for r in rels:
                self.conn.execute("SELECT pg_prewarm(%s::regclass)", (r,))

    # -- queries
    def query_sql(self, table, metric, limit, where=""):
        return "SELECT id FROM %s%s ORDER BY emb %s %%s%s LIMIT %d" % (
            table, (" WHERE " + where) if where else "", OPERATORS[metric], self.cast, limit)

    def run_queries(self, conn, sql, params, limit, warmup=0, gucs=None, passes=1):
        """Each query once, one at a time, as a prepared statement (`sql`,
        whose LIMIT is `limit`), after `warmup` untimed ones; `passes` timed
        passes on one connection. Returns one (list of id lists, per-query
        ns, cpu) per pass, cpu as client.run's. With the C client
        (self.client) the passes run on a connection of their own with the
        settings in gucs; otherwise on conn, whose settings the caller made."""
        if self.client and self.param_format == "binary":
            return client.run(self.client, self.conninfo(), sql.replace("%s", "$1", 1),
                              [p.data for p in params], self.vector_oid, limit, warmup, gucs, passes, self.client_cpu)
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with measure.bound_to(self.client_cpu, backend) as pinned:
            cur = conn.cursor()
            for p in params[:warmup]:
                cur.execute(sql, (p,), prepare=True)
                cur.fetchall()
            runs = []
            clock = time.perf_counter_ns
            for _ in range(passes):
                results, lat = [], np.empty(len(params), dtype=np.int64)
                cpu0, own0 = process_cpu_ns(backend), time.process_time_ns()
                for i, p in enumerate(params):
                    t0 = clock()
                    cur.execute(sql, (p,), prepare=True)
                    rows = cur.fetchall()
                    lat[i] = clock() - t0
                    results.append([r[0] for r in rows])
                cpu1, n = process_cpu_ns(backend), max(1, len(params))
                runs.append((results, lat, {
                    "cpu_us": (cpu1 - cpu0) / 1e3 / n if cpu0 is not None and cpu1 is not None else None,
                    "client_cpu_us": (time.process_time_ns() - own0) / 1e3 / n, "pinned": pinned}))
        cur.close()
        return runs

    def set_gucs(self, conn, gucs):
        for k, v in gucs.items():
            conn.execute("SELECT set_config(%s, %s, false)", (k, str(v)))

    def explain(self, conn, sql, param, extra=None, analyze=True):
        """Plan shape and buffer counts of one query (parameter inlined as a
        literal, so this is a custom plan)."""
        lit = "'%s'::vector" % vector_text_of(param)
        text = sql.replace("%s" + self.cast, lit, 1)
        for e in (extra or ()):
            text = text.replace("%s", str(int(e)), 1)
        opts = "ANALYZE, BUFFERS, " if analyze else ""
        plan = conn.execute("EXPLAIN (%sFORMAT JSON) %s" % (opts, text)).fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        root = plan[0]["Plan"]
        return {"nodes": plan_nodes(root),
                "shared_hit": root.get("Shared Hit Blocks"), "shared_read": root.get("Shared Read Blocks")}

    def prepared_plan(self, conn, sql, param, extra=None, executions=6):
        """Plan the prepared statement settles on after `executions` runs
        (Postgres may switch to a generic plan after five)."""
        n_extra = len(extra or ())
        types = ["vector"] + ["int4"] * n_extra
        body = sql.replace("%s" + self.cast, "$1", 1)
        for j in range(n_extra):
            body = body.replace("%s", "$%d" % (j + 2), 1)
        if scalar(conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'bench_plan'"):
            conn.execute("DEALLOCATE bench_plan")
        conn.execute("PREPARE bench_plan(%s) AS %s" % (", ".join(types), body))
        args = ["'%s'::vector" % vector_text_of(param)] + [str(int(e)) for e in (extra or ())]
        for _ in range(executions):
            conn.execute("EXECUTE bench_plan(%s)" % ", ".join(args)).fetchall()
        plan = conn.execute("EXPLAIN (FORMAT JSON) EXECUTE bench_plan(%s)" % ", ".join(args)).fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        conn.execute("DEALLOCATE bench_plan")
        return plan_nodes(plan[0]["Plan"])

    def scan_stats(self, conn, sql, params, extra=None):
        """Mean of vecdb_last_scan_stats() over the given queries."""
        cur, scur = conn.cursor(), conn.cursor()
        names, sums = None, None
        for p in params:
            args = (p,) if extra is None else (p,) + tuple(extra)
            cur.execute(sql, args, prepare=True)
            cur.fetchall()
            scur.execute("SELECT * FROM vecdb_last_scan_stats()")
            row = scur.fetchone()
            if names is None:
                names = [c.name for c in scur.description]
                sums = [0.0] * len(names)
            for j, v in enumerate(row or ()):
                sums[j] += float(v or 0)
        cur.close()
        scur.close()
        return {k: s / len(params) for k, s in zip(names or (), sums or ())}


def vector_text_of(param):
    if isinstance(param, VecParam):
        raw = param.data
        d = int(np.frombuffer(raw[:2], ">i2")[0])
        return vector_text(np.frombuffer(raw[4:4 + 4 * d], ">f4"))
    return param


def plan_nodes(node, out=None):
    """Flattened 'Node Type[ on index]' list of a JSON plan."""
    out = [] if out is None else out
    label = node.get("Node Type", "?")
    if node.get("Index Name"):
        label += " using " + node["Index Name"]
    out.append(label)
    for child in node.get("Plans", []):
        plan_nodes(child, out)
    return out
