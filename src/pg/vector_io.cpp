// vector: text and binary I/O, typmod, the length-coercion cast.
#include <cstring>

#include "vector_common.h"

extern "C" {
#include "libpq/pqformat.h"
}

namespace core = vecdb::core;
using namespace vecdb::pg;

Vector* vecdb_new_vector(int dim) {
    check_dim(dim, "vector");
    Vector* v = static_cast<Vector*>(palloc0(VECTOR_SIZE(dim)));
    SET_VARSIZE(v, VECTOR_SIZE(dim));
    v->dim = static_cast<int16>(dim);
    return v;
}

VECDB_FUNCTION(vecdb_vector_in) {
    const char* input = PG_GETARG_CSTRING(0);
    const int32 typmod = PG_GETARG_INT32(2);
    const std::size_t len = std::strlen(input);
    // Commas + 1 bounds the element count; beyond the limit the parser itself
    // reports TooManyElements (or an earlier syntax error).
    std::size_t capacity = core::text_element_bound(input, len);
    if (capacity > VECDB_MAX_DIM) capacity = VECDB_MAX_DIM;

    Vector* v = static_cast<Vector*>(palloc(VECTOR_SIZE(capacity)));
    const core::TextParse r = core::parse_vector_text(input, len, v->x, capacity);
    if (r.status != core::TextStatus::Ok) report_text_error(r, "vector", input);
    check_typmod(static_cast<int>(r.dim), typmod);
    SET_VARSIZE(v, VECTOR_SIZE(r.dim));
    v->dim = static_cast<int16>(r.dim);
    v->unused = 0;
    PG_RETURN_VECTOR_P(v);
}

VECDB_FUNCTION(vecdb_vector_out) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    const std::size_t capacity = core::text_capacity(v->dim);
    char* out = static_cast<char*>(palloc(capacity));
    if (core::format_vector_text(v->x, v->dim, out, capacity) == 0)
        elog(ERROR, "vecdb: vector text buffer too small");  // cannot happen: capacity is an upper bound
    PG_RETURN_CSTRING(out);
}

VECDB_FUNCTION(vecdb_vector_typmod_in) {
    PG_RETURN_INT32(parse_typmod(PG_GETARG_ARRAYTYPE_P(0), "vector"));
}

VECDB_FUNCTION(vecdb_vector_typmod_out) {
    PG_RETURN_CSTRING(format_typmod(PG_GETARG_INT32(0)));
}

VECDB_FUNCTION(vecdb_vector_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const int32 typmod = PG_GETARG_INT32(2);
    const auto* data = reinterpret_cast<const unsigned char*>(buf->data + buf->cursor);
    const std::size_t len = static_cast<std::size_t>(buf->len - buf->cursor);

    const core::BinaryDecode header = core::read_binary_header(data, len, sizeof(float), VECDB_MAX_DIM);
    if (header.status != core::BinaryStatus::Ok) report_binary_error(header, "vector");
    Vector* v = vecdb_new_vector(static_cast<int>(header.dim));
    const core::BinaryDecode d = core::decode_vector_binary(data, len, v->x, header.dim);
    if (d.status != core::BinaryStatus::Ok) report_binary_error(d, "vector");
    buf->cursor = buf->len;
    check_typmod(v->dim, typmod);
    PG_RETURN_VECTOR_P(v);
}

VECDB_FUNCTION(vecdb_vector_send) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    const std::size_t size = core::vector_binary_size(v->dim);
    StringInfoData buf;
    pq_begintypsend(&buf);
    enlargeStringInfo(&buf, static_cast<int>(size));
    core::encode_vector_binary(v->x, v->dim, reinterpret_cast<unsigned char*>(buf.data + buf.len));
    buf.len += static_cast<int>(size);
    buf.data[buf.len] = '\0';
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// vector(vector, typmod, explicit): enforces vector(n) on assignment and casts.
VECDB_FUNCTION(vecdb_vector_typmod_cast) {
    Vector* v = PG_GETARG_VECTOR_P(0);
    check_typmod(v->dim, PG_GETARG_INT32(1));
    PG_RETURN_VECTOR_P(v);
}
