#include "vector_common.h"

namespace vecdb::pg {

using vecdb::core::BinaryStatus;
using vecdb::core::TextStatus;

void check_dim(long dim, const char* type_name) {
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("%s must have at least 1 dimension", type_name)));
    if (dim > VECDB_MAX_DIM)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%s cannot have more than %d dimensions", type_name, VECDB_MAX_DIM)));
}

int32 parse_typmod(ArrayType* modifiers, const char* type_name) {
    int n = 0;
    int32* values = ArrayGetIntegerTypmods(modifiers, &n);
    if (n != 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("invalid type modifier"),
                        errdetail("Type %s takes one modifier: the number of dimensions.", type_name)));
    if (values[0] < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("dimensions for type %s must be at least 1", type_name)));
    if (values[0] > VECDB_MAX_DIM)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("dimensions for type %s cannot exceed %d", type_name, VECDB_MAX_DIM)));
    return values[0];
}

char* format_typmod(int32 typmod) {
    return typmod < 0 ? pstrdup("") : psprintf("(%d)", typmod);
}

void report_text_error(const vecdb::core::TextParse& r, const char* type_name, const char* input) {
    const int position = static_cast<int>(r.pos) + 1;
    switch (r.status) {
        case TextStatus::Empty:
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("%s must have at least 1 dimension", type_name)));
            break;
        case TextStatus::TooManyElements:
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("%s cannot have more than %d dimensions", type_name, VECDB_MAX_DIM)));
            break;
        case TextStatus::NotANumber:
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("NaN not allowed in %s", type_name),
                            errdetail("Element %zu, at position %d.", r.dim + 1, position)));
            break;
        case TextStatus::Infinite:
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("infinite value not allowed in %s", type_name),
                            errdetail("Element %zu, at position %d.", r.dim + 1, position)));
            break;
        case TextStatus::OutOfRange:
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                            errmsg("\"%.*s\" is out of range for type %s", static_cast<int>(r.token_len),
                                   input + r.pos, type_name),
                            errdetail("Element %zu, at position %d.", r.dim + 1, position)));
            break;
        default:
            ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                            errmsg("invalid input syntax for type %s: \"%s\"", type_name, input),
                            errdetail("At position %d: %s.", position, vecdb::core::text_status_message(r.status))));
    }
    pg_unreachable();
}

void report_binary_error(const vecdb::core::BinaryDecode& d, const char* type_name) {
    switch (d.status) {
        case BinaryStatus::DimTooSmall:
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("%s must have at least 1 dimension", type_name)));
            break;
        case BinaryStatus::DimTooLarge:
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("%s cannot have more than %d dimensions", type_name, VECDB_MAX_DIM)));
            break;
        case BinaryStatus::NotANumber:
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("NaN not allowed in %s", type_name),
                            errdetail("Element %zu.", d.index + 1)));
            break;
        case BinaryStatus::Infinite:
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("infinite value not allowed in %s", type_name),
                            errdetail("Element %zu.", d.index + 1)));
            break;
        case BinaryStatus::NonZeroUnused:
            ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                            errmsg("invalid binary %s: expected unused to be 0, not %d", type_name, d.unused)));
            break;
        case BinaryStatus::LengthMismatch:
            ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                            errmsg("invalid binary %s: payload length does not match %zu dimensions", type_name,
                                   d.dim)));
            break;
        default:
            ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                            errmsg("invalid binary %s: %s", type_name,
                                   vecdb::core::binary_status_message(d.status))));
    }
    pg_unreachable();
}

void report_overflow(const char* type_name) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("value out of range for type %s: overflow", type_name)));
    pg_unreachable();
}

void report_underflow(const char* type_name) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("value out of range for type %s: underflow", type_name)));
    pg_unreachable();
}

}  // namespace vecdb::pg
