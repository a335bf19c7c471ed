// halfvec distances and opclass support functions: one indirect call into
// the active kernels' float16 entries.
#include <cmath>

#include "vecdb/core/distance.h"
#include "vecdb/pg/scan_distance.h"
#include "vector_common.h"

using vecdb::core::half_bits;
using vecdb::core::hnsw::Metric;
using vecdb::pg::check_same_dims;

namespace {

using Kernel = float (*)(const half_bits*, const half_bits*, std::size_t) noexcept;

struct Pair {
    const HalfVector* a;
    const HalfVector* b;
};

Pair get_pair(FunctionCallInfo fcinfo) {
    Pair p{PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)};
    check_same_dims(p.a->dim, p.b->dim);
    return p;
}

double run(Kernel k, const Pair& p) { return static_cast<double>(k(p.a->x, p.b->x, p.a->dim)); }

Kernel l2sq() { return vecdb::core::kernels().l2sq_f16; }
Kernel dot() { return vecdb::core::kernels().dot_f16; }
Kernel l1() { return vecdb::core::kernels().l1_f16; }
Kernel cosine() { return vecdb::core::kernels().cosine_f16; }

}  // namespace

VECDB_FUNCTION(vecdb_halfvec_l2_distance) {
    VECDB_REUSE_SCAN_DISTANCE(true, Metric::L2);
    PG_RETURN_FLOAT8(std::sqrt(run(l2sq(), get_pair(fcinfo))));
}
VECDB_FUNCTION(vecdb_halfvec_l2_squared_distance) { PG_RETURN_FLOAT8(run(l2sq(), get_pair(fcinfo))); }
VECDB_FUNCTION(vecdb_halfvec_inner_product) { PG_RETURN_FLOAT8(run(dot(), get_pair(fcinfo))); }
VECDB_FUNCTION(vecdb_halfvec_negative_inner_product) {
    VECDB_REUSE_SCAN_DISTANCE(true, Metric::InnerProduct);
    PG_RETURN_FLOAT8(-run(dot(), get_pair(fcinfo)));
}
// NaN when either vector is zero.
VECDB_FUNCTION(vecdb_halfvec_cosine_distance) {
    VECDB_REUSE_SCAN_DISTANCE(true, Metric::Cosine);
    PG_RETURN_FLOAT8(run(cosine(), get_pair(fcinfo)));
}
VECDB_FUNCTION(vecdb_halfvec_l1_distance) {
    VECDB_REUSE_SCAN_DISTANCE(true, Metric::L1);
    PG_RETURN_FLOAT8(run(l1(), get_pair(fcinfo)));
}

VECDB_FUNCTION(vecdb_halfvec_spherical_distance) {
    double d = run(dot(), get_pair(fcinfo));
    d = d > 1 ? 1 : d < -1 ? -1 : d;
    PG_RETURN_FLOAT8(std::acos(d) / M_PI);
}
