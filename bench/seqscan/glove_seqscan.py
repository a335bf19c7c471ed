#!/usr/bin/python3
"""Exact sequential-scan top-10 at SQL level over GloVe-100 (see docs/benchmarks.md).

  glove_seqscan.py load    DSN WORKDIR   # decompress ../shared/data/glove-100-angular, COPY BINARY into glove
  glove_seqscan.py time    DSN RUNS TABLE...   # CPU time per query of the backend (perf stat task-clock)
  glove_seqscan.py profile DSN TABLE PATH RUNS OUT.data   # perf record (cpu-clock) of the backend

Data: $VECDB_DATA_DIR/glove-100-angular (default ../shared/data beside the checkout).
DSN e.g. "host=/tmp/kpg port=55440 dbname=postgres user=postgres". Run as root (perf attaches to the backend).
Per-query cost is the backend's CPU time over RUNS runs, so other jobs on a shared machine do not inflate it;
the wall-clock median is printed alongside.
"""
import os, signal, statistics, struct, subprocess, sys, time

import numpy as np
import psycopg

# The datasets: $VECDB_DATA_DIR, else ../shared/data next to the checkout (as for the unit tests).
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.environ.get('VECDB_DATA_DIR', os.path.join(_ROOT, '..', 'shared', 'data')),
                    'glove-100-angular')
D = 100


def copy_file(src_xz, dst):
    raw = subprocess.run(['xz', '-dc', src_xz], check=True, capture_output=True).stdout
    x = np.frombuffer(raw, dtype='<f4').reshape(-1, D)
    rec = np.dtype([('nf', '>i2'), ('l1', '>i4'), ('id', '>i4'), ('l2', '>i4'),
                    ('dim', '>i2'), ('unused', '>i2'), ('v', '>f4', (D,))])
    r = np.zeros(x.shape[0], dtype=rec)
    r['nf'], r['l1'], r['id'], r['l2'], r['dim'], r['v'] = 2, 4, np.arange(x.shape[0]), 4 + 4 * D, D, x
    with open(dst, 'wb') as f:
        f.write(b'PGCOPY\n\xff\r\n\x00' + struct.pack('>ii', 0, 0) + r.tobytes() + struct.pack('>h', -1))
    os.chmod(dst, 0o644)
    return x


def query_text():
    raw = subprocess.run(['xz', '-dc', os.path.join(DATA, 'query.f32.xz')], check=True, capture_output=True).stdout
    q = np.frombuffer(raw, dtype='<f4').reshape(-1, D)[0]
    return '[' + ','.join(repr(float(v)) for v in q) + ']'


def connect(dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    return cur, cur.fetchone()[0]


def load(dsn, workdir):
    os.makedirs(workdir, exist_ok=True)
    copy_file(os.path.join(DATA, 'base.f32.xz'), os.path.join(workdir, 'base.copy'))
    cur, _ = connect(dsn)
    cur.execute("CREATE EXTENSION IF NOT EXISTS vecdb")
    cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    cur.execute("DROP TABLE IF EXISTS glove, glove_20k")
    cur.execute("CREATE TABLE glove (id int4, emb vector(100))")
    cur.execute(f"COPY glove FROM '{os.path.join(workdir, 'base.copy')}' WITH (FORMAT binary)")
    cur.execute("CREATE TABLE glove_20k AS SELECT * FROM glove WHERE id < 20000")
    cur.execute("VACUUM ANALYZE glove")
    cur.execute("VACUUM ANALYZE glove_20k")


def cpu_time(cur, pid, sql, params, runs):
    cur.execute(sql, params)
    cur.fetchall()
    perf = subprocess.Popen(['perf', 'stat', '-e', 'task-clock', '-x', ',', '-p', str(pid)],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.2)
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        cur.execute(sql, params)
        cur.fetchall()
        walls.append(time.perf_counter() - t)
    perf.send_signal(signal.SIGINT)
    err = perf.communicate()[1]
    ms = float([l for l in err.splitlines() if 'task-clock' in l][0].split(',')[0])
    return ms / runs / 1e3, statistics.median(walls)


def time_queries(dsn, runs, tables):
    cur, pid = connect(dsn)
    q = query_text()
    for table in tables:
        cur.execute(f"SELECT count(*) FROM {table}")
        n = cur.fetchone()[0]
        cur.execute(f"SELECT pg_prewarm('{table}')")
        cases = [
            ("count(*)", f"SELECT count(*) FROM {table}", (), 'auto'),
            ("sum(vector_dims(emb))", f"SELECT sum(vector_dims(emb)) FROM {table}", (), 'auto'),
            ("sum(vector_norm(emb))", f"SELECT sum(vector_norm(emb)) FROM {table}", (), 'auto'),
            ("ORDER BY vector_dims(emb)+id LIMIT 10",
             f"SELECT id FROM {table} ORDER BY vector_dims(emb) + id LIMIT 10", (), 'auto'),
        ]
        for path in ('avx512', 'avx2', 'scalar'):
            cases.append((f"sum(emb <=> q) [{path}]", f"SELECT sum(emb <=> %s::vector) FROM {table}", (q,), path))
        for path in ('avx512', 'avx2', 'scalar'):
            cases.append((f"ORDER BY emb <=> q LIMIT 10 [{path}]",
                          f"SELECT id FROM {table} ORDER BY emb <=> %s::vector LIMIT 10", (q,), path))
        print(f"table {table}: {n} rows; {runs} runs per query; backend CPU time per query (wall median)")
        for name, sql, params, path in cases:
            cur.execute(f"SET vecdb.simd_path = {path}")
            cpu, wall = cpu_time(cur, pid, sql, params, runs)
            print(f"  {name:40s} {cpu * 1e3:7.1f} ms ({wall * 1e3:6.1f})  {n / cpu / 1e6:5.2f} M rows/s"
                  f"  {cpu / n * 1e9:4.0f} ns/row", flush=True)
        cur.execute("RESET vecdb.simd_path")


def profile(dsn, table, path, runs, out):
    cur, pid = connect(dsn)
    q = query_text()
    sql = f"SELECT id FROM {table} ORDER BY emb <=> %s::vector LIMIT 10"
    cur.execute(f"SET vecdb.simd_path = {path}")
    cur.execute(sql, (q,))
    cur.fetchall()
    perf = subprocess.Popen(['perf', 'record', '-q', '-e', 'cpu-clock', '-F', '20000', '-p', str(pid), '-o', out])
    time.sleep(0.3)
    for _ in range(runs):
        cur.execute(sql, (q,))
        cur.fetchall()
    perf.send_signal(signal.SIGINT)
    perf.wait()


if __name__ == '__main__':
    mode = sys.argv[1]
    if mode == 'load':
        load(sys.argv[2], sys.argv[3])
    elif mode == 'time':
        time_queries(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    elif mode == 'profile':
        profile(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)
