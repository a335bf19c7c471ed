// GraphBuilder on synthetic data: graph invariants, determinism,
// connectivity of well-separated clusters, memory accounting, stopping,
// locality order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "vecdb/core/half.h"
#include "test_hnsw_util.h"

namespace {
using namespace hnsw_test;

std::unique_ptr<GraphBuilder> build_raw(const std::vector<float>& rows, std::size_t dim, Metric m,
                                        BuildStorage st, int threads, BuildParams p = BuildParams()) {
    Space sp{m, ElemType::F32, std::uint32_t(dim)};
    const std::size_t n = rows.size() / dim;
    auto g = std::make_unique<GraphBuilder>(sp, p, st, n);
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(g->add(rows.data() + i * dim), NodeId(i));
    EXPECT_TRUE(g->build(threads, nullptr, nullptr));
    return g;
}

std::vector<float> uniform(std::size_t n, std::size_t dim, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n * dim);
    for (float& x : v) x = u(rng);
    return v;
}

// Every invariant a graph written to pages relies on.
void check_invariants(const GraphBuilder& g, const std::vector<float>& rows, std::size_t dim, Metric m,
                      int max_m) {
    const std::size_t n = g.size();
    ASSERT_LT(g.entry_point(), n);
    ASSERT_EQ(g.level(g.entry_point()), g.max_level());
    DistFn fn = resolve_distance(m, ElemType::F32);
    for (NodeId id = 0; id < n; ++id) {
        ASSERT_LE(g.level(id), g.max_level());
        for (int l = 0; l <= g.level(id); ++l) {
            int cnt;
            const NodeId* nb = g.neighbors(id, l, &cnt);
            ASSERT_LE(cnt, l == 0 ? 2 * max_m : max_m) << id << "@" << l;
            std::set<NodeId> seen;
            float prev = -1e30f;
            for (int i = 0; i < cnt; ++i) {
                ASSERT_LT(nb[i], n);
                ASSERT_NE(nb[i], id) << "self loop at " << id;
                ASSERT_TRUE(seen.insert(nb[i]).second) << "duplicate in " << id << "@" << l;
                ASSERT_GE(g.level(nb[i]), l) << "neighbour without that level";
                const float d = fn(rows.data() + id * dim, rows.data() + std::size_t(nb[i]) * dim, dim);
                ASSERT_GE(d, prev - 1e-4f) << "list not sorted nearest-first";
                prev = d;
            }
        }
        int cnt;
        g.neighbors(id, g.level(id) + 1, &cnt);
        ASSERT_EQ(cnt, 0);
    }
}

std::size_t reachable_from_entry(const GraphBuilder& g) {
    const std::vector<char> seen = reached_from_entry(g);
    return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 1));
}

TEST(HnswBuild, InvariantsSingleAndMultiThread) {
    const std::size_t dim = 16;
    auto rows = uniform(3000, dim, 1);
    BuildParams p;
    p.m = 8;
    p.ef_construction = 40;
    for (int threads : {1, 3}) {
        auto g = build_raw(rows, dim, Metric::L2, BuildStorage::Exact, threads, p);
        check_invariants(*g, rows, dim, Metric::L2, p.m);
        EXPECT_EQ(reachable_from_entry(*g), rows.size() / dim);
        // Level-0 lists are not starved: on average at least m links.
        std::size_t total = 0;
        for (NodeId id = 0; id < g->size(); ++id) {
            int cnt;
            g->neighbors(id, 0, &cnt);
            total += std::size_t(cnt);
        }
        EXPECT_GE(double(total) / double(g->size()), double(p.m));
    }
}

TEST(HnswBuild, DeterministicWithOneThread) {
    const std::size_t dim = 8;
    auto rows = uniform(2000, dim, 2);
    auto a = build_raw(rows, dim, Metric::L2, BuildStorage::Exact, 1);
    auto b = build_raw(rows, dim, Metric::L2, BuildStorage::Exact, 1);
    BuildParams other;
    other.seed = 99;
    auto c = build_raw(rows, dim, Metric::L2, BuildStorage::Exact, 1, other);
    ASSERT_EQ(a->entry_point(), b->entry_point());
    ASSERT_EQ(a->max_level(), b->max_level());
    bool differs = a->entry_point() != c->entry_point() || a->max_level() != c->max_level();
    for (NodeId id = 0; id < a->size(); ++id) {
        ASSERT_EQ(a->level(id), b->level(id));
        differs |= a->level(id) != c->level(id);
        for (int l = 0; l <= a->level(id); ++l) {
            int na, nb;
            const NodeId* la = a->neighbors(id, l, &na);
            const NodeId* lb = b->neighbors(id, l, &nb);
            ASSERT_EQ(std::vector<NodeId>(la, la + na), std::vector<NodeId>(lb, lb + nb)) << id;
        }
    }
    EXPECT_TRUE(differs) << "the seed has no effect";
}

TEST(HnswBuild, WellSeparatedClustersStayConnected) {
    // 20 tight clusters whose centres are ~100 sigma apart: greedy pruning
    // tends to drop every inter-cluster edge here.
    const std::size_t dim = 32;
    for (std::uint32_t seed : {1u, 2u, 3u}) {
        auto rows = clustered(20, 150, dim, 10.0f, 0.05f, seed);
        BuildParams p;
        p.seed = seed;
        for (int threads : {1, 2}) {
            auto g = build_raw(rows, dim, Metric::L2, BuildStorage::Exact, threads, p);
            EXPECT_EQ(reachable_from_entry(*g), g->size()) << "seed " << seed << " threads " << threads;
            check_invariants(*g, rows, dim, Metric::L2, p.m);
            // Every cluster is found: the nearest neighbour of each point.
            Dataset d;
            d.dim = dim;
            d.n = rows.size() / dim;
            d.base = rows;
            d.query.assign(rows.begin(), rows.begin() + long(40 * dim));
            d.nq = 40;
            MemorySearch s(*g, d.base.data(), dim, Metric::L2);
            for (std::size_t q = 0; q < d.nq; ++q) {
                auto res = s.search(d.query.data() + q * dim, 1, 16);
                ASSERT_FALSE(res.empty());
                EXPECT_EQ(res[0].dist, 0.0f) << "query " << q;
            }
        }
    }
}

TEST(HnswBuild, MemoryEstimateMatchesPeak) {
    // Accounting does not depend on the data: small ef keeps this quick.
    const std::size_t dim = 100, n = 20000;
    auto rows = clustered(40, n / 40, dim, 1.0f, 0.3f, 3);
    for (BuildStorage st : {BuildStorage::Exact, BuildStorage::Half, BuildStorage::Int8}) {
        for (int threads : {1, 2}) {
            Space sp{Metric::L2, ElemType::F32, dim};
            BuildParams p;
            p.ef_construction = 8;
            GraphBuilder g(sp, p, st, n);
            std::size_t peak = 0;
            for (std::size_t i = 0; i < n; ++i) {
                g.add(rows.data() + i * dim);
                peak = std::max(peak, g.memory_bytes());
            }
            ASSERT_TRUE(g.build(threads, nullptr, [&](std::size_t) { peak = std::max(peak, g.memory_bytes()); }));
            peak = std::max(peak, g.memory_bytes());
            const std::size_t est = GraphBuilder::estimate_bytes(sp, p, st, n, threads);
            EXPECT_NEAR(double(peak), double(est), 0.10 * double(est))
                << "storage " << int(st) << " threads " << threads;
            EXPECT_LE(peak, est + est / 50);
            // Settled size (no build threads, no Int8 sample) is close too.
            EXPECT_NEAR(double(g.memory_bytes()), double(est), 0.10 * double(est));
        }
    }
    // Half and Int8 really are smaller.
    Space sp{Metric::L2, ElemType::F32, dim};
    const std::size_t exact = GraphBuilder::estimate_bytes(sp, BuildParams(), BuildStorage::Exact, 1000000);
    const std::size_t half = GraphBuilder::estimate_bytes(sp, BuildParams(), BuildStorage::Half, 1000000);
    const std::size_t i8 = GraphBuilder::estimate_bytes(sp, BuildParams(), BuildStorage::Int8, 1000000);
    EXPECT_LT(half, exact * 3 / 4);
    EXPECT_LT(i8, half * 3 / 4);
}

TEST(HnswBuild, StopsWhenAsked) {
    const std::size_t dim = 16;
    auto rows = uniform(5000, dim, 4);
    for (int threads : {1, 2}) {
        Space sp{Metric::L2, ElemType::F32, dim};
        GraphBuilder g(sp, BuildParams(), BuildStorage::Exact, 5000);
        for (std::size_t i = 0; i < 5000; ++i) g.add(rows.data() + i * dim);
        std::size_t last = 0;
        int polls = 0;
        bool ok = g.build(threads, [&] { return ++polls > 2; }, [&](std::size_t done) { last = done; });
        EXPECT_FALSE(ok);
        EXPECT_LT(last, 5000u);
    }
    // Progress reaches n on a full build.
    Space sp{Metric::L2, ElemType::F32, dim};
    GraphBuilder g(sp, BuildParams(), BuildStorage::Exact, 100);
    for (std::size_t i = 0; i < 1000; ++i) g.add(rows.data() + i * dim);  // beyond expected: grows
    std::size_t last = 0;
    EXPECT_TRUE(g.build(2, [] { return false; }, [&](std::size_t done) { last = done; }));
    EXPECT_EQ(last, 1000u);
    check_invariants(g, rows, dim, Metric::L2, 16);
}

TEST(HnswBuild, AddAfterBuildAndSmallGraphs) {
    const std::size_t dim = 8;
    auto rows = uniform(600, dim, 5);
    Space sp{Metric::L2, ElemType::F32, dim};
    // Empty and single-node graphs.
    {
        GraphBuilder g(sp, BuildParams(), BuildStorage::Exact, 0);
        EXPECT_TRUE(g.build(2, nullptr, nullptr));
        EXPECT_EQ(g.size(), 0u);
        EXPECT_TRUE(g.locality_order().empty());
        g.add(rows.data());
        EXPECT_TRUE(g.build(1, nullptr, nullptr));
        EXPECT_EQ(g.entry_point(), 0u);
        EXPECT_EQ(g.locality_order(), std::vector<NodeId>{0});
    }
    GraphBuilder g(sp, BuildParams(), BuildStorage::Exact, 300);
    for (std::size_t i = 0; i < 300; ++i) g.add(rows.data() + i * dim);
    ASSERT_TRUE(g.build(2, nullptr, nullptr));
    for (std::size_t i = 300; i < 600; ++i) g.add(rows.data() + i * dim);
    ASSERT_TRUE(g.build(1, nullptr, nullptr));
    check_invariants(g, rows, dim, Metric::L2, 16);
    EXPECT_EQ(reachable_from_entry(g), 600u);
}

TEST(HnswBuild, LocalityOrderIsAPermutationStartingAtEntry) {
    const std::size_t dim = 16;
    auto rows = clustered(5, 400, dim, 5.0f, 0.3f, 7);
    auto g = build_raw(rows, dim, Metric::L2, BuildStorage::Exact, 1);
    auto order = g->locality_order();
    ASSERT_EQ(order.size(), g->size());
    EXPECT_EQ(order[0], g->entry_point());
    std::vector<NodeId> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (NodeId i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
    // Neighbours land close: with 16 nodes a page, most pages hold nodes of
    // one cluster (ids are interleaved across clusters, so id order would not).
    std::size_t same = 0, pairs = 0;
    for (std::size_t i = 0; i + 1 < order.size(); ++i) {
        if (i % 16 == 15) continue;
        ++pairs;
        same += (order[i] % 5) == (order[i + 1] % 5);
    }
    EXPECT_GT(double(same) / double(pairs), 0.8);
}

TEST(HnswBuild, Float16SpaceAndInnerProduct) {
    const std::size_t dim = 24, n = 2000;
    auto rows = uniform(n, dim, 8);
    std::vector<std::uint16_t> halves(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i] = std::round(rows[i] * 1024.0f) / 1024.0f;  // exact in float16
        halves[i] = vecdb::core::float_to_half(rows[i]);
        ASSERT_EQ(vecdb::core::half_to_float(halves[i]), rows[i]);
    }
    for (Metric m : {Metric::L2, Metric::InnerProduct, Metric::L1}) {
        Space sp{m, ElemType::F16, dim};
        GraphBuilder g(sp, BuildParams(), BuildStorage::Exact, n);
        for (std::size_t i = 0; i < n; ++i) g.add(halves.data() + i * dim);
        ASSERT_TRUE(g.build(2, nullptr, nullptr));
        check_invariants(g, rows, dim, m, 16);
        Dataset d;
        d.dim = dim;
        d.n = n;
        d.base = rows;
        d.query = uniform(50, dim, 9);
        d.nq = 50;
        auto gt = brute_force(d, m, 10);
        EXPECT_GE(recall(g, d, m, gt, 10, 10, 64), 0.95) << int(m);
    }
}

}  // namespace
