// halfvec: text and binary I/O, typmod, the length-coercion cast.
#include <cstring>

#include "vector_common.h"

extern "C" {
#include "libpq/pqformat.h"
}

namespace core = vecdb::core;
using namespace vecdb::pg;

HalfVector* vecdb_new_halfvec(int dim) {
    check_dim(dim, "halfvec");
    HalfVector* v = static_cast<HalfVector*>(palloc0(HALFVEC_SIZE(dim)));
    SET_VARSIZE(v, HALFVEC_SIZE(dim));
    v->dim = static_cast<int16>(dim);
    return v;
}

VECDB_FUNCTION(vecdb_halfvec_in) {
    const char* input = PG_GETARG_CSTRING(0);
    const int32 typmod = PG_GETARG_INT32(2);
    const std::size_t len = std::strlen(input);
    std::size_t capacity = core::text_element_bound(input, len);
    if (capacity > VECDB_MAX_DIM) capacity = VECDB_MAX_DIM;

    HalfVector* v = static_cast<HalfVector*>(palloc(HALFVEC_SIZE(capacity)));
    const core::TextParse r = core::parse_halfvec_text(input, len, v->x, capacity);
    if (r.status != core::TextStatus::Ok) report_text_error(r, "halfvec", input);
    check_typmod(static_cast<int>(r.dim), typmod);
    SET_VARSIZE(v, HALFVEC_SIZE(r.dim));
    v->dim = static_cast<int16>(r.dim);
    v->unused = 0;
    PG_RETURN_HALFVEC_P(v);
}

VECDB_FUNCTION(vecdb_halfvec_out) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    const std::size_t capacity = core::text_capacity(v->dim);
    char* out = static_cast<char*>(palloc(capacity));
    if (core::format_halfvec_text(v->x, v->dim, out, capacity) == 0)
        elog(ERROR, "vecdb: halfvec text buffer too small");  // cannot happen: capacity is an upper bound
    PG_RETURN_CSTRING(out);
}

VECDB_FUNCTION(vecdb_halfvec_typmod_in) {
    PG_RETURN_INT32(parse_typmod(PG_GETARG_ARRAYTYPE_P(0), "halfvec"));
}

VECDB_FUNCTION(vecdb_halfvec_typmod_out) {
    PG_RETURN_CSTRING(format_typmod(PG_GETARG_INT32(0)));
}

VECDB_FUNCTION(vecdb_halfvec_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const int32 typmod = PG_GETARG_INT32(2);
    const auto* data = reinterpret_cast<const unsigned char*>(buf->data + buf->cursor);
    const std::size_t len = static_cast<std::size_t>(buf->len - buf->cursor);

    const core::BinaryDecode header = core::read_binary_header(data, len, sizeof(uint16), VECDB_MAX_DIM);
    if (header.status != core::BinaryStatus::Ok) report_binary_error(header, "halfvec");
    HalfVector* v = vecdb_new_halfvec(static_cast<int>(header.dim));
    const core::BinaryDecode d = core::decode_halfvec_binary(data, len, v->x, header.dim);
    if (d.status != core::BinaryStatus::Ok) report_binary_error(d, "halfvec");
    buf->cursor = buf->len;
    check_typmod(v->dim, typmod);
    PG_RETURN_HALFVEC_P(v);
}

VECDB_FUNCTION(vecdb_halfvec_send) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    const std::size_t size = core::halfvec_binary_size(v->dim);
    StringInfoData buf;
    pq_begintypsend(&buf);
    enlargeStringInfo(&buf, static_cast<int>(size));
    core::encode_halfvec_binary(v->x, v->dim, reinterpret_cast<unsigned char*>(buf.data + buf.len));
    buf.len += static_cast<int>(size);
    buf.data[buf.len] = '\0';
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

VECDB_FUNCTION(vecdb_halfvec_typmod_cast) {
    HalfVector* v = PG_GETARG_HALFVEC_P(0);
    check_typmod(v->dim, PG_GETARG_INT32(1));
    PG_RETURN_HALFVEC_P(v);
}
