// An hnsw scan's distance for the row it returned last, reused by the SQL
// distance function when the executor recomputes the same ORDER BY
// expression for that row.
//
// Why: `SELECT id FROM t ORDER BY emb <-> $1 LIMIT k` evaluates `emb <-> $1`
// once more for every returned row (the ORDER BY column of the scan's target
// list). A vector over about 2 KB (500 float32 dimensions) lives in TOAST, so
// that recomputation fetches it through the TOAST index first: on
// fashion-mnist (784 dimensions) 30 % of a query's time, for a value the scan
// has just computed from the index's own exact copy.
//
// How the row is recognised: by its TOAST pointer. When a scan returns a row
// whose indexed column is stored out of line, it reads that pointer from the
// heap tuple and records it with the query and the reported distance. The
// distance function, called with an out-of-line vector and a query, takes the
// recorded distance only if the pointer names the same TOAST value (same
// toast relation and value id: the same immutable bytes) and the query is
// byte-for-byte the scan's, for the same operator. Anything else computes as
// always. The record lives from one amgettuple of its scan to the next (the
// executor projects the returned row in between) and is only made where the
// scan reports exact distances (not storage = float16, whose executor
// re-checks lower bounds).
//
// The value returned is the index's exact distance, computed from an exact
// copy of the row; it may differ from a fresh computation in the last bits
// (summation order; cosine: from normalised copies), as two evaluations of
// the SQL function may (docs/hnsw.md "Distances of returned rows").
#pragma once
#include "vecdb/core/hnsw.h"
#include "vecdb/pg/pg_includes.h"

extern "C" {
#include "access/detoast.h"
#include "fmgr.h"
}

namespace vecdb::pg {

extern bool reuse_scan_distance_setting;  // hnsw.reuse_scan_distance

// Records the distance `owner`'s scan reported for a row whose indexed value
// is the TOAST value `value` (halfvec: a halfvec column), for the operator of
// `metric`; `query` (detoasted, the scan's copy) must stay valid until
// forget_scan_distance(owner).
void remember_scan_distance(const void* owner, const varatt_external& value, bool halfvec,
                            vecdb::core::hnsw::Metric metric, const struct varlena* query, double distance);
// The TOAST pointer of a vector or halfvec datum stored out of line; false
// for any other form (inline, compressed inline, expanded).
bool external_value(Datum d, varatt_external* out);
// Drops the record if `owner` made it.
void forget_scan_distance(const void* owner);
// The recorded distance, if this call (arguments 0 and 1 of a distance
// function of `metric`'s operator on vector or halfvec) asks for it.
bool reuse_scan_distance(FunctionCallInfo fcinfo, bool halfvec, vecdb::core::hnsw::Metric metric, double* out);

// The first statement of the distance operators an hnsw scan orders by
// (<->, <#>, <=>, <+> of vector and halfvec): return the recorded distance
// when this call is about the scan's last row.
#define VECDB_REUSE_SCAN_DISTANCE(halfvec, metric)                                                    \
    do {                                                                                            \
        double reused_;                                                                             \
        if (vecdb::pg::reuse_scan_distance(fcinfo, halfvec, metric, &reused_)) PG_RETURN_FLOAT8(reused_); \
    } while (0)

}  // namespace vecdb::pg
