// libFuzzer target: the vector text parser and formatter (vecdb/core/text_format.h).
// Properties beyond "no crash, no read past the input" (ASan sees libFuzzer's
// exact-size buffer):
//  - a failure points inside the input;
//  - text that parses has 1..capacity finite elements, formats into the
//    advertised buffer size, and the formatted text parses back to the same
//    bits; formatting that again gives the same text;
//  - the same input with one element less of capacity is TooManyElements.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "vecdb/core/text_format.h"

using namespace vecdb::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const char* text = reinterpret_cast<const char*>(data);
    constexpr std::size_t kMaxDim = 16000;  // VECDB_MAX_DIM
    std::size_t bound = text_element_bound(text, size);
    FUZZ_CHECK(bound >= 1);
    std::size_t capacity = bound < kMaxDim ? bound : kMaxDim;
    std::vector<float> v(capacity);

    TextParse r = parse_vector_text(text, size, v.data(), capacity);
    FUZZ_CHECK(text_status_message(r.status) != nullptr);
    if (r.status != TextStatus::Ok) {
        FUZZ_CHECK(r.pos <= size);
        FUZZ_CHECK(r.pos + r.token_len <= size);
        return 0;
    }
    FUZZ_CHECK(r.dim >= 1 && r.dim <= capacity);
    for (std::size_t i = 0; i < r.dim; ++i) FUZZ_CHECK(std::isfinite(v[i]));

    std::vector<char> out(text_capacity(r.dim));
    std::size_t len = format_vector_text(v.data(), r.dim, out.data(), out.size());
    FUZZ_CHECK(len > 0 && len < out.size() && out[len] == '\0');

    std::vector<float> back(r.dim);
    TextParse r2 = parse_vector_text(out.data(), len, back.data(), r.dim);
    FUZZ_CHECK(r2.status == TextStatus::Ok && r2.dim == r.dim);
    FUZZ_CHECK(std::memcmp(back.data(), v.data(), r.dim * sizeof(float)) == 0);

    std::vector<char> again(text_capacity(r.dim));
    std::size_t len2 = format_vector_text(back.data(), r.dim, again.data(), again.size());
    FUZZ_CHECK(len2 == len && std::memcmp(again.data(), out.data(), len) == 0);

    if (r.dim > 1) {
        TextParse small = parse_vector_text(text, size, back.data(), r.dim - 1);
        FUZZ_CHECK(small.status == TextStatus::TooManyElements);
    }
    return 0;
}
