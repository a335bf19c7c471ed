// vector: btree comparison (lexicographic by element, then by dimension) and
// hashing, so ORDER BY, DISTINCT, GROUP BY and unique indexes work.
#include <cstring>

#include "vector_common.h"

extern "C" {
#include "common/hashfn.h"
}

namespace {

int compare(const Vector* a, const Vector* b) {
    const int n = a->dim < b->dim ? a->dim : b->dim;
    for (int i = 0; i < n; ++i) {
        if (a->x[i] < b->x[i]) return -1;
        if (a->x[i] > b->x[i]) return 1;
    }
    return a->dim < b->dim ? -1 : a->dim > b->dim ? 1 : 0;
}

// Frees detoasted copies: btree calls this in long-lived contexts (sorts,
// index builds), where a copy per comparison would pile up.
int compare_args(FunctionCallInfo fcinfo) {
    Vector* a = PG_GETARG_VECTOR_P(0);
    Vector* b = PG_GETARG_VECTOR_P(1);
    const int r = compare(a, b);
    PG_FREE_IF_COPY(a, 0);
    PG_FREE_IF_COPY(b, 1);
    return r;
}

}  // namespace

VECDB_FUNCTION(vecdb_vector_cmp) { PG_RETURN_INT32(compare_args(fcinfo)); }
VECDB_FUNCTION(vecdb_vector_lt) { PG_RETURN_BOOL(compare_args(fcinfo) < 0); }
VECDB_FUNCTION(vecdb_vector_le) { PG_RETURN_BOOL(compare_args(fcinfo) <= 0); }
VECDB_FUNCTION(vecdb_vector_eq) { PG_RETURN_BOOL(compare_args(fcinfo) == 0); }
VECDB_FUNCTION(vecdb_vector_ne) { PG_RETURN_BOOL(compare_args(fcinfo) != 0); }
VECDB_FUNCTION(vecdb_vector_ge) { PG_RETURN_BOOL(compare_args(fcinfo) >= 0); }
VECDB_FUNCTION(vecdb_vector_gt) { PG_RETURN_BOOL(compare_args(fcinfo) > 0); }

// Equal vectors hash equally: -0 and 0 compare equal, so hash as 0.
VECDB_FUNCTION(vecdb_vector_hash) {
    Vector* v = PG_GETARG_VECTOR_P(0);
    uint32 h = hash_uint32(static_cast<uint32>(v->dim));
    for (int i = 0; i < v->dim; ++i) {
        const float f = v->x[i] == 0.0f ? 0.0f : v->x[i];
        uint32 bits;
        std::memcpy(&bits, &f, sizeof bits);
        h = hash_combine(h, hash_uint32(bits));
    }
    PG_FREE_IF_COPY(v, 0);
    PG_RETURN_INT32(static_cast<int32>(h));
}
