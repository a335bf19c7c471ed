// The scalar kernels (the portable fallback and the baseline the SIMD paths
// are measured against) and the dispatch between paths.
//
// The scalar loops are deliberately plain: one float accumulator, one element
// at a time. Without -ffast-math the compiler may not reassociate the sum, so
// it keeps them scalar; they are what a straightforward C loop costs.
#include "vecdb/core/distance.h"

#include "vecdb/core/no_postgres.h"

#include <atomic>
#include <cmath>

#include "vecdb/core/cpu_features.h"
#include "vecdb/core/half_scalar.h"
#include "vecdb/core/kernels_impl.h"

namespace vecdb::core {
namespace {

inline float widen(float x) noexcept { return x; }
inline float widen(half_bits h) noexcept { return scalar_half::to_float(h); }

template <class TA, class TB>
float l2sq(const TA* a, const TB* b, std::size_t n) noexcept {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        const float d = widen(a[i]) - widen(b[i]);
        s += d * d;
    }
    return s;
}

template <class TA, class TB>
float dot(const TA* a, const TB* b, std::size_t n) noexcept {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) s += widen(a[i]) * widen(b[i]);
    return s;
}

template <class TA, class TB>
float l1(const TA* a, const TB* b, std::size_t n) noexcept {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) s += std::fabs(widen(a[i]) - widen(b[i]));
    return s;
}

template <class T>
float sumsq(const T* a, std::size_t n) noexcept {
    float s = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        const float x = widen(a[i]);
        s += x * x;
    }
    return s;
}

template <class TA, class TB>
float cosine(const TA* a, const TB* b, std::size_t n) noexcept {
    float ab = 0.0f, aa = 0.0f, bb = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        const float x = widen(a[i]), y = widen(b[i]);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    return simd::cosine_from_sums(ab, aa, bb);
}

void halves_to_floats_scalar(const half_bits* in, float* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = scalar_half::to_float(in[i]);
}

void floats_to_halves_scalar(const float* in, half_bits* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = scalar_half::from_float(in[i]);
}

using F = float;
using H = half_bits;

const Kernels kScalarKernels = {
    SimdPath::Scalar,  l2sq<F, F>,       dot<F, F>,   l1<F, F>, cosine<F, F>,
    l2sq<H, H>,        dot<H, H>,        l1<H, H>,    cosine<H, H>,
    sumsq<F>,          sumsq<H>,         l2sq<F, H>,  dot<F, H>,
    l1<F, H>,          cosine<F, H>,     halves_to_floats_scalar, floats_to_halves_scalar,
};

// Constant-initialised to the scalar table, so a caller running before this
// file's dynamic initialisation still gets correct (if slow) kernels; the
// initialiser below then switches to the best path once, at load time.
std::atomic<const Kernels*> active{&kScalarKernels};

const bool kSelectedAtLoad = select_simd_path(detect_simd_path());

}  // namespace

SimdPath detect_simd_path() noexcept {
    const CpuFeatures& f = cpu_features();
    if (f.avx512) return SimdPath::Avx512;
    if (f.avx2_fma_f16c) return SimdPath::Avx2;
    return SimdPath::Scalar;
}

const Kernels* kernels_for(SimdPath p) noexcept {
    switch (p) {
        case SimdPath::Scalar:
            return &kScalarKernels;
        case SimdPath::Avx2:
            return cpu_features().avx2_fma_f16c ? &kAvx2Kernels : nullptr;
        case SimdPath::Avx512:
            return cpu_features().avx512 ? &kAvx512Kernels : nullptr;
    }
    return nullptr;
}

// Relaxed is enough: each table is immutable, and any table is correct.
const Kernels& kernels() noexcept { return *active.load(std::memory_order_relaxed); }

bool select_simd_path(SimdPath p) noexcept {
    const Kernels* k = kernels_for(p);
    if (k == nullptr) return false;
    active.store(k, std::memory_order_relaxed);
    return true;
}

const char* simd_path_name(SimdPath p) noexcept {
    switch (p) {
        case SimdPath::Scalar:
            return "scalar";
        case SimdPath::Avx2:
            return "avx2";
        case SimdPath::Avx512:
            return "avx512";
    }
    return "unknown";
}

}  // namespace vecdb::core
