// Neighbour selection, level sampling and the visited set.
#include "vecdb/core/no_postgres.h"

#include <algorithm>
#include <cmath>

#include "vecdb/core/hnsw.h"
#include "hnsw_select_impl.h"

namespace vecdb::core::hnsw {

int select_neighbors(const Candidate* cands, int n_cands, int max_out,
                     const std::function<float(NodeId, NodeId)>& pair_dist, NodeId* out) {
    static thread_local std::vector<int> pruned;
    return detail::select_neighbors_impl(cands, n_cands, max_out, max_out, pair_dist, out, pruned);
}

// splitmix64: small, fast, and good enough for level sampling.
static inline std::uint64_t next_random(std::uint64_t& s) noexcept {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int random_level(std::uint64_t& rng_state, int m) noexcept {
    // U uniform in (0, 1]: 53 random bits, never 0 so -ln(U) is finite.
    const double u = double((next_random(rng_state) >> 11) + 1) * (1.0 / 9007199254740992.0);
    const double mult = 1.0 / std::log(double(m < 2 ? 2 : m));
    const double lv = -std::log(u) * mult;
    return lv >= kMaxLevel ? kMaxLevel : int(lv);
}

void VisitedSet::reset(std::size_t capacity) {
    if (marks_.size() < capacity) {
        // New marks start at 0; generation_ > 0 after the bump below, so
        // they read as unvisited.
        marks_.resize(capacity, 0);
    }
    if (++generation_ == 0) {
        // Wrapped: old marks could equal a future generation. Clear once
        // every 65,535 resets.
        std::fill(marks_.begin(), marks_.end(), Mark{0});
        generation_ = 1;
    }
}

}  // namespace vecdb::core::hnsw
