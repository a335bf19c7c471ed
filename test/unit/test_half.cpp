// float16 conversion: exactness of widening, round-to-nearest-even narrowing,
// overflow and subnormals, and bit-identical bulk conversion on every path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "vecdb/core/distance.h"
#include "vecdb/core/half.h"

using namespace vecdb::core;

namespace {

std::uint32_t bits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float from_bits(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
bool half_is_nan(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }

// Independent decoding straight from the IEEE definition.
double reference_value(std::uint16_t h) {
    const int sign = (h & 0x8000) ? -1 : 1;
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    if (exp == 0x1f) return mant ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
    if (exp == 0) return sign * std::ldexp(mant, -24);
    return sign * std::ldexp(1024 + mant, exp - 25);
}

// Nearest half to x (ties to even), by search over the finite halves.
std::uint16_t reference_narrow(double x) {
    static const std::vector<double> positives = [] {
        std::vector<double> v;
        for (std::uint32_t h = 0; h <= 0x7bff; ++h) v.push_back(reference_value(static_cast<std::uint16_t>(h)));
        v.push_back(65536.0);  // where 0x7c00 would sit with an unbounded exponent: rounding there means Inf
        return v;
    }();
    const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
    const double a = std::fabs(x);
    if (a >= 65536.0) return sign | 0x7c00;
    auto it = std::lower_bound(positives.begin(), positives.end(), a);
    const auto hi = static_cast<std::uint16_t>(it - positives.begin());
    if (positives[hi] == a) return sign | hi;
    const auto lo = static_cast<std::uint16_t>(hi - 1);
    const double dlo = a - positives[lo], dhi = positives[hi] - a;
    if (dlo < dhi) return sign | lo;
    if (dhi < dlo) return sign | hi;
    return sign | ((lo & 1) ? hi : lo);
}

std::vector<SimdPath> available_paths() {
    std::vector<SimdPath> out;
    for (SimdPath p : {SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512})
        if (kernels_for(p) != nullptr) out.push_back(p);
    return out;
}

// Floats around every rounding decision: each half, each midpoint between
// neighbours, and one float ulp either side, both signs; plus specials.
std::vector<float> interesting_floats() {
    std::vector<float> v;
    for (std::uint32_t h = 0; h < 0x7c00; ++h) {
        const float lo = half_to_float(static_cast<std::uint16_t>(h));
        const float hi = h + 1 < 0x7c00 ? half_to_float(static_cast<std::uint16_t>(h + 1)) : 65536.0f;
        const float mid = lo + (hi - lo) / 2;  // exact: 12 significant bits at most
        for (float f : {lo, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, HUGE_VALF)}) {
            v.push_back(f);
            v.push_back(-f);
        }
    }
    for (std::uint32_t u : {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7fbfffffu,
                            0x7f7fffffu, 0x00000001u, 0x80000001u, 0x33000000u, 0x33000001u, 0x387fc000u})
        v.push_back(from_bits(u));
    std::mt19937 rng(7);
    for (int i = 0; i < 200000; ++i) v.push_back(from_bits(rng()));
    return v;
}

}  // namespace

TEST(Half, WideningIsExactForEveryPattern) {
    for (std::uint32_t u = 0; u < 0x10000; ++u) {
        const auto h = static_cast<std::uint16_t>(u);
        const float f = half_to_float(h);
        if (half_is_nan(h)) {
            ASSERT_TRUE(std::isnan(f)) << std::hex << u;
            EXPECT_EQ(std::signbit(f), (u & 0x8000) != 0) << std::hex << u;
            continue;
        }
        ASSERT_EQ(static_cast<double>(f), reference_value(h)) << std::hex << u;
        ASSERT_EQ(std::signbit(f), (u & 0x8000) != 0) << std::hex << u;  // -0 stays -0
    }
}

TEST(Half, EveryPatternRoundTrips) {
    for (std::uint32_t u = 0; u < 0x10000; ++u) {
        const auto h = static_cast<std::uint16_t>(u);
        const std::uint16_t back = float_to_half(half_to_float(h));
        if (half_is_nan(h)) {
            // NaN stays NaN with its sign and payload; a signalling NaN comes back quiet.
            EXPECT_EQ(back, h | 0x0200) << std::hex << u;
        } else {
            ASSERT_EQ(back, h) << std::hex << u;
        }
    }
}

TEST(Half, NarrowingRoundsToNearestEven) {
    // Midpoints between neighbours go to the even one; one float ulp off, to the nearer.
    for (std::uint32_t h = 0; h + 1 < 0x7c00; ++h) {
        const float lo = half_to_float(static_cast<std::uint16_t>(h));
        const float hi = half_to_float(static_cast<std::uint16_t>(h + 1));
        const float mid = lo + (hi - lo) / 2;
        const auto even = static_cast<std::uint16_t>((h & 1) ? h + 1 : h);
        ASSERT_EQ(float_to_half(mid), even) << std::hex << h;
        ASSERT_EQ(float_to_half(-mid), even | 0x8000) << std::hex << h;
        ASSERT_EQ(float_to_half(std::nextafter(mid, 0.0f)), h) << std::hex << h;
        ASSERT_EQ(float_to_half(std::nextafter(mid, HUGE_VALF)), h + 1) << std::hex << h;
    }
}

TEST(Half, NarrowingMatchesReferenceOnRandomFloats) {
    std::mt19937 rng(1);
    for (int i = 0; i < 2000000; ++i) {
        const float f = from_bits(rng());
        if (std::isnan(f)) continue;
        ASSERT_EQ(float_to_half(f), reference_narrow(f)) << f;
    }
}

TEST(Half, OverflowBecomesInfinity) {
    EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
    EXPECT_EQ(float_to_half(std::nextafter(65520.0f, 0.0f)), 0x7bff);
    EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // tie between 65504 (odd) and 65536: even = Inf
    EXPECT_EQ(float_to_half(1e5f), 0x7c00);
    EXPECT_EQ(float_to_half(-1e5f), 0xfc00);
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::max()), 0x7c00);
    EXPECT_EQ(float_to_half(HUGE_VALF), 0x7c00);
    EXPECT_EQ(float_to_half(-HUGE_VALF), 0xfc00);
    EXPECT_FALSE(half_is_finite(float_to_half(70000.0f)));
    EXPECT_TRUE(half_is_finite(float_to_half(kHalfMax)));
}

TEST(Half, Subnormals) {
    const float unit = std::ldexp(1.0f, -24);                      // smallest subnormal half
    EXPECT_EQ(half_to_float(0x0001), unit);
    EXPECT_EQ(half_to_float(0x03ff), 1023 * unit);                 // largest subnormal
    EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));       // smallest normal
    EXPECT_EQ(float_to_half(unit), 0x0001);
    EXPECT_EQ(float_to_half(unit / 2), 0x0000);                    // tie -> even (0)
    EXPECT_EQ(float_to_half(-unit / 2), 0x8000);
    EXPECT_EQ(float_to_half(std::nextafter(unit / 2, 1.0f)), 0x0001);
    EXPECT_EQ(float_to_half(1.5f * unit), 0x0002);                 // tie -> even (2)
    EXPECT_EQ(float_to_half(2.5f * unit), 0x0002);                 // tie -> even (2)
    EXPECT_EQ(float_to_half(1023.5f * unit), 0x0400);              // rounds up into the normals
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -30)), 0x0000);
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000);
    EXPECT_EQ(float_to_half(-0.0f), 0x8000);
}

TEST(Half, BulkWideningEqualsScalarOnEveryPath) {
    std::vector<std::uint16_t> all(0x10000 + 3);
    for (std::uint32_t u = 0; u < all.size(); ++u) all[u] = static_cast<std::uint16_t>(u * 40503u);  // a permutation
    for (SimdPath p : available_paths()) {
        const Kernels& k = *kernels_for(p);
        for (std::size_t off : {0, 1, 3}) {
            for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{15},
                                  std::size_t{17}, std::size_t{33}, std::size_t{0x10000}}) {
                std::vector<float> out(n + 1, 42.0f);
                k.halves_to_floats(all.data() + off, out.data(), n);
                for (std::size_t i = 0; i < n; ++i)
                    ASSERT_EQ(bits(out[i]), bits(half_to_float(all[off + i])))
                        << simd_path_name(p) << " n=" << n << " i=" << i;
                ASSERT_EQ(out[n], 42.0f) << "wrote past the end on " << simd_path_name(p);
            }
        }
    }
}

TEST(Half, BulkNarrowingEqualsScalarOnEveryPath) {
    const std::vector<float> in = interesting_floats();
    for (SimdPath p : available_paths()) {
        const Kernels& k = *kernels_for(p);
        for (std::size_t off : {0, 1, 2}) {
            for (std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{9}, std::size_t{31},
                                  in.size() - off}) {
                std::vector<std::uint16_t> out(n + 1, 0xabcd);
                k.floats_to_halves(in.data() + off, out.data(), n);
                for (std::size_t i = 0; i < n; ++i)
                    ASSERT_EQ(out[i], float_to_half(in[off + i]))
                        << simd_path_name(p) << " input bits " << std::hex << bits(in[off + i]);
                ASSERT_EQ(out[n], 0xabcd) << "wrote past the end on " << simd_path_name(p);
            }
        }
    }
}

TEST(Half, PublicBulkFunctionsFollowTheActivePath) {
    const SimdPath before = kernels().path;
    const std::vector<float> in = {1.0f, 65519.0f, 1e-7f, -3.25f, 1e9f, 0.1f, 2.0f, 3.0f, 4.0f};
    for (SimdPath p : available_paths()) {
        ASSERT_TRUE(select_simd_path(p));
        std::vector<std::uint16_t> h(in.size());
        std::vector<float> back(in.size());
        floats_to_halves(in.data(), h.data(), in.size());
        halves_to_floats(h.data(), back.data(), h.size());
        for (std::size_t i = 0; i < in.size(); ++i) {
            EXPECT_EQ(h[i], float_to_half(in[i]));
            EXPECT_EQ(bits(back[i]), bits(half_to_float(h[i])));
        }
    }
    select_simd_path(before);
}
