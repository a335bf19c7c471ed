// Distance kernels: the one interface every caller (SQL operators, index
// build, index scan, unit tests, micro-benchmarks) uses. Pure C++, no
// Postgres headers. One implementation per SIMD path; the active path is
// chosen once by CPU detection and can be forced (tests run every path).
#pragma once
#include <cstddef>
#include <cstdint>

namespace vecdb::core {

enum class SimdPath : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// float16 values travel as their IEEE binary16 bit patterns.
using half_bits = std::uint16_t;

struct Kernels {
    SimdPath path;
    // Squared Euclidean distance, inner product, L1 distance.
    float (*l2sq_f32)(const float* a, const float* b, std::size_t n) noexcept;
    float (*dot_f32)(const float* a, const float* b, std::size_t n) noexcept;
    float (*l1_f32)(const float* a, const float* b, std::size_t n) noexcept;
    // Cosine distance 1 - a.b / (|a| |b|), clamped to [0, 2]; NaN when
    // either vector has zero norm (the distance is undefined there).
    float (*cosine_f32)(const float* a, const float* b, std::size_t n) noexcept;

    float (*l2sq_f16)(const half_bits* a, const half_bits* b, std::size_t n) noexcept;
    float (*dot_f16)(const half_bits* a, const half_bits* b, std::size_t n) noexcept;
    float (*l1_f16)(const half_bits* a, const half_bits* b, std::size_t n) noexcept;
    float (*cosine_f16)(const half_bits* a, const half_bits* b, std::size_t n) noexcept;

    // Sum of squares (for norms) of one vector.
    float (*sumsq_f32)(const float* a, std::size_t n) noexcept;
    float (*sumsq_f16)(const half_bits* a, std::size_t n) noexcept;

    // Mixed precision: a float32 query against float16 data (an index that
    // stores halves of float32 vectors). Same semantics as the kernels above.
    float (*l2sq_f32_f16)(const float* q, const half_bits* x, std::size_t n) noexcept;
    float (*dot_f32_f16)(const float* q, const half_bits* x, std::size_t n) noexcept;
    float (*l1_f32_f16)(const float* q, const half_bits* x, std::size_t n) noexcept;
    float (*cosine_f32_f16)(const float* q, const half_bits* x, std::size_t n) noexcept;

    // Bulk float16 conversion, bit-identical to half_to_float / float_to_half
    // (exact widening; round-to-nearest-even narrowing, overflow -> ±Inf).
    void (*halves_to_floats)(const half_bits* in, float* out, std::size_t n) noexcept;
    void (*floats_to_halves)(const float* in, half_bits* out, std::size_t n) noexcept;
};

// Accuracy (all paths, all kernels; proven in docs/benchmarks.md and asserted
// by test/unit/test_distance.cpp). Sums are accumulated in float32, so with
// u = 2^-24 and t_i the exact per-element terms ((a_i-b_i)^2, a_i*b_i,
// |a_i-b_i|, a_i^2):
//   |computed - exact| <= (n + 3) * u * sum |t_i|  +  n * 2^-148
// (the second term covers products that underflow into subnormals).
// Cosine: |computed - exact| <= 2 * (n + 5) * u (absolute), provided the sums
// of squares stay within the normal float range (about 1e-38 .. 3e38);
// float16 inputs are converted exactly, so the same bounds hold.

// Best path this CPU (and OS, via XCR0) supports. Detected once.
SimdPath detect_simd_path() noexcept;

// Kernels of a given path; nullptr if the CPU cannot run that path.
const Kernels* kernels_for(SimdPath p) noexcept;

// The active kernels. Starts at detect_simd_path(); select() changes it
// (returns false and changes nothing if the path is unsupported here).
const Kernels& kernels() noexcept;
bool select_simd_path(SimdPath p) noexcept;

const char* simd_path_name(SimdPath p) noexcept;

}  // namespace vecdb::core
