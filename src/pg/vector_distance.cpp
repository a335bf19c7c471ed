// vector distances and the support functions of the index opclasses. Each
// call is one indirect call into the active SIMD kernels.
#include <cmath>

#include "vecdb/core/distance.h"
#include "vecdb/pg/scan_distance.h"
#include "vector_common.h"

using vecdb::core::kernels;
using vecdb::core::hnsw::Metric;
using vecdb::pg::check_same_dims;

namespace {

// Both arguments detoasted, dimensions checked.
struct Pair {
    const Vector* a;
    const Vector* b;
};

Pair get_pair(FunctionCallInfo fcinfo) {
    Pair p{PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)};
    check_same_dims(p.a->dim, p.b->dim);
    return p;
}

}  // namespace

// The operators an hnsw scan orders by first look for the distance the scan
// just reported for this row (vecdb/pg/scan_distance.h): it saves a TOAST fetch.
VECDB_FUNCTION(vecdb_vector_l2_distance) {
    VECDB_REUSE_SCAN_DISTANCE(false, Metric::L2);
    const Pair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(kernels().l2sq_f32(p.a->x, p.b->x, p.a->dim))));
}

VECDB_FUNCTION(vecdb_vector_l2_squared_distance) {
    const Pair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(kernels().l2sq_f32(p.a->x, p.b->x, p.a->dim)));
}

VECDB_FUNCTION(vecdb_vector_inner_product) {
    const Pair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(kernels().dot_f32(p.a->x, p.b->x, p.a->dim)));
}

VECDB_FUNCTION(vecdb_vector_negative_inner_product) {
    VECDB_REUSE_SCAN_DISTANCE(false, Metric::InnerProduct);
    const Pair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(-static_cast<double>(kernels().dot_f32(p.a->x, p.b->x, p.a->dim)));
}

// NaN when either vector is zero: the angle is undefined there.
VECDB_FUNCTION(vecdb_vector_cosine_distance) {
    VECDB_REUSE_SCAN_DISTANCE(false, Metric::Cosine);
    const Pair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(kernels().cosine_f32(p.a->x, p.b->x, p.a->dim)));
}

// Angle between two unit vectors divided by pi, in [0, 1]: a metric, unlike
// the cosine distance (for index structures that need the triangle inequality).
VECDB_FUNCTION(vecdb_vector_spherical_distance) {
    const Pair p = get_pair(fcinfo);
    double dot = static_cast<double>(kernels().dot_f32(p.a->x, p.b->x, p.a->dim));
    if (dot > 1) dot = 1;
    if (dot < -1) dot = -1;
    PG_RETURN_FLOAT8(std::acos(dot) / M_PI);
}

VECDB_FUNCTION(vecdb_vector_l1_distance) {
    VECDB_REUSE_SCAN_DISTANCE(false, Metric::L1);
    const Pair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(kernels().l1_f32(p.a->x, p.b->x, p.a->dim)));
}
