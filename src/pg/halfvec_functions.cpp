// halfvec: dimensions, norm, normalization, subvector, element-wise
// arithmetic (exact in double, one rounding to float16) and concatenation.
#include <cmath>
#include <cstring>

#include "vecdb/core/half_exact.h"
#include "vector_common.h"

extern "C" {
#include "utils/varbit.h"
}

using vecdb::core::double_to_half_bits;
using vecdb::core::half_bits_finite;
using vecdb::core::half_bits_to_double;
using namespace vecdb::pg;

namespace {

const HalfVector* arg(FunctionCallInfo fcinfo, int n) { return PG_GETARG_HALFVEC_P(n); }

double norm(const HalfVector* v) {
    double s = 0;
    for (int i = 0; i < v->dim; ++i) {
        const double x = half_bits_to_double(v->x[i]);
        s += x * x;
    }
    return std::sqrt(s);
}

}  // namespace

VECDB_FUNCTION(vecdb_halfvec_dims) { PG_RETURN_INT32(arg(fcinfo, 0)->dim); }

VECDB_FUNCTION(vecdb_halfvec_l2_norm) { PG_RETURN_FLOAT8(norm(arg(fcinfo, 0))); }

VECDB_FUNCTION(vecdb_halfvec_l2_normalize) {
    const HalfVector* a = arg(fcinfo, 0);
    HalfVector* r = vecdb_new_halfvec(a->dim);
    const double n = norm(a);
    if (n > 0)
        for (int i = 0; i < a->dim; ++i) r->x[i] = double_to_half_bits(half_bits_to_double(a->x[i]) / n);
    PG_RETURN_HALFVEC_P(r);
}

VECDB_FUNCTION(vecdb_halfvec_subvector) {
    PG_RETURN_HALFVEC_P(
        subvector_of(arg(fcinfo, 0), PG_GETARG_INT32(1), PG_GETARG_INT32(2), vecdb_new_halfvec, "halfvec"));
}

namespace {

enum class Op { Add, Sub, Mul };

// Sums and products of two halves are exact in double, so the only rounding
// is the final one to float16.
template <Op op>
Datum elementwise(FunctionCallInfo fcinfo) {
    const HalfVector* a = arg(fcinfo, 0);
    const HalfVector* b = arg(fcinfo, 1);
    check_same_dims(a->dim, b->dim);
    HalfVector* r = vecdb_new_halfvec(a->dim);
    bool overflow = false, underflow = false;
    for (int i = 0; i < a->dim; ++i) {
        const double x = half_bits_to_double(a->x[i]), y = half_bits_to_double(b->x[i]);
        const double z = op == Op::Add ? x + y : op == Op::Sub ? x - y : x * y;
        const uint16 h = double_to_half_bits(z);
        overflow |= !half_bits_finite(h);
        if (op == Op::Mul) underflow |= (h & 0x7fffu) == 0 && z != 0;
        r->x[i] = h;
    }
    if (overflow) report_overflow("halfvec");
    if (underflow) report_underflow("halfvec");
    PG_RETURN_HALFVEC_P(r);
}

}  // namespace

VECDB_FUNCTION(vecdb_halfvec_add) { return elementwise<Op::Add>(fcinfo); }
VECDB_FUNCTION(vecdb_halfvec_sub) { return elementwise<Op::Sub>(fcinfo); }
VECDB_FUNCTION(vecdb_halfvec_mul) { return elementwise<Op::Mul>(fcinfo); }

VECDB_FUNCTION(vecdb_halfvec_concat) {
    const HalfVector* a = arg(fcinfo, 0);
    const HalfVector* b = arg(fcinfo, 1);
    HalfVector* r = vecdb_new_halfvec(a->dim + b->dim);
    std::memcpy(r->x, a->x, sizeof(uint16) * a->dim);
    std::memcpy(r->x + a->dim, b->x, sizeof(uint16) * b->dim);
    PG_RETURN_HALFVEC_P(r);
}

// One bit per element: 1 where the element is > 0 (for bit-vector indexes).
VECDB_FUNCTION(vecdb_halfvec_binary_quantize) {
    const HalfVector* a = arg(fcinfo, 0);
    VarBit* r = static_cast<VarBit*>(palloc0(VARBITTOTALLEN(a->dim)));
    SET_VARSIZE(r, VARBITTOTALLEN(a->dim));
    VARBITLEN(r) = a->dim;
    bits8* out = VARBITS(r);
    for (int i = 0; i < a->dim; ++i)
        if (half_bits_to_double(a->x[i]) > 0) out[i / 8] |= static_cast<bits8>(0x80u >> (i % 8));
    PG_RETURN_VARBIT_P(r);
}
