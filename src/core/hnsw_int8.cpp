// Int8 build storage: per-dimension min/max scalar quantisation.
//
// Each dimension i gets a range [lo_i, lo_i + 255 * step_i] learnt from the
// first vectors added (the training sample), widened by 1/32 of its width on
// each side so that later rows rarely fall outside; values outside are
// clamped. A vector x is stored as codes c_i = round((x_i - lo_i) / step_i),
// i.e. approximated by x'_i = lo_i + step_i * c_i.
//
// Construction distances are the exact distances between the approximations
// x', computed without decoding:
//   L2:  sum step_i^2 (a_i - b_i)^2
//   L1:  sum step_i |a_i - b_i|
//   dot: sum lo_i^2 + bias(a) + bias(b) + sum step_i^2 a_i b_i,
//        bias(a) = sum lo_i step_i a_i (stored per node)
// and IP / cosine derive from dot as for float vectors (-dot, 1 - dot).
#include "vecdb/core/no_postgres.h"

#include <algorithm>
#include <cmath>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "hnsw_builder_impl.h"

namespace vecdb::core::hnsw::detail {

void Int8Codec::train(const float* rows, std::size_t n, std::uint32_t dim) {
    lo.assign(dim, 0.0f);
    step.assign(dim, 0.0f);
    step_sq.assign(dim, 0.0f);
    std::vector<float> hi(dim, 0.0f);
    if (n > 0) {
        std::copy(rows, rows + dim, lo.begin());
        std::copy(rows, rows + dim, hi.begin());
    }
    for (std::size_t r = 1; r < n; ++r) {
        const float* x = rows + r * dim;
        for (std::uint32_t i = 0; i < dim; ++i) {
            lo[i] = std::min(lo[i], x[i]);
            hi[i] = std::max(hi[i], x[i]);
        }
    }
    lo_sq_sum = 0;
    for (std::uint32_t i = 0; i < dim; ++i) {
        float width = hi[i] - lo[i];
        // A dimension constant in the sample still gets a usable range.
        if (!(width > 0)) width = std::max(std::fabs(lo[i]), 1.0f) * 0.125f;
        const float margin = width / 32;
        lo[i] -= margin;
        step[i] = (width + 2 * margin) / 255.0f;
        step_sq[i] = step[i] * step[i];
        lo_sq_sum += lo[i] * lo[i];
    }
}

float Int8Codec::encode(const float* x, std::uint32_t dim, std::uint8_t* codes) const noexcept {
    float bias = 0;
    for (std::uint32_t i = 0; i < dim; ++i) {
        float c = std::nearbyint((x[i] - lo[i]) / step[i]);
        if (!(c >= 0)) c = 0;  // also NaN
        if (c > 255) c = 255;
        codes[i] = std::uint8_t(c);
        bias += lo[i] * step[i] * c;
    }
    return bias;
}

namespace {

// 16 independent accumulators: without -ffast-math the compiler may not
// reorder one float sum, but it vectorises these 16 lanes.
#define VECDB_INT8_BODY(EXPR)                                           \
    float acc[16] = {0};                                                \
    std::size_t i = 0;                                                  \
    for (; i + 16 <= n; i += 16)                                        \
        for (int j = 0; j < 16; ++j) {                                  \
            const float x = float(a[i + j]), y = float(b[i + j]);       \
            acc[j] += w[i + j] * (EXPR);                                \
        }                                                               \
    float s = 0;                                                        \
    for (; i < n; ++i) {                                                \
        const float x = float(a[i]), y = float(b[i]);                   \
        s += w[i] * (EXPR);                                             \
    }                                                                   \
    for (int j = 0; j < 16; ++j) s += acc[j];                           \
    return s;

#define VECDB_INT8_SET(SUFFIX, ATTR)                                                                 \
    ATTR float wl2_##SUFFIX(const std::uint8_t* a, const std::uint8_t* b, const float* w,           \
                            std::size_t n) noexcept {                                                \
        VECDB_INT8_BODY((x - y) * (x - y))                                                           \
    }                                                                                                \
    ATTR float wdot_##SUFFIX(const std::uint8_t* a, const std::uint8_t* b, const float* w,          \
                             std::size_t n) noexcept {                                               \
        VECDB_INT8_BODY(x * y)                                                                       \
    }                                                                                                \
    ATTR float wl1_##SUFFIX(const std::uint8_t* a, const std::uint8_t* b, const float* w,           \
                            std::size_t n) noexcept {                                                \
        VECDB_INT8_BODY(std::fabs(x - y))                                                            \
    }                                                                                                \
    const Int8Kernels kernels_##SUFFIX = {wl2_##SUFFIX, wdot_##SUFFIX, wl1_##SUFFIX};

VECDB_INT8_SET(scalar, )

#if defined(__x86_64__)
// Explicit AVX2 / AVX-512 versions (the loops above vectorise only 4 wide).
// OP(x, y) combines two float vectors of codes; the weight multiplies it.
// GCC 12 warns about _mm512_undefined_* inside its own intrinsic headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define VECDB_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define VECDB_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

VECDB_TARGET_AVX2 inline __m256 load8_avx2(const std::uint8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
VECDB_TARGET_AVX512 inline __m512 load16_avx512(const std::uint8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
VECDB_TARGET_AVX512 inline __m512 load16_avx512(const std::uint8_t* p, __mmask16 m) {
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

#define VECDB_INT8_AVX2(NAME, OP, SCALAR)                                                           \
    VECDB_TARGET_AVX2 float NAME(const std::uint8_t* a, const std::uint8_t* b, const float* w,      \
                                 std::size_t n) noexcept {                                           \
        __m256 acc = _mm256_setzero_ps();                                                            \
        std::size_t i = 0;                                                                           \
        for (; i + 8 <= n; i += 8) {                                                                 \
            const __m256 x = load8_avx2(a + i), y = load8_avx2(b + i);                               \
            acc = _mm256_fmadd_ps(OP, _mm256_loadu_ps(w + i), acc);                                  \
        }                                                                                            \
        const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));     \
        float lanes[4];                                                                              \
        _mm_storeu_ps(lanes, h);                                                                     \
        float s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);                                     \
        for (; i < n; ++i) {                                                                         \
            const float x = float(a[i]), y = float(b[i]);                                            \
            s += w[i] * (SCALAR);                                                                    \
        }                                                                                            \
        return s;                                                                                    \
    }

#define VECDB_INT8_AVX512(NAME, OP)                                                                 \
    VECDB_TARGET_AVX512 float NAME(const std::uint8_t* a, const std::uint8_t* b, const float* w,    \
                                   std::size_t n) noexcept {                                         \
        __m512 acc = _mm512_setzero_ps();                                                            \
        std::size_t i = 0;                                                                           \
        for (; i + 16 <= n; i += 16) {                                                               \
            const __m512 x = load16_avx512(a + i), y = load16_avx512(b + i);                         \
            acc = _mm512_fmadd_ps(OP, _mm512_loadu_ps(w + i), acc);                                  \
        }                                                                                            \
        if (i < n) {                                                                                 \
            const __mmask16 m = __mmask16((1u << (n - i)) - 1);                                      \
            const __m512 x = load16_avx512(a + i, m), y = load16_avx512(b + i, m);                   \
            acc = _mm512_fmadd_ps(OP, _mm512_maskz_loadu_ps(m, w + i), acc);                         \
        }                                                                                            \
        return _mm512_reduce_add_ps(acc);                                                            \
    }

VECDB_INT8_AVX2(wl2_avx2, _mm256_mul_ps(_mm256_sub_ps(x, y), _mm256_sub_ps(x, y)), (x - y) * (x - y))
VECDB_INT8_AVX2(wdot_avx2, _mm256_mul_ps(x, y), x * y)
VECDB_INT8_AVX2(wl1_avx2, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(x, y)), std::fabs(x - y))
VECDB_INT8_AVX512(wl2_avx512, _mm512_mul_ps(_mm512_sub_ps(x, y), _mm512_sub_ps(x, y)))
VECDB_INT8_AVX512(wdot_avx512, _mm512_mul_ps(x, y))
VECDB_INT8_AVX512(wl1_avx512, _mm512_abs_ps(_mm512_sub_ps(x, y)))

const Int8Kernels kernels_avx2 = {wl2_avx2, wdot_avx2, wl1_avx2};
const Int8Kernels kernels_avx512 = {wl2_avx512, wdot_avx512, wl1_avx512};
#pragma GCC diagnostic pop
#endif

}  // namespace

// Follows the active kernel path, so vecdb.simd_path also governs these.
const Int8Kernels& int8_kernels() noexcept {
#if defined(__x86_64__)
    switch (kernels().path) {
        case SimdPath::Avx512: return kernels_avx512;
        case SimdPath::Avx2: return kernels_avx2;
        case SimdPath::Scalar: break;
    }
#endif
    return kernels_scalar;
}

}  // namespace vecdb::core::hnsw::detail
