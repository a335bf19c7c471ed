/*
 * pgquery: the harness's single-client query loop in C on libpq, so that the
 * measured time is the server's answer plus one round trip, not a Python
 * driver's per-query work (psycopg 3's pure-Python libpq wrapper on Debian
 * costs about 0.1 ms of client CPU per query; docs/benchmarks.md).
 *
 *   pgquery CONNINFO SQL PARAMS N PARAM_BYTES TYPE_OID K WARMUP PASSES OUT [SETTING=VALUE ...]
 *
 * SQL is one statement with a single parameter $1, sent in binary as type
 * TYPE_OID (vector's or halfvec's send format). PARAMS holds N such values of
 * PARAM_BYTES bytes each, back to back. The statement is prepared once; the
 * first WARMUP parameters are run untimed, then PASSES timed passes, each
 * running the N once, in order, one at a time, all on the one connection
 * (a pooled application connection: a new backend first maps the shared
 * buffers it touches, page fault by page fault, which is a cost per
 * connection, not per query). OUT receives, per pass and query: int64
 * nanoseconds (from sending the query to having read its last row), int32
 * rows, then K int32 ids of the first column (-1 where fewer rows came back).
 * Stdout gets one line per pass: "pass P wall_ns W backend_cpu_ns B
 * client_cpu_ns C" (B is -1 where the server's /proc is not readable: another
 * host). Settings are applied with set_config() before the loop. Exit status 0
 * on success, 1 on any error (message on stderr).
 *
 * With PGQUERY_CPU=N in the environment, this process and its backend are
 * both bound to CPU N (sched_setaffinity; binding the backend needs root or
 * CAP_SYS_NICE), and stdout gets "pinned N" or "not pinned: REASON". Why: on a
 * VM whose CPUs halt when idle, a client and backend on two CPUs hand each
 * query across with a wake-up of a halted CPU (an interrupt through the
 * hypervisor, which may have run another guest there meanwhile), while an
 * in-process library's search loop never leaves its CPU; which of the two a
 * run gets is the scheduler's choice per connection (docs/benchmarks.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

/* CPU time the process has run, from /proc/PID/schedstat (ns); -1 if unreadable. */
static int64_t process_cpu_ns(int pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    long long run = -1;
    if (fscanf(f, "%lld", &run) != 1) run = -1;
    fclose(f);
    return run;
}

/* Binds pid (the backend) and then this process to cpu; 0, or the errno of
 * the failed call, in which case nothing stays bound (a client confined to
 * one CPU with its backend elsewhere would be worse than no binding). */
static int pin_both(int pid, int cpu) {
    cpu_set_t set, pid_before, own_before;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_getaffinity(pid, sizeof pid_before, &pid_before) != 0) return errno;
    if (sched_getaffinity(0, sizeof own_before, &own_before) != 0) return errno;
    if (sched_setaffinity(pid, sizeof set, &set) != 0) return errno;
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        const int err = errno;
        sched_setaffinity(pid, sizeof pid_before, &pid_before);
        return err;
    }
    return 0;
}

static int64_t own_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(PGconn* conn, const char* what) {
    fprintf(stderr, "pgquery: %s: %s", what, conn ? PQerrorMessage(conn) : "\n");
    if (conn) PQfinish(conn);
    exit(1);
}

/* Runs query i; fills ids (k, -1 padded), returns the row count. */
static int run_one(PGconn* conn, const char* param, int param_bytes, int k, int32_t* ids) {
    const char* values[1] = {param};
    const int lengths[1] = {param_bytes};
    const int formats[1] = {1};
    PGresult* res = PQexecPrepared(conn, "q", 1, values, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        die(conn, "query");
    }
    const int rows = PQntuples(res);
    for (int j = 0; j < k; ++j) ids[j] = j < rows && !PQgetisnull(res, j, 0) ? atoi(PQgetvalue(res, j, 0)) : -1;
    PQclear(res);
    return rows;
}

int main(int argc, char** argv) {
    if (argc < 11) {
        fprintf(stderr, "usage: pgquery CONNINFO SQL PARAMS N PARAM_BYTES TYPE_OID K WARMUP PASSES OUT [SETTING=VALUE ...]\n");
        return 2;
    }
    const char* conninfo = argv[1];
    const char* sql = argv[2];
    const long n = atol(argv[4]);
    const int param_bytes = atoi(argv[5]);
    const Oid type_oid = (Oid)strtoul(argv[6], NULL, 10);
    const int k = atoi(argv[7]);
    const long warmup = atol(argv[8]);
    const long passes = atol(argv[9]);
    if (n < 0 || param_bytes <= 0 || k < 0 || warmup < 0 || passes < 1) die(NULL, "bad arguments");

    FILE* pf = fopen(argv[3], "rb");
    if (!pf) die(NULL, "cannot open PARAMS");
    char* params = malloc((size_t)n * param_bytes + 1);
    if (!params || fread(params, param_bytes, (size_t)n, pf) != (size_t)n) die(NULL, "cannot read PARAMS");
    fclose(pf);

    PGconn* conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) die(conn, "connect");
    const char* pin = getenv("PGQUERY_CPU");
    if (pin && *pin) {
        char* end;
        const long cpu = strtol(pin, &end, 10);
        if (*end != '\0' || cpu < 0 || cpu >= CPU_SETSIZE) die(conn, "PGQUERY_CPU is not a CPU number");
        const int err = pin_both(PQbackendPID(conn), (int)cpu);
        if (err == 0)
            printf("pinned %ld\n", cpu);
        else
            printf("not pinned: %s\n", strerror(err));
    }
    for (int a = 11; a < argc; ++a) {
        char* eq = strchr(argv[a], '=');
        if (!eq) die(conn, "setting without '='");
        *eq = '\0';
        const char* values[2] = {argv[a], eq + 1};
        PGresult* res = PQexecParams(conn, "SELECT set_config($1, $2, false)", 2, NULL, values, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) die(conn, "set_config");
        PQclear(res);
    }
    const Oid types[1] = {type_oid};
    PGresult* prep = PQprepare(conn, "q", sql, 1, types);
    if (PQresultStatus(prep) != PGRES_COMMAND_OK) die(conn, "prepare");
    PQclear(prep);

    const size_t rec_ints = 1 + (size_t)k;  /* rows, ids */
    char* out = malloc((size_t)passes * n * (8 + 4 * rec_ints) + 1);
    int32_t* ids = malloc(sizeof(int32_t) * (k + 1));
    if (!out || !ids) die(conn, "out of memory");
    for (long i = 0; i < warmup && n > 0; ++i) run_one(conn, params + (size_t)(i % n) * param_bytes, param_bytes, k, ids);
    char* p = out;
    const int backend = PQbackendPID(conn);
    for (long pass = 0; pass < passes; ++pass) {
        const int64_t wall0 = now_ns(), backend0 = process_cpu_ns(backend), own0 = own_cpu_ns();
        for (long i = 0; i < n; ++i) {
            const int64_t t0 = now_ns();
            const int32_t rows = run_one(conn, params + (size_t)i * param_bytes, param_bytes, k, ids);
            const int64_t ns = now_ns() - t0;
            memcpy(p, &ns, 8);
            memcpy(p + 8, &rows, 4);
            memcpy(p + 12, ids, 4 * (size_t)k);
            p += 8 + 4 * rec_ints;
        }
        const int64_t backend1 = process_cpu_ns(backend);
        printf("pass %ld wall_ns %lld backend_cpu_ns %lld client_cpu_ns %lld\n", pass + 1, (long long)(now_ns() - wall0),
               (long long)(backend0 < 0 || backend1 < 0 ? -1 : backend1 - backend0), (long long)(own_cpu_ns() - own0));
    }
    PQfinish(conn);
    FILE* of = fopen(argv[10], "wb");
    if (!of || fwrite(out, 1, (size_t)(p - out), of) != (size_t)(p - out) || fclose(of) != 0) die(NULL, "cannot write OUT");
    free(out);
    free(ids);
    free(params);
    return 0;
}
