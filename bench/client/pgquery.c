/*
 * pgquery: the harness's single-client query loop in C on libpq, so that the
 * measured time is the server's answer plus one round trip, not a Python
 * driver's per-query work (psycopg 3's pure-Python libpq wrapper on Debian
 * costs about 0.1 ms of client CPU per query; docs/benchmarks.md).
 *
 *   pgquery CONNINFO SQL PARAMS N PARAM_BYTES TYPE_OID K WARMUP OUT [SETTING=VALUE ...]
 *
 * SQL is one statement with a single parameter $1, sent in binary as type
 * TYPE_OID (vector's or halfvec's send format). PARAMS holds N such values of
 * PARAM_BYTES bytes each, back to back. The statement is prepared once; the
 * first WARMUP parameters are run untimed, then each of the N once, in order,
 * one at a time. OUT receives, per query: int64 nanoseconds (from sending the
 * query to having read its last row), int32 rows, then K int32 ids of the first
 * column (-1 where fewer rows came back). Settings are applied with
 * set_config() before the loop. Exit status 0 on success, 1 on any error
 * (message on stderr).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

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
    if (argc < 10) {
        fprintf(stderr, "usage: pgquery CONNINFO SQL PARAMS N PARAM_BYTES TYPE_OID K WARMUP OUT [SETTING=VALUE ...]\n");
        return 2;
    }
    const char* conninfo = argv[1];
    const char* sql = argv[2];
    const long n = atol(argv[4]);
    const int param_bytes = atoi(argv[5]);
    const Oid type_oid = (Oid)strtoul(argv[6], NULL, 10);
    const int k = atoi(argv[7]);
    const long warmup = atol(argv[8]);
    if (n < 0 || param_bytes <= 0 || k < 0 || warmup < 0) die(NULL, "bad arguments");

    FILE* pf = fopen(argv[3], "rb");
    if (!pf) die(NULL, "cannot open PARAMS");
    char* params = malloc((size_t)n * param_bytes + 1);
    if (!params || fread(params, param_bytes, (size_t)n, pf) != (size_t)n) die(NULL, "cannot read PARAMS");
    fclose(pf);

    PGconn* conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) die(conn, "connect");
    for (int a = 10; a < argc; ++a) {
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
    char* out = malloc((size_t)n * (8 + 4 * rec_ints) + 1);
    int32_t* ids = malloc(sizeof(int32_t) * (k + 1));
    if (!out || !ids) die(conn, "out of memory");
    for (long i = 0; i < warmup && n > 0; ++i) run_one(conn, params + (size_t)(i % n) * param_bytes, param_bytes, k, ids);
    char* p = out;
    for (long i = 0; i < n; ++i) {
        const int64_t t0 = now_ns();
        const int32_t rows = run_one(conn, params + (size_t)i * param_bytes, param_bytes, k, ids);
        const int64_t ns = now_ns() - t0;
        memcpy(p, &ns, 8);
        memcpy(p + 8, &rows, 4);
        memcpy(p + 12, ids, 4 * (size_t)k);
        p += 8 + 4 * rec_ints;
    }
    PQfinish(conn);
    FILE* of = fopen(argv[9], "wb");
    if (!of || fwrite(out, 1, (size_t)(p - out), of) != (size_t)(p - out) || fclose(of) != 0) die(NULL, "cannot write OUT");
    free(out);
    free(ids);
    free(params);
    return 0;
}
