// Every kernel on every path this CPU runs, against a double-precision
// reference, with the error bound promised in distance.h:
//   L2 / dot / L1 / sum of squares: |got - exact| <= (n + 3) u sum|t_i| + n 2^-148
//   cosine:                         |got - exact| <= 2 (n + 5) u
// (u = 2^-24, t_i the exact per-element terms). Also exact results on
// integer data (catches a lost or doubled tail element outright), no reads
// past the end (guard page), and dispatch.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "vecdb/core/distance.h"
#include "vecdb/core/half.h"

using namespace vecdb::core;

namespace vecdb::core {
// Readable parameter names in gtest messages.
void PrintTo(SimdPath p, std::ostream* os) { *os << simd_path_name(p); }
}  // namespace vecdb::core

namespace {

constexpr double kU = 0x1p-24;
constexpr double kTinyPerElement = 0x1p-148;

enum class Kind { L2, Dot, L1, Cosine, SumSq };
const char* kind_name(Kind k) {
    switch (k) {
        case Kind::L2: return "l2sq";
        case Kind::Dot: return "dot";
        case Kind::L1: return "l1";
        case Kind::Cosine: return "cosine";
        case Kind::SumSq: return "sumsq";
    }
    return "?";
}

double widen(float x) { return x; }
double widen(half_bits h) { return half_to_float(h); }  // exact (test_half.cpp)

struct Reference {
    double value;
    double bound;
};

template <class TA, class TB>
Reference reference(Kind kind, const TA* a, const TB* b, std::size_t n) {
    double sum = 0, abs_terms = 0, ab = 0, aa = 0, bb = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = widen(a[i]), y = widen(b[i]);
        double t = 0;
        switch (kind) {
            case Kind::L2: t = (x - y) * (x - y); break;
            case Kind::Dot: t = x * y; break;
            case Kind::L1: t = std::fabs(x - y); break;
            case Kind::SumSq: t = x * x; break;
            case Kind::Cosine: ab += x * y; aa += x * x; bb += y * y; break;
        }
        sum += t;
        abs_terms += std::fabs(t);
    }
    const double dn = static_cast<double>(n);
    if (kind == Kind::Cosine) {
        double c = ab / std::sqrt(aa * bb);
        c = c > 1 ? 1 : c < -1 ? -1 : c;
        return {1 - c, 2 * (dn + 5) * kU};
    }
    return {sum, (dn + 3) * kU * abs_terms + dn * kTinyPerElement};
}

template <class TA, class TB>
float run(const Kernels& k, Kind kind, const TA* a, const TB* b, std::size_t n) {
    if constexpr (std::is_same_v<TA, float> && std::is_same_v<TB, float>) {
        switch (kind) {
            case Kind::L2: return k.l2sq_f32(a, b, n);
            case Kind::Dot: return k.dot_f32(a, b, n);
            case Kind::L1: return k.l1_f32(a, b, n);
            case Kind::Cosine: return k.cosine_f32(a, b, n);
            case Kind::SumSq: return k.sumsq_f32(a, n);
        }
    } else if constexpr (std::is_same_v<TA, half_bits> && std::is_same_v<TB, half_bits>) {
        switch (kind) {
            case Kind::L2: return k.l2sq_f16(a, b, n);
            case Kind::Dot: return k.dot_f16(a, b, n);
            case Kind::L1: return k.l1_f16(a, b, n);
            case Kind::Cosine: return k.cosine_f16(a, b, n);
            case Kind::SumSq: return k.sumsq_f16(a, n);
        }
    } else {
        switch (kind) {
            case Kind::L2: return k.l2sq_f32_f16(a, b, n);
            case Kind::Dot: return k.dot_f32_f16(a, b, n);
            case Kind::L1: return k.l1_f32_f16(a, b, n);
            case Kind::Cosine: return k.cosine_f32_f16(a, b, n);
            case Kind::SumSq: break;
        }
    }
    return NAN;
}

// sumsq takes only `a`; the reference above then uses a as both.
template <class TA, class TB>
Reference reference_for(Kind kind, const TA* a, const TB* b, std::size_t n) {
    if (kind == Kind::SumSq) return reference(kind, a, a, n);
    return reference(kind, a, b, n);
}

std::vector<std::size_t> test_dims() {
    std::vector<std::size_t> d;
    for (std::size_t n = 1; n <= 300; ++n) d.push_back(n);
    for (std::size_t n = 301; n < 2048; n += 37) d.push_back(n);
    for (std::size_t n : {511, 512, 513, 767, 768, 769, 1023, 1024, 1025, 1535, 1536, 1537, 2047, 2048})
        d.push_back(n);
    return d;
}

const std::vector<std::size_t>& dims() {
    static const std::vector<std::size_t> d = test_dims();
    return d;
}

class PathTest : public ::testing::TestWithParam<SimdPath> {
  protected:
    void SetUp() override {
        k_ = kernels_for(GetParam());
        if (k_ == nullptr) GTEST_SKIP() << simd_path_name(GetParam()) << " is not supported on this CPU";
    }
    const Kernels* k_ = nullptr;
};

// Uniform in [-scale, scale], stored as T.
template <class T>
std::vector<T> random_vector(std::mt19937& rng, std::size_t n, float scale) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<T> v(n);
    for (auto& x : v) {
        const float f = u(rng) * scale;
        if constexpr (std::is_same_v<T, float>)
            x = f;
        else
            x = float_to_half(f);
    }
    return v;
}

template <class TA, class TB>
void check_against_reference(const Kernels& k, const std::vector<Kind>& kinds, float scale_a, float scale_b,
                             const std::string& what) {
    std::mt19937 rng(12345);
    const std::size_t max_n = dims().back();
    for (std::size_t off = 0; off < 4; ++off) {
        // Different offsets for a and b: neither pointer is aligned in general.
        const std::size_t off_b = (off + 1) % 4;
        const std::vector<TA> abuf = random_vector<TA>(rng, max_n + 4, scale_a);
        const std::vector<TB> bbuf = random_vector<TB>(rng, max_n + 4, scale_b);
        for (std::size_t n : dims()) {
            const TA* a = abuf.data() + off;
            const TB* b = bbuf.data() + off_b;
            for (Kind kind : kinds) {
                const Reference ref = reference_for(kind, a, b, n);
                const float got = run(k, kind, a, b, n);
                ASSERT_LE(std::fabs(got - ref.value), ref.bound)
                    << what << " " << kind_name(kind) << " n=" << n << " offsets " << off << "," << off_b
                    << " got " << got << " exact " << ref.value;
            }
        }
    }
}

const std::vector<Kind> kAll = {Kind::L2, Kind::Dot, Kind::L1, Kind::Cosine, Kind::SumSq};
const std::vector<Kind> kNoCosine = {Kind::L2, Kind::Dot, Kind::L1, Kind::SumSq};
const std::vector<Kind> kPairwise = {Kind::L2, Kind::Dot, Kind::L1, Kind::Cosine};

}  // namespace

TEST_P(PathTest, Float32AgainstReference) {
    check_against_reference<float, float>(*k_, kAll, 1.0f, 1.0f, "f32 unit");
    check_against_reference<float, float>(*k_, kAll, 1e15f, 3e14f, "f32 large");
    check_against_reference<float, float>(*k_, kAll, 1e-15f, 2e-15f, "f32 small");
    // Products underflow into subnormals: the absolute term of the bound.
    check_against_reference<float, float>(*k_, kNoCosine, 1e-20f, 1e-21f, "f32 tiny");
}

TEST_P(PathTest, Float16AgainstReference) {
    check_against_reference<half_bits, half_bits>(*k_, kAll, 1.0f, 1.0f, "f16 unit");
    check_against_reference<half_bits, half_bits>(*k_, kAll, 6e4f, 3e4f, "f16 large");
    // Mostly subnormal halves (the smallest normal half is 6.1e-5).
    check_against_reference<half_bits, half_bits>(*k_, kAll, 1e-5f, 4e-5f, "f16 subnormal");
}

TEST_P(PathTest, MixedAgainstReference) {
    check_against_reference<float, half_bits>(*k_, kPairwise, 1.0f, 1.0f, "f32 x f16 unit");
    check_against_reference<float, half_bits>(*k_, kPairwise, 1e4f, 6e4f, "f32 x f16 large");
}

// Small integers: every partial sum is an exact float, so any order of
// summation gives the exact answer and a dropped or doubled element shows.
TEST_P(PathTest, ExactOnIntegerData) {
    std::mt19937 rng(99);
    std::uniform_int_distribution<int> u(-4, 4);
    for (std::size_t n : dims()) {
        std::vector<float> a(n), b(n);
        std::vector<half_bits> ha(n), hb(n);
        double l2 = 0, dot = 0, l1 = 0, ss = 0;
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = static_cast<float>(u(rng));
            b[i] = static_cast<float>(u(rng));
            ha[i] = float_to_half(a[i]);
            hb[i] = float_to_half(b[i]);
            l2 += (a[i] - b[i]) * (a[i] - b[i]);
            dot += a[i] * b[i];
            l1 += std::fabs(a[i] - b[i]);
            ss += a[i] * a[i];
        }
        ASSERT_EQ(k_->l2sq_f32(a.data(), b.data(), n), l2) << n;
        ASSERT_EQ(k_->dot_f32(a.data(), b.data(), n), dot) << n;
        ASSERT_EQ(k_->l1_f32(a.data(), b.data(), n), l1) << n;
        ASSERT_EQ(k_->sumsq_f32(a.data(), n), ss) << n;
        ASSERT_EQ(k_->l2sq_f16(ha.data(), hb.data(), n), l2) << n;
        ASSERT_EQ(k_->dot_f16(ha.data(), hb.data(), n), dot) << n;
        ASSERT_EQ(k_->l1_f16(ha.data(), hb.data(), n), l1) << n;
        ASSERT_EQ(k_->sumsq_f16(ha.data(), n), ss) << n;
        ASSERT_EQ(k_->l2sq_f32_f16(a.data(), hb.data(), n), l2) << n;
        ASSERT_EQ(k_->dot_f32_f16(a.data(), hb.data(), n), dot) << n;
        ASSERT_EQ(k_->l1_f32_f16(a.data(), hb.data(), n), l1) << n;
    }
}

TEST_P(PathTest, CosineEdgeCases) {
    for (std::size_t n : {1, 7, 16, 17, 100, 768}) {
        std::vector<float> zero(n, 0.0f), x(n), neg(n);
        std::vector<half_bits> hzero(n, 0), hx(n), hneg(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = 0.1f + 0.37f * static_cast<float>(i % 11);
            neg[i] = -x[i];
            hx[i] = float_to_half(x[i]);
            hneg[i] = float_to_half(neg[i]);
        }
        // A zero norm leaves the angle undefined.
        EXPECT_TRUE(std::isnan(k_->cosine_f32(zero.data(), x.data(), n))) << n;
        EXPECT_TRUE(std::isnan(k_->cosine_f32(x.data(), zero.data(), n))) << n;
        EXPECT_TRUE(std::isnan(k_->cosine_f16(hzero.data(), hx.data(), n))) << n;
        EXPECT_TRUE(std::isnan(k_->cosine_f32_f16(x.data(), hzero.data(), n))) << n;
        // Identical / opposite vectors: rounding may push |cos| past 1; the clamp keeps [0, 2].
        for (float d : {k_->cosine_f32(x.data(), x.data(), n), k_->cosine_f16(hx.data(), hx.data(), n)}) {
            EXPECT_GE(d, 0.0f) << n;
            EXPECT_LE(d, 1e-6f) << n;
        }
        for (float d : {k_->cosine_f32(x.data(), neg.data(), n), k_->cosine_f16(hx.data(), hneg.data(), n)}) {
            EXPECT_LE(d, 2.0f) << n;
            EXPECT_GE(d, 2.0f - 1e-6f) << n;
        }
        // Scale invariance well beyond float's product range (aa * bb > FLT_MAX).
        std::vector<float> big(n);
        for (std::size_t i = 0; i < n; ++i) big[i] = x[i] * 1e17f;
        EXPECT_NEAR(k_->cosine_f32(big.data(), big.data(), n), 0.0f, 1e-6f) << n;
        // NaN in, NaN out.
        std::vector<float> with_nan = x;
        with_nan[n / 2] = NAN;
        EXPECT_TRUE(std::isnan(k_->cosine_f32(with_nan.data(), x.data(), n))) << n;
    }
}

// Vectors that end exactly at an unreadable page: a tail that reads past the
// last element faults.
TEST_P(PathTest, NoReadPastTheEnd) {
    const long page = sysconf(_SC_PAGESIZE);
    void* mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    char* base = static_cast<char*>(mem);
    ASSERT_EQ(mprotect(base + page, page, PROT_NONE), 0);
    char* end = base + page;
    for (std::size_t n = 1; n <= 80; ++n) {
        float* a = reinterpret_cast<float*>(end) - n;
        half_bits* h = reinterpret_cast<half_bits*>(end) - n;
        std::vector<float> b(n, 1.0f);
        std::vector<half_bits> hb(n, float_to_half(1.0f));
        for (std::size_t i = 0; i < n; ++i) a[i] = 2.0f;
        EXPECT_EQ(k_->l2sq_f32(a, b.data(), n), static_cast<float>(n));
        EXPECT_EQ(k_->l2sq_f32(b.data(), a, n), static_cast<float>(n));
        EXPECT_EQ(k_->dot_f32(a, b.data(), n), 2.0f * n);
        EXPECT_EQ(k_->l1_f32(a, b.data(), n), static_cast<float>(n));
        EXPECT_EQ(k_->sumsq_f32(a, n), 4.0f * n);
        EXPECT_NEAR(k_->cosine_f32(a, b.data(), n), 0.0f, 1e-6f);
        std::vector<float> widened(n);
        k_->halves_to_floats(hb.data(), reinterpret_cast<float*>(end) - n, n);  // writes up to the page end
        for (std::size_t i = 0; i < n; ++i) h[i] = float_to_half(2.0f);
        EXPECT_EQ(k_->l2sq_f16(h, hb.data(), n), static_cast<float>(n));
        EXPECT_EQ(k_->l2sq_f16(hb.data(), h, n), static_cast<float>(n));
        EXPECT_EQ(k_->dot_f16(h, hb.data(), n), 2.0f * n);
        EXPECT_EQ(k_->l1_f16(h, hb.data(), n), static_cast<float>(n));
        EXPECT_EQ(k_->sumsq_f16(h, n), 4.0f * n);
        EXPECT_NEAR(k_->cosine_f16(h, hb.data(), n), 0.0f, 1e-6f);
        EXPECT_EQ(k_->l2sq_f32_f16(b.data(), h, n), static_cast<float>(n));
        k_->halves_to_floats(h, widened.data(), n);
        EXPECT_EQ(widened[n - 1], 2.0f);
        std::vector<float> src(n, 3.0f);
        k_->floats_to_halves(src.data(), h, n);  // writes up to the page end
        EXPECT_EQ(h[n - 1], float_to_half(3.0f));
    }
    munmap(mem, 2 * page);
}

TEST_P(PathTest, TableCarriesItsPath) { EXPECT_EQ(k_->path, GetParam()); }

INSTANTIATE_TEST_SUITE_P(AllPaths, PathTest,
                         ::testing::Values(SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512),
                         [](const ::testing::TestParamInfo<SimdPath>& info) {
                             return std::string(simd_path_name(info.param));
                         });

TEST(Dispatch, DetectedPathIsSupportedAndActiveByDefault) {
    const SimdPath best = detect_simd_path();
    ASSERT_NE(kernels_for(best), nullptr);
    EXPECT_EQ(kernels().path, best);  // chosen at load time
    EXPECT_NE(kernels_for(SimdPath::Scalar), nullptr);
    // Paths are ordered: a CPU that runs AVX-512 runs AVX2.
    if (kernels_for(SimdPath::Avx512) != nullptr) {
        EXPECT_NE(kernels_for(SimdPath::Avx2), nullptr);
    }
    std::printf("detected SIMD path: %s\n", simd_path_name(best));
}

TEST(Dispatch, SelectSwitchesAndRefusesUnsupported) {
    const SimdPath before = kernels().path;
    for (SimdPath p : {SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512}) {
        const bool ok = select_simd_path(p);
        EXPECT_EQ(ok, kernels_for(p) != nullptr);
        if (ok) {
            EXPECT_EQ(kernels().path, p);
        }
    }
    EXPECT_FALSE(select_simd_path(static_cast<SimdPath>(7)));
    ASSERT_TRUE(select_simd_path(before));
    EXPECT_STREQ(simd_path_name(SimdPath::Scalar), "scalar");
    EXPECT_STREQ(simd_path_name(SimdPath::Avx2), "avx2");
    EXPECT_STREQ(simd_path_name(SimdPath::Avx512), "avx512");
}
