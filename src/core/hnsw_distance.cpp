// Graph-internal distances (resolve_distance) and cosine normalisation.
//
// The kernels table holds typed function pointers; the graph works with
// untyped vectors, so each (path, metric, type) gets a tiny adapter that
// calls the kernel of the path that was active when resolve_distance ran.
#include "vecdb/core/no_postgres.h"

#include <cmath>
#include <cstring>

#include "vecdb/core/hnsw.h"
#include "vecdb/core/half.h"

namespace vecdb::core::hnsw {
namespace {

const Kernels* table(int path) noexcept {
    static const Kernels* const tables[3] = {kernels_for(SimdPath::Scalar), kernels_for(SimdPath::Avx2),
                                            kernels_for(SimdPath::Avx512)};
    return tables[path];
}

// Every adapter goes through ordered_distance (include/vecdb/core/hnsw.h).
template <int P>
struct Adapters {
    static const float* f(const void* p) noexcept { return static_cast<const float*>(p); }
    static const half_bits* h(const void* p) noexcept { return static_cast<const half_bits*>(p); }

    static float l2_f32(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(table(P)->l2sq_f32(f(a), f(b), n));
    }
    static float ip_f32(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(-table(P)->dot_f32(f(a), f(b), n));
    }
    static float cos_f32(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(1.0f - table(P)->dot_f32(f(a), f(b), n));
    }
    static float l1_f32(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(table(P)->l1_f32(f(a), f(b), n));
    }
    static float l2_f16(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(table(P)->l2sq_f16(h(a), h(b), n));
    }
    static float ip_f16(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(-table(P)->dot_f16(h(a), h(b), n));
    }
    static float cos_f16(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(1.0f - table(P)->dot_f16(h(a), h(b), n));
    }
    static float l1_f16(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(table(P)->l1_f16(h(a), h(b), n));
    }
    static float l2_mixed(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(table(P)->l2sq_f32_f16(f(a), h(b), n));
    }
    static float ip_mixed(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(-table(P)->dot_f32_f16(f(a), h(b), n));
    }
    static float cos_mixed(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(1.0f - table(P)->dot_f32_f16(f(a), h(b), n));
    }
    static float l1_mixed(const void* a, const void* b, std::size_t n) noexcept {
        return ordered_distance(table(P)->l1_f32_f16(f(a), h(b), n));
    }
};

template <int P>
DistFn resolve_mixed_for(Metric m) noexcept {
    using A = Adapters<P>;
    switch (m) {
        case Metric::L2: return &A::l2_mixed;
        case Metric::InnerProduct: return &A::ip_mixed;
        case Metric::Cosine: return &A::cos_mixed;
        case Metric::L1: return &A::l1_mixed;
    }
    return nullptr;
}

template <int P>
DistFn resolve_for(Metric m, ElemType t) noexcept {
    using A = Adapters<P>;
    if (t == ElemType::F32) {
        switch (m) {
            case Metric::L2: return &A::l2_f32;
            case Metric::InnerProduct: return &A::ip_f32;
            case Metric::Cosine: return &A::cos_f32;
            case Metric::L1: return &A::l1_f32;
        }
        return nullptr;
    }
    switch (m) {
        case Metric::L2: return &A::l2_f16;
        case Metric::InnerProduct: return &A::ip_f16;
        case Metric::Cosine: return &A::cos_f16;
        case Metric::L1: return &A::l1_f16;
    }
    return nullptr;
}

}  // namespace

DistFn resolve_distance(Metric m, ElemType t) noexcept {
    switch (kernels().path) {
        case SimdPath::Avx512: return resolve_for<2>(m, t);
        case SimdPath::Avx2: return resolve_for<1>(m, t);
        case SimdPath::Scalar: break;
    }
    return resolve_for<0>(m, t);
}

DistFn resolve_mixed_distance(Metric m) noexcept {
    switch (kernels().path) {
        case SimdPath::Avx512: return resolve_mixed_for<2>(m);
        case SimdPath::Avx2: return resolve_mixed_for<1>(m);
        case SimdPath::Scalar: break;
    }
    return resolve_mixed_for<0>(m);
}

bool normalize(ElemType t, void* vec, std::uint32_t dim) noexcept {
    if (t == ElemType::F32) {
        float* v = static_cast<float*>(vec);
        double ss = 0;
        for (std::uint32_t i = 0; i < dim; ++i) ss += double(v[i]) * v[i];
        if (!(ss > 0) || !std::isfinite(ss)) return false;
        const double inv = 1.0 / std::sqrt(ss);
        for (std::uint32_t i = 0; i < dim; ++i) v[i] = float(v[i] * inv);
        return true;
    }
    half_bits* v = static_cast<half_bits*>(vec);
    double ss = 0;
    for (std::uint32_t i = 0; i < dim; ++i) {
        const double x = half_to_float(v[i]);
        ss += x * x;
    }
    if (!(ss > 0) || !std::isfinite(ss)) return false;
    const double inv = 1.0 / std::sqrt(ss);
    for (std::uint32_t i = 0; i < dim; ++i) v[i] = float_to_half(float(half_to_float(v[i]) * inv));
    return true;
}

}  // namespace vecdb::core::hnsw
