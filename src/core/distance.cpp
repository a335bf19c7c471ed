// PLACEHOLDER scalar kernels and dispatch (to be replaced by the SIMD work).
#include "vecdb/core/distance.h"
#include "vecdb/core/half.h"
#include <cmath>

namespace vecdb::core {
namespace {
float l2sq(const float* a, const float* b, std::size_t n) noexcept { float s = 0; for (std::size_t i = 0; i < n; ++i) { float d = a[i] - b[i]; s += d * d; } return s; }
float dot(const float* a, const float* b, std::size_t n) noexcept { float s = 0; for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i]; return s; }
float l1(const float* a, const float* b, std::size_t n) noexcept { float s = 0; for (std::size_t i = 0; i < n; ++i) s += std::fabs(a[i] - b[i]); return s; }
float sumsq(const float* a, std::size_t n) noexcept { return dot(a, a, n); }
float cosine(const float* a, const float* b, std::size_t n) noexcept {
    float ab = dot(a, b, n), aa = sumsq(a, n), bb = sumsq(b, n);
    if (aa == 0 || bb == 0) return NAN;
    float c = ab / std::sqrt(aa * bb);
    if (c > 1) c = 1; if (c < -1) c = -1;
    return 1 - c;
}
const Kernels scalar = {SimdPath::Scalar, l2sq, dot, l1, cosine, nullptr, nullptr, nullptr, nullptr, sumsq, nullptr};
const Kernels* active = &scalar;
}  // namespace
SimdPath detect_simd_path() noexcept { return SimdPath::Scalar; }
const Kernels* kernels_for(SimdPath p) noexcept { return p == SimdPath::Scalar ? &scalar : nullptr; }
const Kernels& kernels() noexcept { return *active; }
bool select_simd_path(SimdPath p) noexcept { auto k = kernels_for(p); if (!k) return false; active = k; return true; }
const char* simd_path_name(SimdPath p) noexcept { return p == SimdPath::Scalar ? "scalar" : p == SimdPath::Avx2 ? "avx2" : "avx512"; }
}  // namespace vecdb::core
