// The neighbour-selection heuristic as a template, so the builder can inline
// its distance function; select_neighbors() wraps it for std::function users.
#pragma once
#include <vector>

#include "vecdb/core/hnsw.h"

namespace vecdb::core::hnsw::detail {

// See select_neighbors in hnsw.h; the fill stops at fill_to (<= max_out).
// `pruned` is scratch (reused, any size). Repeated candidate ids are dropped.
template <class PairDist>
int select_neighbors_impl(const Candidate* cands, int n_cands, int max_out, int fill_to,
                          PairDist&& pair_dist, NodeId* out, std::vector<int>& pruned) {
    if (max_out <= 0) return 0;
    int n_out = 0;
    pruned.clear();
    for (int i = 0; i < n_cands && n_out < max_out; ++i) {
        const Candidate& c = cands[i];
        bool keep = true;
        for (int j = 0; j < n_out; ++j) {
            if (out[j] == c.id) {  // repeated candidate
                keep = false;
                break;
            }
            // c is closer to an already kept neighbour than to the base:
            // the base reaches c through that neighbour.
            if (pair_dist(c.id, out[j]) < c.dist) {
                keep = false;
                pruned.push_back(i);
                break;
            }
        }
        if (keep) out[n_out++] = c.id;
    }
    // Fill the free places with the nearest pruned candidates. Lists that are
    // full keep the short edges the heuristic would drop, which costs nothing
    // in connectivity; diverse long edges were already kept above.
    for (std::size_t p = 0; p < pruned.size() && n_out < fill_to; ++p) {
        const NodeId id = cands[pruned[p]].id;
        bool dup = false;
        for (int j = 0; j < n_out && !dup; ++j) dup = out[j] == id;
        if (!dup) out[n_out++] = id;
    }
    return n_out;
}

}  // namespace vecdb::core::hnsw::detail
