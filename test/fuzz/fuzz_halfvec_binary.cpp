// libFuzzer target: the halfvec binary (recv) decoder (vecdb/core/binary_format.h).
// ASan guards the input (libFuzzer's buffer is exactly `size` bytes) and the
// output (exactly `capacity` halves). Properties:
//  - the header check and the full decode agree on header errors;
//  - a value that decodes has 4 + 2*dim bytes, finite halves, and encodes
//    back to exactly the input bytes;
//  - with a capacity one less than its dim it is DimTooLarge.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "vecdb/core/binary_format.h"

using namespace vecdb::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t kMaxDim = 16000;
    std::vector<std::uint16_t> v(kMaxDim);
    BinaryDecode d = decode_halfvec_binary(data, size, v.data(), kMaxDim);
    FUZZ_CHECK(binary_status_message(d.status) != nullptr);
    BinaryDecode h = read_binary_header(data, size, sizeof(std::uint16_t), kMaxDim);
    if (h.status != BinaryStatus::Ok) {
        FUZZ_CHECK(d.status == h.status);
        return 0;
    }
    if (d.status != BinaryStatus::Ok) {
        FUZZ_CHECK(d.status == BinaryStatus::NotANumber || d.status == BinaryStatus::Infinite);
        FUZZ_CHECK(d.index < d.dim);
        return 0;
    }
    FUZZ_CHECK(d.dim >= 1 && d.dim <= kMaxDim && size == halfvec_binary_size(d.dim));
    for (std::size_t i = 0; i < d.dim; ++i) FUZZ_CHECK((v[i] & 0x7c00u) != 0x7c00u);  // not Inf/NaN

    std::vector<unsigned char> enc(halfvec_binary_size(d.dim));
    FUZZ_CHECK(encode_halfvec_binary(v.data(), d.dim, enc.data()) == size);
    FUZZ_CHECK(std::memcmp(enc.data(), data, size) == 0);

    std::vector<std::uint16_t> exact(d.dim);  // exact-size output: ASan checks the decoder's writes
    FUZZ_CHECK(decode_halfvec_binary(data, size, exact.data(), d.dim).status == BinaryStatus::Ok);
    if (d.dim > 1) {
        FUZZ_CHECK(decode_halfvec_binary(data, size, exact.data(), d.dim - 1).status == BinaryStatus::DimTooLarge);
    }
    return 0;
}
