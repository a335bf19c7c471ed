"""The environment a result was measured in."""
import os
import platform
import subprocess

import psycopg


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _mem_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        return None


def git_info(repo):
    def git(*args):
        r = subprocess.run(["git", "-C", repo] + list(args), text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        return r.stdout.strip() if r.returncode == 0 else None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(status) if status is not None else None}


def library_versions():
    out = {}
    import numpy
    out["numpy"] = numpy.__version__
    out["psycopg"] = psycopg.__version__
    try:
        import faiss
        out["faiss"] = faiss.__version__
    except ImportError:
        out["faiss"] = None
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-hnswlib"], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out["hnswlib"] = r.stdout.strip() or None
    except OSError:
        out["hnswlib"] = None
    import matplotlib
    out["matplotlib"] = matplotlib.__version__
    out["python"] = platform.python_version()
    return out


def environment(repo):
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _mem_gib(),
        "kernel": platform.release(),
        "load_average": list(os.getloadavg()),
        "git": git_info(repo),
        "libraries": library_versions(),
    }


SHOWN_SETTINGS = ("shared_buffers", "maintenance_work_mem", "work_mem", "max_parallel_maintenance_workers",
                  "max_parallel_workers_per_gather", "jit", "synchronous_commit", "fsync", "wal_level",
                  "autovacuum", "huge_pages", "random_page_cost", "effective_cache_size", "max_wal_size")


def server_info(conninfo):
    with psycopg.connect(conninfo, autocommit=True) as c:
        out = {"version": c.execute("SELECT version()").fetchone()[0]}
        rows = c.execute("SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)",
                         (list(SHOWN_SETTINGS),)).fetchall()
        out["settings"] = {n: (s + (" " + u if u else "")) for n, s, u in rows}
        ext = c.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vecdb'").fetchone()
        out["vecdb_available_version"] = ext[0] if ext else None
        try:
            c.execute("LOAD 'vecdb'")
            out["vecdb.simd_path"] = c.execute("SELECT current_setting('vecdb.simd_path', true)").fetchone()[0]
        except psycopg.Error:
            out["vecdb.simd_path"] = None
    return out
