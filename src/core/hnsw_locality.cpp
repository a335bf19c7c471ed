// GraphBuilder::locality_order: the order in which to write nodes to pages.
//
// Breadth-first over level 0 from the entry point, each node's neighbours
// taken nearest-first (lists are sorted after build), so a node is followed
// by its nearest unplaced neighbours and a search that expands it finds many
// of them on the page it is already reading. Nodes the walk cannot reach
// (none after build(), which links them in) start walks of their own, in id
// order, so every node appears exactly once.
#include "vecdb/core/no_postgres.h"

#include "hnsw_builder_impl.h"

namespace vecdb::core::hnsw {

std::vector<NodeId> GraphBuilder::locality_order() const {
    const Impl& g = *impl_;
    const std::size_t n = g.n;
    const bool linked = g.upper_off.size() >= n;  // link arrays exist for all
    std::vector<NodeId> order;
    order.reserve(n);
    std::vector<std::uint8_t> placed(n, 0);
    auto walk = [&](NodeId from) {
        std::size_t head = order.size();
        placed[from] = 1;
        order.push_back(from);
        if (!linked) return;
        for (; head < order.size(); ++head) {
            const std::uint32_t* lst = g.list0(order[head]);
            for (std::uint32_t i = 0; i < lst[0]; ++i) {
                const NodeId nb = lst[1 + i];
                if (nb < n && !placed[nb]) {
                    placed[nb] = 1;
                    order.push_back(nb);
                }
            }
        }
    };
    if (g.entry != kNoNode && g.entry < n) walk(g.entry);
    for (NodeId id = 0; id < n; ++id)
        if (!placed[id]) walk(id);
    return order;
}

}  // namespace vecdb::core::hnsw
