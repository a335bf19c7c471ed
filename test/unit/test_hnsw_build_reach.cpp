// After build(), every node is reachable on level 0 from entry_point(), even
// for inner product on vectors whose norms differ ~50-fold, with m = 4: a
// small-norm vector is "far" from everything there, so full lists re-pruned
// by the heuristic drop it and the end-of-build repair has real work to do.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_hnsw_util.h"

namespace {
using namespace hnsw_test;

// The generator of test/sql/hnsw_reach.sql: components in [-0.5, 0.5),
// scaled by a norm factor between e^-3 and e^1.
std::vector<float> varying_norms(std::size_t n, std::size_t dim) {
    std::vector<float> v(n * dim);
    for (std::size_t i = 1; i <= n; ++i) {
        const double scale = std::exp(4 * (std::sin(double(i) * 3.7) * 0.5 + 0.5) - 3);
        for (std::size_t j = 1; j <= dim; ++j) {
            const double x = std::sin(double(i) * 12.9898 + double(j) * 78.233) * 43758.5453;
            v[(i - 1) * dim + (j - 1)] = float((x - std::floor(x) - 0.5) * scale);
        }
    }
    return v;
}

std::vector<NodeId> unreachable_nodes(const GraphBuilder& g) {
    const std::vector<char> seen = reached_from_entry(g);
    std::vector<NodeId> out;
    for (NodeId id = 0; id < g.size(); ++id)
        if (!seen[id]) out.push_back(id);
    return out;
}

TEST(HnswBuildReach, InnerProductVaryingNormsAllReachable) {
    const std::size_t dim = 16;
    for (std::size_t n : {1000u, 2000u, 5000u}) {
        const auto rows = varying_norms(n, dim);
        for (int ef : {16, 64}) {
            BuildParams p;
            p.m = 4;
            p.ef_construction = ef;
            for (BuildStorage st : {BuildStorage::Exact, BuildStorage::Int8}) {
                for (int threads : {1, 2}) {
                    Space sp{Metric::InnerProduct, ElemType::F32, std::uint32_t(dim)};
                    GraphBuilder g(sp, p, st, n);
                    for (std::size_t i = 0; i < n; ++i) g.add(rows.data() + i * dim);
                    ASSERT_TRUE(g.build(threads, nullptr, nullptr));
                    const auto lost = unreachable_nodes(g);
                    EXPECT_TRUE(lost.empty())
                        << lost.size() << " of " << n << " unreachable (ef_construction " << ef
                        << ", storage " << int(st) << ", threads " << threads << "), first "
                        << lost.front();
                    for (NodeId id = 0; id < n; ++id) {
                        int cnt;
                        g.neighbors(id, 0, &cnt);
                        ASSERT_LE(cnt, 2 * p.m);
                    }
                }
            }
        }
    }
}

}  // namespace
