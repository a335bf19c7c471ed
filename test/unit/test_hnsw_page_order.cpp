// page_packed_order (include/vecdb/core/hnsw_page_order.h): a permutation of
// the nodes that puts more of each node's neighbours on its own page than
// the builder's breadth-first locality order does.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "vecdb/core/hnsw_page_order.h"

namespace {
using namespace vecdb::core::hnsw;

std::unique_ptr<GraphBuilder> build(std::size_t n, std::size_t dim) {
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> rows(n * dim);
    for (float& x : rows) x = g(rng);
    Space sp{Metric::L2, ElemType::F32, std::uint32_t(dim)};
    auto b = std::make_unique<GraphBuilder>(sp, BuildParams(), BuildStorage::Exact, n);
    for (std::size_t i = 0; i < n; ++i) b->add(rows.data() + i * dim);
    EXPECT_TRUE(b->build(1, nullptr, nullptr));
    return b;
}

// Fraction of level-0 links that stay on the node's page.
double same_page(const GraphBuilder& b, const std::vector<NodeId>& order, std::uint32_t spp) {
    std::vector<std::size_t> pos(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
    std::size_t same = 0, total = 0;
    for (NodeId id = 0; id < b.size(); ++id) {
        int n = 0;
        const NodeId* nb = b.neighbors(id, 0, &n);
        for (int k = 0; k < n; ++k) {
            same += pos[nb[k]] / spp == pos[id] / spp;
            ++total;
        }
    }
    return total ? double(same) / double(total) : 0.0;
}

TEST(HnswPageOrder, PermutationWithBetterPageLocality) {
    const auto b = build(3000, 16);
    for (std::uint32_t spp : {1u, 7u, 15u}) {
        const std::vector<NodeId> order = page_packed_order(*b, spp);
        ASSERT_EQ(order.size(), b->size());
        std::vector<char> seen(order.size(), 0);
        for (NodeId id : order) {
            ASSERT_LT(id, order.size());
            ASSERT_FALSE(seen[id]) << "node " << id << " twice";
            seen[id] = 1;
        }
        if (spp > 1) {
            EXPECT_GT(same_page(*b, order, spp), 2.0 * same_page(*b, b->locality_order(), spp));
        }
    }
    EXPECT_EQ(page_packed_order(*b, 15).front(), b->entry_point());
}

TEST(HnswPageOrder, EmptyAndSingle) {
    Space sp{Metric::L2, ElemType::F32, 4};
    GraphBuilder empty(sp, BuildParams(), BuildStorage::Exact, 0);
    EXPECT_TRUE(page_packed_order(empty, 15).empty());
    GraphBuilder one(sp, BuildParams(), BuildStorage::Exact, 1);
    const float v[4] = {1, 2, 3, 4};
    one.add(v);
    ASSERT_TRUE(one.build(1, nullptr, nullptr));
    EXPECT_EQ(page_packed_order(one, 15), std::vector<NodeId>{0});
}

}  // namespace
