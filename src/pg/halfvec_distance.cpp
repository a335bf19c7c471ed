// halfvec distances and opclass support functions: one indirect call into
// the active kernels' float16 entries.
#include <cmath>

#include "vecdb/core/distance.h"
#include "vecdb/core/half_exact.h"
#include "vector_common.h"

using vecdb::core::half_bits;
using vecdb::pg::check_same_dims;

namespace {

// ---- TEMPORARY (types branch only) ---------------------------------------
// main's placeholder kernel table (src/core/distance.cpp) has no float16
// entries yet; these scalar stand-ins are used only while an entry is null.
// Delete this block and the `? :` fallbacks once the kernels helper's
// implementation is merged.
using vecdb::core::half_bits_to_double;
float fallback_l2sq(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = half_bits_to_double(a[i]) - half_bits_to_double(b[i]);
        s += d * d;
    }
    return static_cast<float>(s);
}
float fallback_dot(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += half_bits_to_double(a[i]) * half_bits_to_double(b[i]);
    return static_cast<float>(s);
}
float fallback_l1(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += std::fabs(half_bits_to_double(a[i]) - half_bits_to_double(b[i]));
    return static_cast<float>(s);
}
float fallback_cosine(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    const double ab = fallback_dot(a, b, n), aa = fallback_dot(a, a, n), bb = fallback_dot(b, b, n);
    if (aa == 0 || bb == 0) return NAN;
    double c = ab / std::sqrt(aa * bb);
    c = c > 1 ? 1 : c < -1 ? -1 : c;
    return static_cast<float>(1 - c);
}
// ---- end TEMPORARY --------------------------------------------------------

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

Kernel l2sq() { const Kernel k = vecdb::core::kernels().l2sq_f16; return k ? k : fallback_l2sq; }
Kernel dot() { const Kernel k = vecdb::core::kernels().dot_f16; return k ? k : fallback_dot; }
Kernel l1() { const Kernel k = vecdb::core::kernels().l1_f16; return k ? k : fallback_l1; }
Kernel cosine() { const Kernel k = vecdb::core::kernels().cosine_f16; return k ? k : fallback_cosine; }

}  // namespace

VECDB_FUNCTION(vecdb_halfvec_l2_distance) { PG_RETURN_FLOAT8(std::sqrt(run(l2sq(), get_pair(fcinfo)))); }
VECDB_FUNCTION(vecdb_halfvec_l2_squared_distance) { PG_RETURN_FLOAT8(run(l2sq(), get_pair(fcinfo))); }
VECDB_FUNCTION(vecdb_halfvec_inner_product) { PG_RETURN_FLOAT8(run(dot(), get_pair(fcinfo))); }
VECDB_FUNCTION(vecdb_halfvec_negative_inner_product) { PG_RETURN_FLOAT8(-run(dot(), get_pair(fcinfo))); }
// NaN when either vector is zero.
VECDB_FUNCTION(vecdb_halfvec_cosine_distance) { PG_RETURN_FLOAT8(run(cosine(), get_pair(fcinfo))); }
VECDB_FUNCTION(vecdb_halfvec_l1_distance) { PG_RETURN_FLOAT8(run(l1(), get_pair(fcinfo))); }

VECDB_FUNCTION(vecdb_halfvec_spherical_distance) {
    double d = run(dot(), get_pair(fcinfo));
    d = d > 1 ? 1 : d < -1 ? -1 : d;
    PG_RETURN_FLOAT8(std::acos(d) / M_PI);
}
