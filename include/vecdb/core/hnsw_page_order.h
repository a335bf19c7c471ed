// Page packing for a built HNSW graph: the order in which the hnsw access
// method writes nodes so that each page holds a node and its nearest
// neighbours. (GraphBuilder::locality_order() is a breadth-first order that
// does not know the page size; a search then finds almost no neighbour on
// the page it already holds.) Pure C++, no Postgres headers.
#pragma once
#include <cstdint>
#include <vector>

#include "vecdb/core/hnsw.h"

namespace vecdb::core::hnsw {

// order[i] = the node to write i-th; every node exactly once. Pages of
// `slots_per_page` nodes are filled from a seed and the nearest unplaced
// neighbours of the page's members; the next seeds are the unplaced
// neighbours of placed pages, breadth-first from the entry point.
std::vector<NodeId> page_packed_order(const GraphBuilder& graph, std::uint32_t slots_per_page);

}  // namespace vecdb::core::hnsw
