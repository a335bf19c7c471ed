// page_packed_order: see include/vecdb/core/hnsw_page_order.h.
#include "vecdb/core/no_postgres.h"

#include "vecdb/core/hnsw_page_order.h"

namespace vecdb::core::hnsw {

std::vector<NodeId> page_packed_order(const GraphBuilder& graph, std::uint32_t slots_per_page) {
    const std::size_t n = graph.size();
    std::vector<NodeId> order;
    order.reserve(n);
    std::vector<std::uint8_t> placed(n, 0);
    std::vector<NodeId> seeds;  // FIFO of candidate seeds (may repeat)
    std::size_t seed_head = 0;
    NodeId next_unplaced = 0;
    const std::uint32_t spp = slots_per_page ? slots_per_page : 1;
    if (graph.entry_point() != kNoNode && graph.entry_point() < n) seeds.push_back(graph.entry_point());

    while (order.size() < n) {
        NodeId seed = kNoNode;
        while (seed_head < seeds.size()) {
            const NodeId c = seeds[seed_head++];
            if (!placed[c]) {
                seed = c;
                break;
            }
        }
        if (seed == kNoNode) {
            while (placed[next_unplaced]) ++next_unplaced;
            seed = next_unplaced;
        }
        if (seeds.size() > 4 * n) {  // keep the FIFO small
            seeds.erase(seeds.begin(), seeds.begin() + static_cast<std::ptrdiff_t>(seed_head));
            seed_head = 0;
        }
        const std::size_t start = order.size();
        placed[seed] = 1;
        order.push_back(seed);
        // Fill the page: nearest unplaced neighbours of its members, the
        // seed's first (lists are nearest-first).
        for (std::size_t k = start; k < order.size() && order.size() - start < spp; ++k) {
            int cnt = 0;
            const NodeId* nb = graph.neighbors(order[k], 0, &cnt);
            for (int i = 0; i < cnt && order.size() - start < spp; ++i) {
                const NodeId c = nb[i];
                if (c < n && !placed[c]) {
                    placed[c] = 1;
                    order.push_back(c);
                }
            }
        }
        // Unplaced neighbours of this page seed later pages.
        for (std::size_t k = start; k < order.size(); ++k) {
            int cnt = 0;
            const NodeId* nb = graph.neighbors(order[k], 0, &cnt);
            for (int i = 0; i < cnt; ++i)
                if (nb[i] < n && !placed[nb[i]]) seeds.push_back(nb[i]);
        }
    }
    return order;
}

}  // namespace vecdb::core::hnsw
