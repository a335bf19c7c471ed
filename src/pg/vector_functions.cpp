// vector: dimensions, norm, normalization, subvector, element-wise
// arithmetic and concatenation.
#include <cmath>
#include <cstring>

#include "vector_common.h"

extern "C" {
#include "utils/varbit.h"
}

using namespace vecdb::pg;

namespace {

const Vector* arg(FunctionCallInfo fcinfo, int n) { return PG_GETARG_VECTOR_P(n); }

double norm(const Vector* v) {
    // In double: a float32 sum of squares overflows for elements beyond ~1e19.
    double s = 0;
    for (int i = 0; i < v->dim; ++i) s += static_cast<double>(v->x[i]) * v->x[i];
    return std::sqrt(s);
}

}  // namespace

VECDB_FUNCTION(vecdb_vector_dims) { PG_RETURN_INT32(arg(fcinfo, 0)->dim); }

VECDB_FUNCTION(vecdb_vector_norm) { PG_RETURN_FLOAT8(norm(arg(fcinfo, 0))); }

// Unit vector in the same direction; the zero vector stays zero.
VECDB_FUNCTION(vecdb_vector_l2_normalize) {
    const Vector* a = arg(fcinfo, 0);
    Vector* r = vecdb_new_vector(a->dim);
    const double n = norm(a);
    if (n > 0)
        for (int i = 0; i < a->dim; ++i) r->x[i] = static_cast<float>(a->x[i] / n);
    PG_RETURN_VECTOR_P(r);
}

VECDB_FUNCTION(vecdb_vector_subvector) {
    PG_RETURN_VECTOR_P(
        subvector_of(arg(fcinfo, 0), PG_GETARG_INT32(1), PG_GETARG_INT32(2), vecdb_new_vector, "vector"));
}

namespace {

enum class Op { Add, Sub, Mul };

template <Op op>
Datum elementwise(FunctionCallInfo fcinfo) {
    const Vector* a = arg(fcinfo, 0);
    const Vector* b = arg(fcinfo, 1);
    check_same_dims(a->dim, b->dim);
    Vector* r = vecdb_new_vector(a->dim);
    bool overflow = false, underflow = false;
    for (int i = 0; i < a->dim; ++i) {
        const float x = a->x[i], y = b->x[i];
        const float z = op == Op::Add ? x + y : op == Op::Sub ? x - y : x * y;
        overflow |= std::isinf(z);
        // As for real: a product of non-zero factors that rounds to zero is
        // an underflow, not a silent zero.
        if (op == Op::Mul) underflow |= z == 0 && x != 0 && y != 0;
        r->x[i] = z;
    }
    if (overflow) report_overflow("vector");
    if (underflow) report_underflow("vector");
    PG_RETURN_VECTOR_P(r);
}

}  // namespace

VECDB_FUNCTION(vecdb_vector_add) { return elementwise<Op::Add>(fcinfo); }
VECDB_FUNCTION(vecdb_vector_sub) { return elementwise<Op::Sub>(fcinfo); }
VECDB_FUNCTION(vecdb_vector_mul) { return elementwise<Op::Mul>(fcinfo); }

VECDB_FUNCTION(vecdb_vector_concat) {
    const Vector* a = arg(fcinfo, 0);
    const Vector* b = arg(fcinfo, 1);
    Vector* r = vecdb_new_vector(a->dim + b->dim);
    std::memcpy(r->x, a->x, sizeof(float) * a->dim);
    std::memcpy(r->x + a->dim, b->x, sizeof(float) * b->dim);
    PG_RETURN_VECTOR_P(r);
}

// One bit per element: 1 where the element is > 0 (for bit-vector indexes).
VECDB_FUNCTION(vecdb_vector_binary_quantize) {
    const Vector* a = arg(fcinfo, 0);
    VarBit* r = static_cast<VarBit*>(palloc0(VARBITTOTALLEN(a->dim)));
    SET_VARSIZE(r, VARBITTOTALLEN(a->dim));
    VARBITLEN(r) = a->dim;
    bits8* out = VARBITS(r);
    for (int i = 0; i < a->dim; ++i)
        if (a->x[i] > 0) out[i / 8] |= static_cast<bits8>(0x80u >> (i % 8));
    PG_RETURN_VARBIT_P(r);
}
