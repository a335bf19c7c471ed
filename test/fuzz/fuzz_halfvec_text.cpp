// libFuzzer target: the halfvec text parser and formatter (vecdb/core/text_format.h).
// Same properties as fuzz_vector_text, on float16 bit patterns: parsed
// elements are finite halves, and format → parse gives back the same bits.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "vecdb/core/text_format.h"

using namespace vecdb::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const char* text = reinterpret_cast<const char*>(data);
    constexpr std::size_t kMaxDim = 16000;
    std::size_t bound = text_element_bound(text, size);
    FUZZ_CHECK(bound >= 1);
    std::size_t capacity = bound < kMaxDim ? bound : kMaxDim;
    std::vector<std::uint16_t> v(capacity);

    TextParse r = parse_halfvec_text(text, size, v.data(), capacity);
    FUZZ_CHECK(text_status_message(r.status) != nullptr);
    if (r.status != TextStatus::Ok) {
        FUZZ_CHECK(r.pos <= size);
        FUZZ_CHECK(r.pos + r.token_len <= size);
        return 0;
    }
    FUZZ_CHECK(r.dim >= 1 && r.dim <= capacity);
    for (std::size_t i = 0; i < r.dim; ++i) FUZZ_CHECK((v[i] & 0x7c00u) != 0x7c00u);  // not Inf/NaN

    std::vector<char> out(text_capacity(r.dim));
    std::size_t len = format_halfvec_text(v.data(), r.dim, out.data(), out.size());
    FUZZ_CHECK(len > 0 && len < out.size() && out[len] == '\0');

    std::vector<std::uint16_t> back(r.dim);
    TextParse r2 = parse_halfvec_text(out.data(), len, back.data(), r.dim);
    FUZZ_CHECK(r2.status == TextStatus::Ok && r2.dim == r.dim);
    FUZZ_CHECK(std::memcmp(back.data(), v.data(), r.dim * sizeof(std::uint16_t)) == 0);

    if (r.dim > 1) {
        TextParse small = parse_halfvec_text(text, size, back.data(), r.dim - 1);
        FUZZ_CHECK(small.status == TextStatus::TooManyElements);
    }
    return 0;
}
