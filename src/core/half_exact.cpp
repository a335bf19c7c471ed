#include "vecdb/core/half_exact.h"
#include "vecdb/core/no_postgres.h"

#include <cmath>
#include <cstring>

namespace vecdb::core {

double half_bits_to_double(std::uint16_t h) noexcept {
    const bool negative = (h & 0x8000u) != 0;
    const int exponent = (h >> 10) & 0x1f;
    const int mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = std::ldexp(static_cast<double>(mantissa), -24);
    else if (exponent == 31)
        v = mantissa ? NAN : INFINITY;
    else
        v = std::ldexp(static_cast<double>(1024 + mantissa), exponent - 25);
    return negative ? -v : v;
}

std::uint16_t double_to_half_bits(double d) noexcept {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 48) & 0x8000u);
    const int biased = static_cast<int>((bits >> 52) & 0x7ff);
    const std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);

    if (biased == 0x7ff) return sign | 0x7c00u | (fraction ? 0x200u : 0u);
    if (biased == 0) return sign;  // double subnormals are far below half's range
    const int e = biased - 1023;   // value = 1.fraction * 2^e
    if (e > 15) return sign | 0x7c00u;
    if (e < -25) return sign;      // below half the smallest subnormal: rounds to zero

    const std::uint64_t significand = fraction | (std::uint64_t{1} << 52);
    // Keep 11 significant bits for a normal half; fewer for a subnormal one,
    // whose unit is 2^-24.
    const bool subnormal = e < -14;
    const int drop = subnormal ? 42 + (-14 - e) : 42;
    std::uint64_t kept = significand >> drop;
    const std::uint64_t rest = significand & ((std::uint64_t{1} << drop) - 1);
    const std::uint64_t tie = std::uint64_t{1} << (drop - 1);
    if (rest > tie || (rest == tie && (kept & 1))) ++kept;

    if (subnormal)  // kept <= 1024; 1024 is exactly the smallest normal's bit pattern
        return static_cast<std::uint16_t>(sign | kept);
    int exponent = e + 15;
    if (kept == 2048) {
        kept = 1024;
        ++exponent;
    }
    if (exponent >= 31) return sign | 0x7c00u;
    return static_cast<std::uint16_t>(sign | (exponent << 10) | (kept & 0x3ff));
}

}  // namespace vecdb::core
