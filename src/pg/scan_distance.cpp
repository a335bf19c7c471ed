// The recorded distance of an hnsw scan's last returned row (header:
// include/vecdb/pg/scan_distance.h).
#include "vecdb/pg/scan_distance.h"

#include <algorithm>
#include <cstring>

namespace vecdb::pg {

bool reuse_scan_distance_setting = true;

namespace {

struct Recent {
    const void* owner = nullptr;  // nullptr: no record
    Oid toastrelid = InvalidOid;
    Oid valueid = InvalidOid;
    bool halfvec = false;
    vecdb::core::hnsw::Metric metric = vecdb::core::hnsw::Metric::L2;
    const struct varlena* query = nullptr;  // detoasted
    double distance = 0;
};

// A query taken from a table row (ORDER BY v <-> (SELECT v FROM t ...))
// reaches the operator as that row's TOAST pointer (the scan key holds a
// detoasted copy): each call site keeps the last such query detoasted, so
// the fetch is paid once per query, not once per row.
struct QueryCache {
    varatt_external pointer;
    struct varlena* value;
};

Recent recent;

// Do two TOAST pointers name the same (immutable) value?
bool same_value(const varatt_external& a, Oid toastrelid, Oid valueid) {
    return a.va_toastrelid == toastrelid && a.va_valueid == valueid;
}

// d is an out-of-line query; nullptr where there is no call site to keep it at.
const struct varlena* cached_query(FunctionCallInfo fcinfo, Datum d) {
    if (fcinfo->flinfo == nullptr) return nullptr;
    varatt_external e;
    external_value(d, &e);
    QueryCache* c = static_cast<QueryCache*>(fcinfo->flinfo->fn_extra);
    if (c != nullptr && same_value(c->pointer, e.va_toastrelid, e.va_valueid)) return c->value;
    if (c == nullptr) {
        c = static_cast<QueryCache*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(QueryCache)));
        fcinfo->flinfo->fn_extra = c;
    }
    // Fetched (and decompressed) here, kept in the call site's memory.
    struct varlena* v = detoast_attr(reinterpret_cast<struct varlena*>(DatumGetPointer(d)));
    struct varlena* kept = static_cast<struct varlena*>(MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(v)));
    std::memcpy(kept, v, VARSIZE(v));
    pfree(v);
    if (c->value != nullptr) pfree(c->value);
    c->pointer = e;
    c->value = kept;
    return kept;
}

bool is_query(FunctionCallInfo fcinfo, Datum d) {
    const struct varlena* p = reinterpret_cast<const struct varlena*>(DatumGetPointer(d));
    if (VARATT_IS_EXTERNAL_ONDISK(p) && (p = cached_query(fcinfo, d)) == nullptr) return false;
    // Otherwise a plain 4-byte-header value (input and receive functions
    // make those); other forms (compressed, short header) are not compared.
    if (VARATT_IS_EXTENDED(p)) return false;
    const Size n = VARSIZE(recent.query);
    return VARSIZE(p) == n && std::memcmp(p, recent.query, n) == 0;
}

bool is_recorded_row(Datum d) {
    varatt_external v;
    return external_value(d, &v) && same_value(v, recent.toastrelid, recent.valueid);
}

}  // namespace

bool external_value(Datum d, varatt_external* out) {
    const struct varlena* p = reinterpret_cast<const struct varlena*>(DatumGetPointer(d));
    if (!VARATT_IS_EXTERNAL_ONDISK(p)) return false;
    VARATT_EXTERNAL_GET_POINTER(*out, p);
    return true;
}

void remember_scan_distance(const void* owner, const varatt_external& value, bool halfvec,
                            vecdb::core::hnsw::Metric metric, const struct varlena* query, double distance) {
    recent.owner = owner;
    recent.toastrelid = value.va_toastrelid;
    recent.valueid = value.va_valueid;
    recent.halfvec = halfvec;
    recent.metric = metric;
    recent.query = query;
    recent.distance = distance;
}

void forget_scan_distance(const void* owner) {
    if (recent.owner == owner) recent = Recent{};
}

bool reuse_scan_distance(FunctionCallInfo fcinfo, bool halfvec, vecdb::core::hnsw::Metric metric, double* out) {
    if (!reuse_scan_distance_setting || recent.owner == nullptr || recent.halfvec != halfvec || recent.metric != metric)
        return false;
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) return false;
    // The recorded row first (a pointer comparison), so that a query is only
    // ever fetched for a call that is about that row.
    const Datum a = PG_GETARG_DATUM(0), b = PG_GETARG_DATUM(1);
    bool match;
    if (is_recorded_row(a))
        match = is_query(fcinfo, b);
    else if (is_recorded_row(b))
        match = is_query(fcinfo, a);
    else
        match = false;
    if (!match) return false;
    double d = recent.distance;
    // The SQL cosine distance lies in [0, 2]; the index's, from normalised
    // copies, can round just outside.
    if (metric == vecdb::core::hnsw::Metric::Cosine) d = std::min(2.0, std::max(0.0, d));
    *out = d;
    return true;
}

}  // namespace vecdb::pg
