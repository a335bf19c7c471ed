// Unit tests of the HNSW building blocks: neighbour selection, levels, the
// visited set, search_layer, distances, normalisation, the Int8 codec.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "vecdb/core/half.h"
#include "vecdb/core/hnsw.h"
#include "../../src/core/hnsw_builder_impl.h"  // Int8 codec and kernels

namespace vecdb::core::hnsw {

struct VisitedSetTestPeer {
    static void set_generation(VisitedSet& v, VisitedSet::Mark g) { v.generation_ = g; }
    static VisitedSet::Mark generation(const VisitedSet& v) { return v.generation_; }
};

namespace {

// Points on a line: pair distance |x_a - x_b|.
struct Line {
    std::vector<float> x;
    float operator()(NodeId a, NodeId b) const { return std::fabs(x[a] - x[b]); }
};

TEST(HnswSelect, HeuristicPrunesShadowedAndFillsWithNearestPruned) {
    // Base at 0; candidates at 1, 2, 3 (same side) and -5 (other side).
    Line line{{0.0f, 1.0f, 2.0f, 3.0f, -5.0f}};
    std::vector<Candidate> c = {{1, 1}, {2, 2}, {3, 3}, {5, 4}};
    NodeId out[4];
    // Heuristic alone keeps 1 (nearest) and -5 (other side): 2 and 3 are
    // closer to 1 than to the base.
    int n = select_neighbors(c.data(), 4, 2, line, out);
    ASSERT_EQ(n, 2);
    EXPECT_EQ(out[0], 1u);
    EXPECT_EQ(out[1], 4u);
    // With room for 3, the nearest pruned candidate (2) fills the gap.
    n = select_neighbors(c.data(), 4, 3, line, out);
    ASSERT_EQ(n, 3);
    EXPECT_EQ(out[0], 1u);
    EXPECT_EQ(out[1], 4u);
    EXPECT_EQ(out[2], 2u);
    // Room for all: every candidate, heuristic picks first.
    n = select_neighbors(c.data(), 4, 4, line, out);
    ASSERT_EQ(n, 4);
    EXPECT_EQ(out[2], 2u);
    EXPECT_EQ(out[3], 3u);
}

TEST(HnswSelect, KeepsOneEdgePerDirection) {
    // Base 0 between two groups: {1, 1.1} on one side, {-50, -50.5} on the
    // other. Two places: one edge into each group, not the two nearest.
    Line line{{0.0f, 1.0f, 1.1f, -50.0f, -50.5f}};
    std::vector<Candidate> c = {{1.0f, 1}, {1.1f, 2}, {50.0f, 3}, {50.5f, 4}};
    NodeId out[2];
    int n = select_neighbors(c.data(), 4, 2, line, out);
    ASSERT_EQ(n, 2);
    EXPECT_EQ(out[0], 1u);
    EXPECT_EQ(out[1], 3u);
}

TEST(HnswSelect, EdgeCases) {
    Line line{{0.0f, 1.0f, 2.0f}};
    NodeId out[4] = {};
    EXPECT_EQ(select_neighbors(nullptr, 0, 4, line, out), 0);
    std::vector<Candidate> c = {{1, 1}, {1, 1}, {2, 2}};  // a repeated id
    EXPECT_EQ(select_neighbors(c.data(), 3, 0, line, out), 0);
    int n = select_neighbors(c.data(), 3, 4, line, out);
    ASSERT_EQ(n, 2);
    EXPECT_NE(out[0], out[1]);
    // Duplicate vectors (distinct ids at distance 0) are kept.
    Line same{{0.0f, 0.0f, 0.0f}};
    std::vector<Candidate> z = {{0, 1}, {0, 2}};
    EXPECT_EQ(select_neighbors(z.data(), 2, 2, same, out), 2);
}

TEST(HnswLevel, GeometricDistribution) {
    std::uint64_t s = 42;
    std::map<int, int> hist;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
        int l = random_level(s, 16);
        ASSERT_GE(l, 0);
        ASSERT_LE(l, kMaxLevel);
        ++hist[l];
    }
    // P(level >= 1) = 1/16.
    EXPECT_NEAR(double(n - hist[0]) / n, 1.0 / 16, 0.003);
    EXPECT_NEAR(double(hist[1]) / n, 1.0 / 16 - 1.0 / 256, 0.003);
    std::uint64_t a = 7, b = 7;
    for (int i = 0; i < 100; ++i) ASSERT_EQ(random_level(a, 16), random_level(b, 16));
}

TEST(HnswVisited, ResetAndWrapAround) {
    VisitedSet v;
    v.reset(10);
    EXPECT_EQ(v.capacity(), 10u);
    EXPECT_FALSE(v.test_and_set(3));
    EXPECT_TRUE(v.test_and_set(3));
    EXPECT_TRUE(v.test(3));
    v.reset(10);
    EXPECT_FALSE(v.test(3));
    // Grow: new ids unvisited, old generation marks gone.
    EXPECT_FALSE(v.test_and_set(3));
    v.reset(20);
    EXPECT_FALSE(v.test(3));
    EXPECT_FALSE(v.test(19));

    // Mark id 5 at the last generation before the wrap, then wrap.
    VisitedSetTestPeer::set_generation(v, std::numeric_limits<VisitedSet::Mark>::max() - 1);
    v.reset(20);  // the last generation
    EXPECT_FALSE(v.test_and_set(5));
    v.reset(20);  // wraps: must clear, not reuse generation 0 or 1 dirty
    EXPECT_NE(VisitedSetTestPeer::generation(v), 0);
    for (NodeId i = 0; i < 20; ++i) EXPECT_FALSE(v.test(i)) << i;
    EXPECT_FALSE(v.test_and_set(5));
    // Marks written at generation 1 before a wrap must not leak after it.
    VisitedSetTestPeer::set_generation(v, std::numeric_limits<VisitedSet::Mark>::max());
    v.reset(20);
    EXPECT_EQ(VisitedSetTestPeer::generation(v), 1);
    EXPECT_FALSE(v.test(5));

    // Many searches in a row (several wraps of the two-byte marks): a mark
    // never outlives its search, also one that is never written again (id 19,
    // marked by the first search only).
    for (int search = 0; search < 200000; ++search) {
        v.reset(20);
        for (NodeId i = 0; i < 20; ++i) ASSERT_FALSE(v.test(i)) << "search " << search << " id " << i;
        if (search == 0) v.test_and_set(19);
        v.test_and_set(static_cast<NodeId>(search % 19));
        v.test_and_set(static_cast<NodeId>((search * 7) % 19));
    }
}

// A path graph 0-1-2-...-9 where node i has distance i to the query.
struct PathGraph {
    int n = 10;
    std::vector<bool> reject;
    template <class Emit>
    void expand(NodeId node, int, VisitedSet& v, Emit&& emit) {
        for (int d : {-1, 1}) {
            int nb = int(node) + d;
            if (nb >= 0 && nb < n && !v.test_and_set(NodeId(nb))) emit(Candidate{float(nb), NodeId(nb)});
        }
    }
};
struct FilteredPath : PathGraph {
    bool accept(NodeId id) const { return id % 2 == 1; }
};

TEST(HnswSearchLayer, BeamAndDiscarded) {
    PathGraph g;
    VisitedSet v;
    v.reset(10);
    Candidate e{9.0f, 9};
    v.test_and_set(9);
    std::vector<Candidate> res, disc;
    search_layer(g, &e, 1, 0, 3, v, res, &disc);
    ASSERT_EQ(res.size(), 3u);
    EXPECT_EQ(res[0].id, 0u);
    EXPECT_EQ(res[1].id, 1u);
    EXPECT_EQ(res[2].id, 2u);
    // Everything evaluated but not in the result is in discarded: 3..9.
    std::vector<NodeId> ids;
    for (auto& c : disc) ids.push_back(c.id);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<NodeId>{3, 4, 5, 6, 7, 8, 9}));
}

TEST(HnswSearchLayer, AcceptFiltersResultButTraverses) {
    FilteredPath g;
    VisitedSet v;
    v.reset(10);
    Candidate e{8.0f, 8};
    v.test_and_set(8);
    std::vector<Candidate> res, disc, frontier;
    search_layer(g, &e, 1, 0, 2, v, res, &disc, frontier);
    ASSERT_EQ(res.size(), 2u);
    EXPECT_EQ(res[0].id, 1u);  // reached through rejected even nodes
    EXPECT_EQ(res[1].id, 3u);
    for (auto& c : disc) EXPECT_EQ(c.id % 2, 1u);
}

struct Star {
    int expanded = 0;
    template <class Emit>
    void expand(NodeId node, int, VisitedSet& v, Emit&& emit) {
        ++expanded;
        if (node == 0) {
            for (NodeId i = 1; i <= 50; ++i)
                if (!v.test_and_set(i)) emit(Candidate{float(i), i});
        } else if (node <= 50) {
            NodeId far = node + 100;
            if (!v.test_and_set(far)) emit(Candidate{1000.0f + float(node), far});
        }
    }
};

TEST(HnswSearchLayer, StopsWhenBeamCannotImprove) {
    // Star: node 0 (dist 0) links to 1..50 with distances 1..50; each of
    // those links to a node at distance 1000 + i. With ef = 5 the search
    // must not expand beyond the 5 nearest leaves.
    Star g;
    VisitedSet v;
    v.reset(200);
    Candidate e{0, 0};
    v.test_and_set(0);
    std::vector<Candidate> res;
    search_layer(g, &e, 1, 0, 5, v, res);
    ASSERT_EQ(res.size(), 5u);
    EXPECT_EQ(res[0].id, 0u);  // the entry itself
    EXPECT_EQ(res[4].id, 4u);
    EXPECT_LE(g.expanded, 5);
}

TEST(HnswDistance, ResolveAndNormalize) {
    float a[4] = {1, 2, 3, 4}, b[4] = {2, 2, 2, 2};
    EXPECT_FLOAT_EQ(resolve_distance(Metric::L2, ElemType::F32)(a, b, 4), 1 + 0 + 1 + 4);
    EXPECT_FLOAT_EQ(resolve_distance(Metric::InnerProduct, ElemType::F32)(a, b, 4), -20);
    EXPECT_FLOAT_EQ(resolve_distance(Metric::L1, ElemType::F32)(a, b, 4), 4);
    float c[4] = {3, 0, 4, 0};
    ASSERT_TRUE(normalize(ElemType::F32, c, 4));
    EXPECT_FLOAT_EQ(c[0], 0.6f);
    EXPECT_FLOAT_EQ(c[2], 0.8f);
    EXPECT_NEAR(resolve_distance(Metric::Cosine, ElemType::F32)(c, c, 4), 0.0f, 1e-6);
    float z[3] = {0, 0, 0};
    EXPECT_FALSE(normalize(ElemType::F32, z, 3));
    // float16: 1.0 = 0x3c00, 2.0 = 0x4000, 3.0 = 0x4200.
    std::uint16_t h1[2] = {0x3c00, 0x4000}, h2[2] = {0x4200, 0x3c00};
    EXPECT_FLOAT_EQ(resolve_distance(Metric::L2, ElemType::F16)(h1, h2, 2), 4 + 1);
    EXPECT_FLOAT_EQ(resolve_distance(Metric::InnerProduct, ElemType::F16)(h1, h2, 2), -5);
    EXPECT_FLOAT_EQ(resolve_distance(Metric::L1, ElemType::F16)(h1, h2, 2), 3);
    std::uint16_t h3[2] = {0x4200, 0x0000};  // (3, 0) -> (1, 0)
    ASSERT_TRUE(normalize(ElemType::F16, h3, 2));
    EXPECT_EQ(h3[0], 0x3c00);
    EXPECT_FLOAT_EQ(resolve_distance(Metric::Cosine, ElemType::F16)(h3, h3, 2), 0);
}

// Terms that overflow to +inf and -inf make the inner product NaN; graph
// distances take it as +inf (a total order for heaps and sorts).
TEST(HnswDistance, NeverNaN) {
    float big[2] = {3e38f, 3e38f}, mixed[2] = {3e38f, -3e38f};
    const float d = resolve_distance(Metric::InnerProduct, ElemType::F32)(big, mixed, 2);
    EXPECT_FALSE(std::isnan(d));
    EXPECT_TRUE(std::isinf(d) && d > 0);
    EXPECT_TRUE(std::isinf(resolve_distance(Metric::InnerProduct, ElemType::F32)(big, big, 2)));  // -inf stays
    EXPECT_LT(resolve_distance(Metric::InnerProduct, ElemType::F32)(big, big, 2), 0);
    // float16 infinities (0x7c00, 0xfc00): what out-of-range construction vectors become.
    std::uint16_t pinf[2] = {0x7c00, 0x3c00}, minf[2] = {0xfc00, 0x3c00};
    for (Metric m : {Metric::L2, Metric::InnerProduct, Metric::Cosine, Metric::L1}) {
        const float x = resolve_distance(m, ElemType::F16)(pinf, minf, 2);
        EXPECT_FALSE(std::isnan(x)) << int(m);
    }
    EXPECT_EQ(ordered_distance(std::nanf("")), std::numeric_limits<float>::infinity());
    EXPECT_EQ(ordered_distance(-1.5f), -1.5f);
}

// storage = float16 scans: a float32 query against float16 vectors gives the
// graph distance of the query and the widened vector, for every metric
// (cosine as 1 - dot of normalised vectors, like the float32 adapter).
TEST(HnswDistance, MixedPrecisionMatchesWidened) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    for (std::size_t n : {1u, 7u, 16u, 33u, 100u, 784u}) {
        std::vector<float> q(n), wide(n);
        std::vector<std::uint16_t> x(n);
        for (std::size_t i = 0; i < n; ++i) {
            q[i] = u(rng);
            x[i] = float_to_half(u(rng));
            wide[i] = half_to_float(x[i]);
        }
        for (Metric m : {Metric::L2, Metric::InnerProduct, Metric::Cosine, Metric::L1}) {
            const float mixed = resolve_mixed_distance(m)(q.data(), x.data(), n);
            const float ref = resolve_distance(m, ElemType::F32)(q.data(), wide.data(), n);
            EXPECT_NEAR(mixed, ref, 1e-4f * std::max(1.0f, std::fabs(ref))) << int(m) << " n=" << n;
        }
    }
}

}  // namespace
}  // namespace vecdb::core::hnsw

// The Int8 kernels of every SIMD path agree with a plain loop.
namespace vecdb::core::hnsw {
namespace {
TEST(HnswInt8, KernelsAgreeOnEveryPath) {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> code(0, 255);
    std::uniform_real_distribution<float> wd(0.0f, 0.01f);
    const SimdPath before = kernels().path;
    for (SimdPath p : {SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512}) {
        if (!select_simd_path(p)) continue;
        const detail::Int8Kernels& k = detail::int8_kernels();
        for (std::size_t n : {1u, 7u, 8u, 15u, 16u, 17u, 33u, 100u, 129u}) {
            std::vector<std::uint8_t> a(n), b(n);
            std::vector<float> w(n);
            for (std::size_t i = 0; i < n; ++i) {
                a[i] = std::uint8_t(code(rng));
                b[i] = std::uint8_t(code(rng));
                w[i] = wd(rng);
            }
            double l2 = 0, dot = 0, l1 = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double d = double(a[i]) - double(b[i]);
                l2 += w[i] * d * d;
                dot += w[i] * double(a[i]) * double(b[i]);
                l1 += w[i] * std::fabs(d);
            }
            EXPECT_NEAR(k.wl2(a.data(), b.data(), w.data(), n), l2, 1e-4 * (1 + l2)) << n;
            EXPECT_NEAR(k.wdot(a.data(), b.data(), w.data(), n), dot, 1e-4 * (1 + dot)) << n;
            EXPECT_NEAR(k.wl1(a.data(), b.data(), w.data(), n), l1, 1e-4 * (1 + l1)) << n;
        }
    }
    select_simd_path(before);
}

TEST(HnswInt8, CodecRoundTripWithinHalfStep) {
    const std::uint32_t dim = 5;
    std::vector<float> rows = {0, -1, 10, 3, 3,  1, 1, 20, 3, 3,  0.5f, 0, 15, 3, 3};
    detail::Int8Codec c;
    c.train(rows.data(), 3, dim);
    std::uint8_t codes[5];
    for (int r = 0; r < 3; ++r) {
        const float bias = c.encode(rows.data() + r * dim, dim, codes);
        float expect_bias = 0;
        for (std::uint32_t i = 0; i < dim; ++i) {
            const float back = c.lo[i] + c.step[i] * codes[i];
            EXPECT_NEAR(back, rows[r * dim + i], c.step[i] / 2 + 1e-6f);
            expect_bias += c.lo[i] * c.step[i] * codes[i];
        }
        EXPECT_NEAR(bias, expect_bias, 1e-3f);
    }
    // Outside the sample range: clamped to the end codes.
    float far[5] = {100, -100, 10, 3, 3};
    c.encode(far, dim, codes);
    EXPECT_EQ(codes[0], 255);
    EXPECT_EQ(codes[1], 0);
}
}  // namespace
}  // namespace vecdb::core::hnsw
