// AVX-512 (F, BW, VL) + F16C kernels. Only reached after CPU and OS
// detection (src/core/cpu_features.cpp). Everything here has internal linkage
// except the table kAvx512Kernels.
#include "vecdb/core/no_postgres.h"

#include <immintrin.h>

#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "vecdb/core/kernels_impl.h"

namespace vecdb::core {
namespace {

using Arch = xsimd::avx512bw;

struct Avx512 {
    using vec = xsimd::batch<float, Arch>;
    static constexpr std::size_t width = 16;
    static constexpr int cosine_unroll = 4;

    static __mmask16 tail_mask(std::size_t k) noexcept { return static_cast<__mmask16>((1u << k) - 1u); }

    static vec zero() noexcept { return vec(0.0f); }
    static vec load(const float* p) noexcept { return vec::load_unaligned(p); }
    // GCC 12's unmasked _mm512_cvtph_ps / _mm512_cvtps_ph start from an
    // "undefined" register and trip -Wmaybe-uninitialized; the zero-masked
    // forms with a full mask compile to the same instruction.
    static vec widen(__m256i h) noexcept { return _mm512_maskz_cvtph_ps(0xffff, h); }
    static __m256i narrow(__m512 f) noexcept {
        return _mm512_maskz_cvtps_ph(0xffff, f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    static vec load(const half_bits* p) noexcept {
        return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    // Masked loads neither read nor fault on the lanes past the end.
    static vec load_tail(const float* p, std::size_t k) noexcept {
        return _mm512_maskz_loadu_ps(tail_mask(k), p);
    }
    static vec load_tail(const half_bits* p, std::size_t k) noexcept {
        return widen(_mm256_maskz_loadu_epi16(tail_mask(k), p));
    }
    // xsimd 8.1 has no AVX-512 fma kernel (its generic fallback is a separate
    // multiply and add, and ISO C++ mode does not contract them): call VFMADD.
    static vec fma(vec a, vec b, vec c) noexcept { return _mm512_fmadd_ps(a, b, c); }
    static vec abs(vec a) noexcept { return xsimd::abs(a); }
    static float sum(vec a) noexcept { return xsimd::hadd(a); }
};

float l2sq_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::l2sq<Avx512>(a, b, n); }
float dot_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::dot<Avx512>(a, b, n); }
float l1_f32(const float* a, const float* b, std::size_t n) noexcept { return simd::l1<Avx512>(a, b, n); }
float cosine_f32(const float* a, const float* b, std::size_t n) noexcept {
    return simd::cosine<Avx512>(a, b, n);
}
float l2sq_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    return simd::l2sq<Avx512>(a, b, n);
}
float dot_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept { return simd::dot<Avx512>(a, b, n); }
float l1_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept { return simd::l1<Avx512>(a, b, n); }
float cosine_f16(const half_bits* a, const half_bits* b, std::size_t n) noexcept {
    return simd::cosine<Avx512>(a, b, n);
}
float sumsq_f32(const float* a, std::size_t n) noexcept { return simd::sumsq<Avx512>(a, n); }
float sumsq_f16(const half_bits* a, std::size_t n) noexcept { return simd::sumsq<Avx512>(a, n); }
float l2sq_mixed(const float* q, const half_bits* x, std::size_t n) noexcept {
    return simd::l2sq<Avx512>(q, x, n);
}
float dot_mixed(const float* q, const half_bits* x, std::size_t n) noexcept { return simd::dot<Avx512>(q, x, n); }
float l1_mixed(const float* q, const half_bits* x, std::size_t n) noexcept { return simd::l1<Avx512>(q, x, n); }
float cosine_mixed(const float* q, const half_bits* x, std::size_t n) noexcept {
    return simd::cosine<Avx512>(q, x, n);
}

void halves_to_floats(const half_bits* in, float* out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, Avx512::load(in + i));
    if (i < n) _mm512_mask_storeu_ps(out + i, Avx512::tail_mask(n - i), Avx512::load_tail(in + i, n - i));
}

void floats_to_halves(const float* in, half_bits* out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), Avx512::narrow(_mm512_loadu_ps(in + i)));
    if (i < n) {
        const __mmask16 m = Avx512::tail_mask(n - i);
        _mm256_mask_storeu_epi16(out + i, m, Avx512::narrow(_mm512_maskz_loadu_ps(m, in + i)));
    }
}

}  // namespace

extern const Kernels kAvx512Kernels = {
    SimdPath::Avx512, l2sq_f32,   dot_f32,   l1_f32,    cosine_f32, l2sq_f16,         dot_f16,
    l1_f16,           cosine_f16, sumsq_f32, sumsq_f16, l2sq_mixed, dot_mixed,        l1_mixed,
    cosine_mixed,     halves_to_floats, floats_to_halves,
};

}  // namespace vecdb::core
