// Private: the SIMD kernel bodies, written once over an instruction-set policy
// `Isa` that each architecture translation unit (src/core/avx2, src/core/avx512)
// defines in its own unnamed namespace. Because the policy type has internal
// linkage, every instantiation of these templates has internal linkage too: no
// weak (COMDAT) symbol compiled with AVX-512 flags can be picked by the linker
// for the AVX2 or scalar path. Helpers that are not templates sit in an
// unnamed namespace for the same reason.
//
// An Isa provides:
//   using vec;  static constexpr std::size_t width;
//   static vec zero();
//   static vec load(const float*), load(const half_bits*)          // width lanes, unaligned
//   static vec load_tail(const float*, k), load_tail(const half_bits*, k)  // k < width lanes, rest 0
//   static vec fma(vec a, vec b, vec c)                              // a*b+c, fused
//   static vec abs(vec);  static float sum(vec);
//   static constexpr int cosine_unroll;                              // 2 or 4
//
// Accuracy: every path accumulates in float32; see distance.h for the bound.
#pragma once
#include "vecdb/core/distance.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace vecdb::core::simd {
namespace {

// Cosine distance from the three sums. The final combination runs in double:
// aa * bb would overflow float for norms beyond ~1.8e19, and this way the
// only float32 errors are those of the sums.
inline float cosine_from_sums(float ab, float aa, float bb) noexcept {
    if (aa == 0.0f || bb == 0.0f) return std::numeric_limits<float>::quiet_NaN();
    double c = static_cast<double>(ab) / std::sqrt(static_cast<double>(aa) * static_cast<double>(bb));
    // NaN (from NaN/Inf inputs) falls through both tests and stays NaN.
    if (c > 1.0)
        c = 1.0;
    else if (c < -1.0)
        c = -1.0;
    return static_cast<float>(1.0 - c);
}

// Elements to handle with one masked load so that `p + result` is aligned to
// a full vector load (64 bytes for AVX-512 float32). A load that straddles
// two cache lines costs two: with both operands misaligned (vectors behind an
// 8-byte varlena header are) the main loop runs at half speed; aligning one
// operand removes half of the splits, both when they share the offset.
template <class Isa, class T>
inline std::size_t head_to_align(const T* p, std::size_t n) noexcept {
    constexpr std::size_t bytes = Isa::width * sizeof(T);
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    if (addr % sizeof(T) != 0) return 0;
    const std::size_t k = ((bytes - addr % bytes) % bytes) / sizeof(T);
    return k < n ? k : n;
}

// Four independent accumulators: enough to cover the FMA latency (4 cycles)
// at the one-FMA-per-cycle rate the two loads per FMA allow.
template <class Isa, class TA, class TB>
inline float l2sq(const TA* a, const TB* b, std::size_t n) noexcept {
    using V = typename Isa::vec;
    constexpr std::size_t W = Isa::width;
    V s0 = Isa::zero(), s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = head_to_align<Isa>(a, n);
    if (i != 0) {
        const V d = Isa::load_tail(a, i) - Isa::load_tail(b, i);
        s2 = Isa::fma(d, d, s2);
    }
    for (; i + 4 * W <= n; i += 4 * W) {
        const V d0 = Isa::load(a + i) - Isa::load(b + i);
        const V d1 = Isa::load(a + i + W) - Isa::load(b + i + W);
        const V d2 = Isa::load(a + i + 2 * W) - Isa::load(b + i + 2 * W);
        const V d3 = Isa::load(a + i + 3 * W) - Isa::load(b + i + 3 * W);
        s0 = Isa::fma(d0, d0, s0);
        s1 = Isa::fma(d1, d1, s1);
        s2 = Isa::fma(d2, d2, s2);
        s3 = Isa::fma(d3, d3, s3);
    }
    for (; i + W <= n; i += W) {
        const V d = Isa::load(a + i) - Isa::load(b + i);
        s0 = Isa::fma(d, d, s0);
    }
    if (i < n) {
        const V d = Isa::load_tail(a + i, n - i) - Isa::load_tail(b + i, n - i);
        s1 = Isa::fma(d, d, s1);
    }
    return Isa::sum((s0 + s1) + (s2 + s3));
}

template <class Isa, class TA, class TB>
inline float dot(const TA* a, const TB* b, std::size_t n) noexcept {
    using V = typename Isa::vec;
    constexpr std::size_t W = Isa::width;
    V s0 = Isa::zero(), s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = head_to_align<Isa>(a, n);
    if (i != 0) s2 = Isa::fma(Isa::load_tail(a, i), Isa::load_tail(b, i), s2);
    for (; i + 4 * W <= n; i += 4 * W) {
        s0 = Isa::fma(Isa::load(a + i), Isa::load(b + i), s0);
        s1 = Isa::fma(Isa::load(a + i + W), Isa::load(b + i + W), s1);
        s2 = Isa::fma(Isa::load(a + i + 2 * W), Isa::load(b + i + 2 * W), s2);
        s3 = Isa::fma(Isa::load(a + i + 3 * W), Isa::load(b + i + 3 * W), s3);
    }
    for (; i + W <= n; i += W) s0 = Isa::fma(Isa::load(a + i), Isa::load(b + i), s0);
    if (i < n) s1 = Isa::fma(Isa::load_tail(a + i, n - i), Isa::load_tail(b + i, n - i), s1);
    return Isa::sum((s0 + s1) + (s2 + s3));
}

template <class Isa, class TA, class TB>
inline float l1(const TA* a, const TB* b, std::size_t n) noexcept {
    using V = typename Isa::vec;
    constexpr std::size_t W = Isa::width;
    V s0 = Isa::zero(), s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = head_to_align<Isa>(a, n);
    if (i != 0) s2 = Isa::abs(Isa::load_tail(a, i) - Isa::load_tail(b, i));
    for (; i + 4 * W <= n; i += 4 * W) {
        s0 = s0 + Isa::abs(Isa::load(a + i) - Isa::load(b + i));
        s1 = s1 + Isa::abs(Isa::load(a + i + W) - Isa::load(b + i + W));
        s2 = s2 + Isa::abs(Isa::load(a + i + 2 * W) - Isa::load(b + i + 2 * W));
        s3 = s3 + Isa::abs(Isa::load(a + i + 3 * W) - Isa::load(b + i + 3 * W));
    }
    for (; i + W <= n; i += W) s0 = s0 + Isa::abs(Isa::load(a + i) - Isa::load(b + i));
    if (i < n) s1 = s1 + Isa::abs(Isa::load_tail(a + i, n - i) - Isa::load_tail(b + i, n - i));
    return Isa::sum((s0 + s1) + (s2 + s3));
}

// One load per FMA: the FMA pipes, not the loads, bound this one.
template <class Isa, class T>
inline float sumsq(const T* a, std::size_t n) noexcept {
    using V = typename Isa::vec;
    constexpr std::size_t W = Isa::width;
    V s0 = Isa::zero(), s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = head_to_align<Isa>(a, n);
    if (i != 0) {
        const V x = Isa::load_tail(a, i);
        s2 = Isa::fma(x, x, s2);
    }
    for (; i + 4 * W <= n; i += 4 * W) {
        const V x0 = Isa::load(a + i), x1 = Isa::load(a + i + W);
        const V x2 = Isa::load(a + i + 2 * W), x3 = Isa::load(a + i + 3 * W);
        s0 = Isa::fma(x0, x0, s0);
        s1 = Isa::fma(x1, x1, s1);
        s2 = Isa::fma(x2, x2, s2);
        s3 = Isa::fma(x3, x3, s3);
    }
    for (; i + W <= n; i += W) {
        const V x = Isa::load(a + i);
        s0 = Isa::fma(x, x, s0);
    }
    if (i < n) {
        const V x = Isa::load_tail(a + i, n - i);
        s1 = Isa::fma(x, x, s1);
    }
    return Isa::sum((s0 + s1) + (s2 + s3));
}

// Fused cosine: a.b, |a|^2 and |b|^2 in one pass over the data, each with
// `cosine_unroll` accumulators (3 * 4 = 12 registers fit AVX-512's 32; AVX2's
// 16 registers take 3 * 2).
template <class Isa, class TA, class TB>
inline float cosine(const TA* a, const TB* b, std::size_t n) noexcept {
    using V = typename Isa::vec;
    constexpr std::size_t W = Isa::width;
    constexpr int U = Isa::cosine_unroll;
    static_assert(U == 2 || U == 4, "cosine_unroll must be 2 or 4");
    V ab0 = Isa::zero(), ab1 = ab0, ab2 = ab0, ab3 = ab0;
    V aa0 = ab0, aa1 = ab0, aa2 = ab0, aa3 = ab0;
    V bb0 = ab0, bb1 = ab0, bb2 = ab0, bb3 = ab0;
    std::size_t i = head_to_align<Isa>(a, n);
    if (i != 0) {
        const V x = Isa::load_tail(a, i), y = Isa::load_tail(b, i);
        ab2 = Isa::fma(x, y, ab2);
        aa2 = Isa::fma(x, x, aa2);
        bb2 = Isa::fma(y, y, bb2);
    }
    for (; i + U * W <= n; i += U * W) {
        const V x0 = Isa::load(a + i), y0 = Isa::load(b + i);
        const V x1 = Isa::load(a + i + W), y1 = Isa::load(b + i + W);
        ab0 = Isa::fma(x0, y0, ab0);
        aa0 = Isa::fma(x0, x0, aa0);
        bb0 = Isa::fma(y0, y0, bb0);
        ab1 = Isa::fma(x1, y1, ab1);
        aa1 = Isa::fma(x1, x1, aa1);
        bb1 = Isa::fma(y1, y1, bb1);
        if constexpr (U == 4) {
            const V x2 = Isa::load(a + i + 2 * W), y2 = Isa::load(b + i + 2 * W);
            const V x3 = Isa::load(a + i + 3 * W), y3 = Isa::load(b + i + 3 * W);
            ab2 = Isa::fma(x2, y2, ab2);
            aa2 = Isa::fma(x2, x2, aa2);
            bb2 = Isa::fma(y2, y2, bb2);
            ab3 = Isa::fma(x3, y3, ab3);
            aa3 = Isa::fma(x3, x3, aa3);
            bb3 = Isa::fma(y3, y3, bb3);
        }
    }
    for (; i + W <= n; i += W) {
        const V x = Isa::load(a + i), y = Isa::load(b + i);
        ab0 = Isa::fma(x, y, ab0);
        aa0 = Isa::fma(x, x, aa0);
        bb0 = Isa::fma(y, y, bb0);
    }
    if (i < n) {
        const V x = Isa::load_tail(a + i, n - i), y = Isa::load_tail(b + i, n - i);
        ab1 = Isa::fma(x, y, ab1);
        aa1 = Isa::fma(x, x, aa1);
        bb1 = Isa::fma(y, y, bb1);
    }
    return cosine_from_sums(Isa::sum((ab0 + ab1) + (ab2 + ab3)), Isa::sum((aa0 + aa1) + (aa2 + aa3)),
                            Isa::sum((bb0 + bb1) + (bb2 + bb3)));
}

}  // namespace
}  // namespace vecdb::core::simd

namespace vecdb::core {
// Per-path tables, defined in the architecture translation units. They are
// only handed out after CPU detection (kernels_for).
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
}  // namespace vecdb::core
