"""The timed query loop in C (bench/client/pgquery.c, on libpq): builds it and
runs it. Python's psycopg 3 on Debian wraps libpq in pure Python (ctypes);
its per-query work (≈ 0.1 ms of client CPU, docs/benchmarks.md) would count
against every Postgres system's latency and QPS, while the in-process
references (hnswlib, FAISS) pay only one Python call per query."""
import os
import subprocess
import tempfile

import numpy as np

from .cluster import pg_config_value

SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "client", "pgquery.c")


def build(pg_config, workdir, log=print):
    """Compile pgquery into workdir; its path, or None (with the reason
    logged) when there is no C compiler or libpq header."""
    os.makedirs(workdir, exist_ok=True)
    exe = os.path.join(workdir, "pgquery")
    try:
        inc = pg_config_value(pg_config, "--includedir")
        lib = pg_config_value(pg_config, "--libdir")
        res = subprocess.run(["cc", "-O2", "-o", exe, SOURCE, "-I" + inc, "-L" + lib, "-Wl,-rpath," + lib, "-lpq"],
                             text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except (OSError, subprocess.CalledProcessError) as e:
        log("pgquery not built (%s): timing queries with psycopg" % e)
        return None
    if res.returncode != 0:
        log("pgquery not built: timing queries with psycopg\n%s" % res.stdout[-2000:])
        return None
    return exe


def run(exe, conninfo, sql, params, type_oid, k, warmup=0, gucs=None, passes=1, cpu=None):
    """Each parameter once, in order, one at a time, as one prepared
    statement on a new connection (after `warmup` untimed ones and the
    settings in gucs), `passes` times on that connection. sql takes the
    vector as $1; params are its binary send format (bytes, all the same
    length). Returns one (list of first-column int lists, per-query ns as
    int64 array, cpu) per pass; cpu holds the backend's and this client's CPU
    microseconds per query over the pass (backend None where the server's
    /proc cannot be read), and "pinned": the CPU that the client and its
    backend were bound to when `cpu` asked for one (None if not bound; see
    pgquery.c)."""
    n = len(params)
    if n == 0:
        return [([], np.empty(0, dtype=np.int64), {}) for _ in range(passes)]
    size = len(params[0])
    if any(len(p) != size for p in params):
        raise ValueError("pgquery: parameters differ in length")
    rec = np.dtype([("ns", "<i8"), ("rows", "<i4"), ("ids", "<i4", (k,))])
    with tempfile.TemporaryDirectory(prefix="pgquery-") as tmp:
        pfile, ofile = os.path.join(tmp, "params"), os.path.join(tmp, "out")
        with open(pfile, "wb") as f:
            f.write(b"".join(params))
        args = [exe, conninfo, sql, pfile, str(n), str(size), str(type_oid), str(k), str(warmup), str(passes), ofile]
        args += ["%s=%s" % (name, value) for name, value in (gucs or {}).items()]
        env = dict(os.environ)
        env.pop("PGQUERY_CPU", None)
        if cpu is not None:
            env["PGQUERY_CPU"] = str(cpu)
        res = subprocess.run(args, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        if res.returncode != 0:
            raise RuntimeError("pgquery failed: %s" % (res.stderr.strip() or res.stdout.strip()))
        out = np.fromfile(ofile, dtype=rec)
    if len(out) != n * passes:
        raise RuntimeError("pgquery wrote %d of %d results" % (len(out), n * passes))
    cpus = parse_pass_lines(res.stdout, n)
    if len(cpus) != passes:
        raise RuntimeError("pgquery reported %d of %d passes" % (len(cpus), passes))
    pinned = parse_pinned(res.stdout)
    for c in cpus:
        c["pinned"] = pinned
    runs = []
    for p in range(passes):
        o = out[p * n:(p + 1) * n]
        results = [[int(x) for x in r["ids"][:min(int(r["rows"]), k)]] for r in o]
        runs.append((results, o["ns"].astype(np.int64), cpus[p]))
    return runs


def parse_pinned(text):
    """The CPU of pgquery's "pinned N" line; None without one."""
    for line in text.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "pinned":
            return int(f[1])
    return None


def parse_pass_lines(text, n):
    """pgquery's "pass P wall_ns W backend_cpu_ns B client_cpu_ns C" lines ->
    per pass {"cpu_us", "client_cpu_us"} per query (backend None when
    B is -1)."""
    cpus = []
    for line in text.splitlines():
        f = line.split()
        if len(f) != 8 or f[0] != "pass":
            continue
        kv = dict(zip(f[2::2], (int(x) for x in f[3::2])))
        backend = kv["backend_cpu_ns"]
        cpus.append({"cpu_us": backend / 1e3 / n if backend >= 0 and n else None,
                     "client_cpu_us": kv["client_cpu_ns"] / 1e3 / n if n else None})
    return cpus
