// Private: the scalar float16 <-> float32 conversions as inline functions, so
// the scalar kernels convert without a call per element. Baseline (no ISA
// flags) translation units only. Internal linkage: no weak symbol can be
// shared with an object built with other ISA flags.
#pragma once
#include <cstdint>
#include <cstring>

namespace vecdb::core::scalar_half {
namespace {

inline float bits_to_float(std::uint32_t u) noexcept {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

inline std::uint32_t float_to_bits(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

// Exact. NaNs stay NaN, are made quiet and keep sign and payload, as F16C's
// VCVTPH2PS does (so the bulk paths agree bit for bit).
inline float to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    const std::uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) {
        const std::uint32_t quiet = mant != 0 ? 0x400000u : 0u;
        return bits_to_float(sign | 0x7f800000u | quiet | (mant << 13));
    }
    if (exp == 0) {
        // Zero or subnormal: mant * 2^-24, exact in float.
        const float v = static_cast<float>(mant) * 0x1p-24f;
        return bits_to_float(sign | float_to_bits(v));
    }
    return bits_to_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

// Round to nearest, ties to even; overflow -> ±Inf; NaN -> quiet NaN keeping
// sign and the top payload bits (VCVTPS2PH behaviour).
inline std::uint16_t from_float(float f) noexcept {
    std::uint32_t x = float_to_bits(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) {
        if (x == 0x7f800000u) return sign | 0x7c00u;
        return static_cast<std::uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
    }
    if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520: rounds past 65504
    if (x >= 0x38800000u) {                         // normal half (>= 2^-14)
        std::uint32_t h = (x - (112u << 23)) >> 13;
        const std::uint32_t rest = x & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carry may bump the exponent: right
        return static_cast<std::uint16_t>(sign | h);
    }
    // Subnormal half: count units of 2^-24.
    const std::uint32_t e = x >> 23;
    if (e < 102) return sign;  // below 2^-25: rounds to zero
    const std::uint32_t m = (x & 0x7fffffu) | 0x800000u;  // value = m * 2^(e-150)
    const std::uint32_t shift = 126 - e;                  // 14 .. 24
    std::uint32_t h = m >> shift;
    const std::uint32_t rest = m & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
}

}  // namespace
}  // namespace vecdb::core::scalar_half
