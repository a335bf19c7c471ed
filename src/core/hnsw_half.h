// Private float16 <-> float32 conversion for the HNSW core (exact, round to
// nearest even), so the graph code does not depend on which kernel files are
// linked. Only used off the hot distance path (storing, normalising).
#pragma once
#include <cstdint>
#include <cstring>

namespace vecdb::core::hnsw::detail {

inline float h2f(std::uint16_t h) noexcept {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t man = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {  // subnormal: normalise
        int e = -1;
        do {
            ++e;
            man <<= 1;
        } while (!(man & 0x400u));
        bits = sign | (std::uint32_t(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline std::uint16_t f2h(float f) noexcept {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint16_t sign = std::uint16_t((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return std::uint16_t(sign | 0x7c00u | (x > 0x7f800000u ? 0x200u : 0));
    if (x >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to >= 65520: Inf
    if (x < 0x33000001u) return sign;                              // < half the smallest subnormal
    std::uint32_t exp = x >> 23;
    std::uint32_t man = (x & 0x7fffffu) | 0x800000u;
    int shift;
    std::uint32_t base;
    if (exp < 113) {  // subnormal half
        shift = int(126 - exp);  // 14 + (113 - exp) - 1 ... yields man >> shift in [1, 0x3ff]
        base = 0;
    } else {
        shift = 13;
        base = (exp - 112) << 10;
        man &= 0x7fffffu;
    }
    const std::uint32_t q = man >> shift;
    const std::uint32_t rem = man & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    std::uint32_t r = base + q;
    if (rem > halfway || (rem == halfway && (q & 1u))) ++r;  // carries into the exponent correctly
    return std::uint16_t(sign | r);
}

}  // namespace vecdb::core::hnsw::detail
