// Casts: vector <-> halfvec, numeric arrays -> vector/halfvec, and
// vector/halfvec -> real[]. Every cast takes (value, typmod, explicit) so the
// target's typmod is enforced like a length coercion.
#include <cmath>

#include "vecdb/core/half.h"
#include "vecdb/core/half_exact.h"
#include "vector_common.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"
}

using vecdb::core::double_to_half_bits;
using vecdb::core::half_bits_finite;
using namespace vecdb::pg;

namespace {

// The elements of a 1-D numeric array as doubles (palloc'd), after the
// checks every array cast shares.
double* array_elements(ArrayType* array, const char* type_name, int* count) {
    if (ARR_NDIM(array) > 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
    if (array_contains_nulls(array))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));
    const Oid elem_type = ARR_ELEMTYPE(array);
    if (elem_type != INT4OID && elem_type != FLOAT4OID && elem_type != FLOAT8OID && elem_type != NUMERICOID)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("unsupported array type %s", format_type_be(elem_type))));
    const int n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
    check_dim(n, type_name);

    int16 typlen;
    bool typbyval;
    char typalign;
    get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
    Datum* datums;
    int got;
    deconstruct_array(array, elem_type, typlen, typbyval, typalign, &datums, nullptr, &got);

    double* out = static_cast<double*>(palloc(sizeof(double) * n));
    for (int i = 0; i < n; ++i) {
        double d;
        switch (elem_type) {
            case INT4OID: d = DatumGetInt32(datums[i]); break;
            case FLOAT4OID: d = DatumGetFloat4(datums[i]); break;
            case FLOAT8OID: d = DatumGetFloat8(datums[i]); break;
            default: d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, datums[i])); break;
        }
        if (std::isnan(d))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("NaN not allowed in %s", type_name),
                            errdetail("Element %d.", i + 1)));
        if (std::isinf(d))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("infinite value not allowed in %s", type_name), errdetail("Element %d.", i + 1)));
        out[i] = d;
    }
    pfree(datums);
    *count = n;
    return out;
}

[[noreturn]] void out_of_range(double value, const char* type_name, int index) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("\"%g\" is out of range for type %s", value, type_name),
                    errdetail("Element %d.", index + 1)));
    pg_unreachable();
}

// float32 like real: overflow and underflow to zero are errors.
float to_float(double d, int index) {
    const float f = static_cast<float>(d);
    if (std::isinf(f) || (f == 0 && d != 0)) out_of_range(d, "vector", index);
    return f;
}

// float16 like halfvec's text input: beyond ±65504 (after rounding) is an
// error, tiny values round to (signed) zero.
uint16 to_half(double d, int index) {
    const uint16 h = double_to_half_bits(d);
    if (!half_bits_finite(h)) out_of_range(d, "halfvec", index);
    return h;
}

ArrayType* float4_array(const float* values, int n) {
    Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * n));
    for (int i = 0; i < n; ++i) datums[i] = Float4GetDatum(values[i]);
    return construct_array(datums, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

}  // namespace

VECDB_FUNCTION(vecdb_array_to_vector) {
    int n;
    const double* d = array_elements(PG_GETARG_ARRAYTYPE_P(0), "vector", &n);
    check_typmod(n, PG_GETARG_INT32(1));
    Vector* v = vecdb_new_vector(n);
    for (int i = 0; i < n; ++i) v->x[i] = to_float(d[i], i);
    PG_RETURN_VECTOR_P(v);
}

VECDB_FUNCTION(vecdb_array_to_halfvec) {
    int n;
    const double* d = array_elements(PG_GETARG_ARRAYTYPE_P(0), "halfvec", &n);
    check_typmod(n, PG_GETARG_INT32(1));
    HalfVector* v = vecdb_new_halfvec(n);
    for (int i = 0; i < n; ++i) v->x[i] = to_half(d[i], i);
    PG_RETURN_HALFVEC_P(v);
}

VECDB_FUNCTION(vecdb_vector_to_float4) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    PG_RETURN_ARRAYTYPE_P(float4_array(v->x, v->dim));
}

VECDB_FUNCTION(vecdb_halfvec_to_float4) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    float* values = static_cast<float*>(palloc(sizeof(float) * v->dim));
    vecdb::core::halves_to_floats(v->x, values, v->dim);
    PG_RETURN_ARRAYTYPE_P(float4_array(values, v->dim));
}

VECDB_FUNCTION(vecdb_vector_to_halfvec) {
    const Vector* a = PG_GETARG_VECTOR_P(0);
    check_typmod(a->dim, PG_GETARG_INT32(1));
    HalfVector* r = vecdb_new_halfvec(a->dim);
    // Bulk (F16C where available), bit-identical to the scalar rounding.
    vecdb::core::floats_to_halves(a->x, r->x, a->dim);
    for (int i = 0; i < a->dim; ++i)
        if (!half_bits_finite(r->x[i])) out_of_range(a->x[i], "halfvec", i);
    PG_RETURN_HALFVEC_P(r);
}

// Exact: every float16 value is a float32 value.
VECDB_FUNCTION(vecdb_halfvec_to_vector) {
    const HalfVector* a = PG_GETARG_HALFVEC_P(0);
    check_typmod(a->dim, PG_GETARG_INT32(1));
    Vector* r = vecdb_new_vector(a->dim);
    vecdb::core::halves_to_floats(a->x, r->x, a->dim);
    PG_RETURN_VECTOR_P(r);
}
