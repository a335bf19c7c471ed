// halfvec: btree comparison (lexicographic by element value, then by
// dimension) and hashing.
#include "vecdb/core/half_exact.h"
#include "vector_common.h"

extern "C" {
#include "common/hashfn.h"
}

using vecdb::core::half_bits_to_double;

namespace {

int compare(const HalfVector* a, const HalfVector* b) {
    const int n = a->dim < b->dim ? a->dim : b->dim;
    for (int i = 0; i < n; ++i) {
        const double x = half_bits_to_double(a->x[i]), y = half_bits_to_double(b->x[i]);
        if (x < y) return -1;
        if (x > y) return 1;
    }
    return a->dim < b->dim ? -1 : a->dim > b->dim ? 1 : 0;
}

// Frees detoasted copies: btree calls this in long-lived contexts (sorts,
// index builds), where a copy per comparison would pile up.
int compare_args(FunctionCallInfo fcinfo) {
    HalfVector* a = PG_GETARG_HALFVEC_P(0);
    HalfVector* b = PG_GETARG_HALFVEC_P(1);
    const int r = compare(a, b);
    PG_FREE_IF_COPY(a, 0);
    PG_FREE_IF_COPY(b, 1);
    return r;
}

}  // namespace

VECDB_FUNCTION(vecdb_halfvec_cmp) { PG_RETURN_INT32(compare_args(fcinfo)); }
VECDB_FUNCTION(vecdb_halfvec_lt) { PG_RETURN_BOOL(compare_args(fcinfo) < 0); }
VECDB_FUNCTION(vecdb_halfvec_le) { PG_RETURN_BOOL(compare_args(fcinfo) <= 0); }
VECDB_FUNCTION(vecdb_halfvec_eq) { PG_RETURN_BOOL(compare_args(fcinfo) == 0); }
VECDB_FUNCTION(vecdb_halfvec_ne) { PG_RETURN_BOOL(compare_args(fcinfo) != 0); }
VECDB_FUNCTION(vecdb_halfvec_ge) { PG_RETURN_BOOL(compare_args(fcinfo) >= 0); }
VECDB_FUNCTION(vecdb_halfvec_gt) { PG_RETURN_BOOL(compare_args(fcinfo) > 0); }

// -0 (0x8000) equals 0: hash it as 0.
VECDB_FUNCTION(vecdb_halfvec_hash) {
    HalfVector* v = PG_GETARG_HALFVEC_P(0);
    uint32 h = hash_uint32(static_cast<uint32>(v->dim));
    for (int i = 0; i < v->dim; ++i) {
        const uint32 bits = v->x[i] == 0x8000u ? 0u : v->x[i];
        h = hash_combine(h, hash_uint32(bits));
    }
    PG_FREE_IF_COPY(v, 0);
    PG_RETURN_INT32(static_cast<int32>(h));
}
