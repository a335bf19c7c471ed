// AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c). Only reached
// after CPU and OS detection (src/core/cpu_features.cpp). Everything here has
// internal linkage except the table kAvx2Kernels.
#include "vecdb/core/no_postgres.h"

#include <immintrin.h>

#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "vecdb/core/kernels_impl.h"

namespace vecdb::core {
namespace {

// xsimd's fma3<avx2> architecture maps xsimd::fma to VFMADD (plain avx2 would
// fall back to a separate multiply and add).
using Arch = xsimd::fma3<xsimd::avx2>;

struct Avx2 {
    using vec = xsimd::batch<float, Arch>;
    static constexpr std::size_t width = 8;
    static constexpr int cosine_unroll = 2;

    static vec zero() noexcept { return vec(0.0f); }
    static vec load(const float* p) noexcept { return vec::load_unaligned(p); }
    static vec load(const half_bits* p) noexcept {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static vec load_tail(const float* p, std::size_t k) noexcept {
        // VMASKMOVPS never touches (or faults on) the masked-off lanes.
        alignas(32) static constexpr std::int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                               0,  0,  0,  0,  0,  0,  0,  0};
        const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - k));
        return _mm256_maskload_ps(p, m);
    }
    static vec load_tail(const half_bits* p, std::size_t k) noexcept {
        // No 16-bit masked load before AVX-512: stage the k < 8 halves in a
        // zeroed register image and still convert in the register.
        alignas(16) half_bits tmp[8] = {};
        for (std::size_t j = 0; j < k; ++j) tmp[j] = p[j];
        return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
    }
    static vec fma(vec a, vec b, vec c) noexcept { return xsimd::fma(a, b, c); }
    static vec abs(vec a) noexcept { return xsimd::abs(a); }
    static float sum(vec a) noexcept { return xsimd::hadd(a); }
};

float l2sq_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::l2sq<Avx2>(a, b, n); }
float dot_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::dot<Avx2>(a, b, n); }
float l1_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::l1<Avx2>(a, b, n); }
float cosine_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::cosine<Avx2>(a, b, n); }
float l2sq_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept { return simd::l2sq<Avx2>(a, b, n); }
float dot_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept { return simd::dot<Avx2>(a, b, n); }
float l1_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept { return simd::l1<Avx2>(a, b, n); }
float cosine_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    return simd::cosine<Avx2>(a, b, n);
}
float sumsq_f32(const float* a, std::size_t n) noexcept { return simd::sumsq<Avx2>(a, n); }
float sumsq_f16(const half_bits* a, std::size_t n) noexcept { return simd::sumsq<Avx2>(a, n); }
float l2sq_mixed(const float* q, const half_bits* x, std::size_t n) noexcept { return simd::l2sq<Avx2>(q, x, n); }
float dot_mixed(const float* q, const half_bits* x, std::size_t n) noexcept { return simd::dot<Avx2>(q, x, n); }
float l1_mixed(const float* q, const half_bits* x, std::size_t n) noexcept { return simd::l1<Avx2>(q, x, n); }
float cosine_mixed(const float* q, const half_bits* x, std::size_t n) noexcept {
    return simd::cosine<Avx2>(q, x, n);
}

void halves_to_floats(const half_bits* in, float* out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, Avx2::load(in + i));
    if (i < n) {
        alignas(32) float tmp[8];
        _mm256_store_ps(tmp, Avx2::load_tail(in + i, n - i));
        for (std::size_t j = 0; i + j < n; ++j) out[i + j] = tmp[j];
    }
}

void floats_to_halves(const float* in, half_bits* out, std::size_t n) noexcept {
    constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), kRne));
    if (i < n) {
        alignas(16) half_bits tmp[8];
        const __m256 v = Avx2::load_tail(in + i, n - i);
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), _mm256_cvtps_ph(v, kRne));
        for (std::size_t j = 0; i + j < n; ++j) out[i + j] = tmp[j];
    }
}

}  // namespace

extern const Kernels kAvx2Kernels = {
    SimdPath::Avx2, l2sq_f32,   dot_f32,   l1_f32,   cosine_f32,   l2sq_f16,         dot_f16,
    l1_f16,         cosine_f16, sumsq_f32, sumsq_f16, l2sq_mixed, dot_mixed,         l1_mixed,
    cosine_mixed,   halves_to_floats, floats_to_halves,
};

}  // namespace vecdb::core
