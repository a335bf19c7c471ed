// On-disk and in-memory layout of the two vector types. Both are varlenas:
//   int32 varlena header | int16 dim | int16 unused (always 0) | elements
// vector stores float32 elements, halfvec IEEE float16 bit patterns.
#pragma once
#include <cstdint>
#include "vecdb/pg/pg_includes.h"

#define VECDB_MAX_DIM 16000

struct Vector {
    int32 vl_len_;
    int16 dim;
    int16 unused;
    float x[FLEXIBLE_ARRAY_MEMBER];
};

struct HalfVector {
    int32 vl_len_;
    int16 dim;
    int16 unused;
    std::uint16_t x[FLEXIBLE_ARRAY_MEMBER];
};

#define VECTOR_SIZE(dim) (offsetof(Vector, x) + sizeof(float) * (dim))
#define HALFVEC_SIZE(dim) (offsetof(HalfVector, x) + sizeof(std::uint16_t) * (dim))

#define DatumGetVector(d) ((Vector*)PG_DETOAST_DATUM(d))
#define PG_GETARG_VECTOR_P(n) DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(p) PG_RETURN_POINTER(p)
#define DatumGetHalfVector(d) ((HalfVector*)PG_DETOAST_DATUM(d))
#define PG_GETARG_HALFVEC_P(n) DatumGetHalfVector(PG_GETARG_DATUM(n))
#define PG_RETURN_HALFVEC_P(p) PG_RETURN_POINTER(p)

// palloc0'd, header set, elements zero. Raises on bad dim.
Vector* vecdb_new_vector(int dim);
HalfVector* vecdb_new_halfvec(int dim);
