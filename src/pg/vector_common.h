// Glue shared by the vector and halfvec SQL functions: dimension checks,
// typmods and the error reports of the text and binary formats. Every
// function here may ereport(ERROR).
#pragma once
#include <cstring>

#include "vecdb/core/binary_format.h"
#include "vecdb/core/text_format.h"
#include "vecdb/pg/vector.h"

extern "C" {
#include "utils/array.h"
}

namespace vecdb::pg {

// 22000 "different vector dimensions 3 and 2".
inline void check_same_dims(int a, int b) {
    if (a != b)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different vector dimensions %d and %d", a, b)));
}

// 22000 "expected 3 dimensions, not 2" when typmod is set (>= 0) and differs.
inline void check_typmod(int dim, int32 typmod) {
    if (typmod >= 0 && dim != typmod)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %d dimensions, not %d", typmod, dim)));
}

// 22023 below 1, 54000 above VECDB_MAX_DIM.
void check_dim(long dim, const char* type_name);

// typmod_in / typmod_out bodies: one integer in [1, VECDB_MAX_DIM].
int32 parse_typmod(ArrayType* modifiers, const char* type_name);
char* format_typmod(int32 typmod);

// Raise the error matching a failed parse of `input` (never returns).
[[noreturn]] void report_text_error(const vecdb::core::TextParse& r, const char* type_name,
                                    const char* input);
[[noreturn]] void report_binary_error(const vecdb::core::BinaryDecode& d, const char* type_name);

// 22003 for an element-wise result that left the type's range.
[[noreturn]] void report_overflow(const char* type_name);
[[noreturn]] void report_underflow(const char* type_name);

// subvector(v, start, count): elements start .. start+count-1 (1-based), the
// range clipped to the vector like substring(); an empty result is 22023.
// V is Vector or HalfVector, make_result its vecdb_new_* constructor.
template <class V>
V* subvector_of(const V* a, int32 start_arg, int32 count, V* (*make_result)(int), const char* type_name) {
    int64 start = start_arg;
    int64 end = start + static_cast<int64>(count);
    if (start < 1) start = 1;
    if (end > a->dim + 1) end = a->dim + 1;
    if (end <= start)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s must have at least 1 dimension", type_name)));
    V* r = make_result(static_cast<int>(end - start));
    std::memcpy(r->x, a->x + (start - 1), sizeof(a->x[0]) * r->dim);
    return r;
}

}  // namespace vecdb::pg
