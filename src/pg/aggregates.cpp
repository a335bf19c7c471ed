// avg() and sum() over vector and halfvec. The transition state is a float8[]
// {count, sum_1, ..., sum_dim} (initially {0}): sums in double never overflow
// for float32/float16 inputs, the state needs no serialization for parallel
// aggregation, and the combine function just adds two states. Inside an
// aggregate the state is updated in place (as float8_accum does).
#include <cmath>

#include "vecdb/core/half_exact.h"
#include "vector_common.h"

extern "C" {
#include "catalog/pg_type.h"
}

using vecdb::core::double_to_half_bits;
using vecdb::core::half_bits_finite;
using vecdb::core::half_bits_to_double;
using namespace vecdb::pg;

namespace {

// Validated view of a state array. dim == 0 for the initial {0}.
struct State {
    ArrayType* array;
    double* values;  // values[0] = count, values[1..dim] = sums
    int dim;
};

State read_state(ArrayType* array) {
    if (ARR_NDIM(array) != 1 || ARR_ELEMTYPE(array) != FLOAT8OID || ARR_HASNULL(array) || ARR_DIMS(array)[0] < 1 ||
        ARR_DIMS(array)[0] > VECDB_MAX_DIM + 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("invalid vector aggregate state")));
    return State{array, reinterpret_cast<double*>(ARR_DATA_PTR(array)), ARR_DIMS(array)[0] - 1};
}

State new_state(int dim) {
    Datum* zeros = static_cast<Datum*>(palloc(sizeof(Datum) * (dim + 1)));
    for (int i = 0; i <= dim; ++i) zeros[i] = Float8GetDatum(0.0);
    ArrayType* array = construct_array(zeros, dim + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    return read_state(array);
}

// The state to update: the argument itself inside an aggregate, else a copy
// (a direct call must not modify its input).
State writable_state(FunctionCallInfo fcinfo, int dim) {
    State s = read_state(PG_GETARG_ARRAYTYPE_P(0));
    if (s.dim == 0) return new_state(dim);
    check_same_dims(s.dim, dim);
    if (AggCheckCallContext(fcinfo, nullptr)) return s;
    State copy = new_state(dim);
    for (int i = 0; i <= dim; ++i) copy.values[i] = s.values[i];
    return copy;
}

}  // namespace

VECDB_FUNCTION(vecdb_vector_accum) {
    const Vector* v = PG_GETARG_VECTOR_P(1);
    State s = writable_state(fcinfo, v->dim);
    s.values[0] += 1;
    for (int i = 0; i < v->dim; ++i) s.values[i + 1] += v->x[i];
    PG_RETURN_ARRAYTYPE_P(s.array);
}

VECDB_FUNCTION(vecdb_halfvec_accum) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(1);
    State s = writable_state(fcinfo, v->dim);
    s.values[0] += 1;
    for (int i = 0; i < v->dim; ++i) s.values[i + 1] += half_bits_to_double(v->x[i]);
    PG_RETURN_ARRAYTYPE_P(s.array);
}

VECDB_FUNCTION(vecdb_vector_combine) {
    const State b = read_state(PG_GETARG_ARRAYTYPE_P(1));
    State a = read_state(PG_GETARG_ARRAYTYPE_P(0));
    if (b.dim == 0) PG_RETURN_ARRAYTYPE_P(a.array);
    a = writable_state(fcinfo, b.dim);
    for (int i = 0; i <= b.dim; ++i) a.values[i] += b.values[i];
    PG_RETURN_ARRAYTYPE_P(a.array);
}

namespace {

enum class Final { Avg, Sum };

template <Final f>
Datum finish_vector(FunctionCallInfo fcinfo) {
    const State s = read_state(PG_GETARG_ARRAYTYPE_P(0));
    if (s.dim == 0 || s.values[0] == 0) PG_RETURN_NULL();
    Vector* r = vecdb_new_vector(s.dim);
    const double n = f == Final::Avg ? s.values[0] : 1.0;
    for (int i = 0; i < s.dim; ++i) {
        const float x = static_cast<float>(s.values[i + 1] / n);
        if (std::isinf(x)) report_overflow("vector");
        r->x[i] = x;
    }
    PG_RETURN_VECTOR_P(r);
}

template <Final f>
Datum finish_halfvec(FunctionCallInfo fcinfo) {
    const State s = read_state(PG_GETARG_ARRAYTYPE_P(0));
    if (s.dim == 0 || s.values[0] == 0) PG_RETURN_NULL();
    HalfVector* r = vecdb_new_halfvec(s.dim);
    const double n = f == Final::Avg ? s.values[0] : 1.0;
    for (int i = 0; i < s.dim; ++i) {
        const uint16 h = double_to_half_bits(s.values[i + 1] / n);
        if (!half_bits_finite(h)) report_overflow("halfvec");
        r->x[i] = h;
    }
    PG_RETURN_HALFVEC_P(r);
}

}  // namespace

VECDB_FUNCTION(vecdb_vector_avg) { return finish_vector<Final::Avg>(fcinfo); }
VECDB_FUNCTION(vecdb_vector_sum) { return finish_vector<Final::Sum>(fcinfo); }
VECDB_FUNCTION(vecdb_halfvec_avg) { return finish_halfvec<Final::Avg>(fcinfo); }
VECDB_FUNCTION(vecdb_halfvec_sum) { return finish_halfvec<Final::Sum>(fcinfo); }
