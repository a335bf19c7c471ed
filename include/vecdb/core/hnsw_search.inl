// search_layer: the beam search shared by the in-memory builder and the page
// scan. Included at the end of hnsw.h; do not include directly.
//
// Both queues live in flat vectors managed with std::push_heap/pop_heap:
//  * `result` is the beam W, a max-heap on distance while searching (its
//    front is the worst kept candidate), sorted nearest-first on return;
//  * `frontier` is the candidate set C, a min-heap on distance.
// Callers that search repeatedly pass their own `frontier` (and keep `result`
// and `visited` alive) so that no call allocates once the buffers have grown;
// the overload without it uses a per-thread buffer.
#pragma once
#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

namespace vecdb::core::hnsw {

namespace detail {

// Does the expander filter results (bool accept(NodeId))?
template <class T, class = void>
struct has_accept : std::false_type {};
template <class T>
struct has_accept<T, std::void_t<decltype(std::declval<T&>().accept(NodeId{}))>>
    : std::bool_constant<std::is_convertible_v<decltype(std::declval<T&>().accept(NodeId{})), bool>> {};

struct FartherFirst {  // max-heap on dist: front is the farthest
    bool operator()(const Candidate& a, const Candidate& b) const noexcept { return a.dist < b.dist; }
};
struct NearerFirst {  // min-heap on dist: front is the nearest
    bool operator()(const Candidate& a, const Candidate& b) const noexcept { return a.dist > b.dist; }
};

inline std::vector<Candidate>& thread_frontier() {
    static thread_local std::vector<Candidate> frontier;
    return frontier;
}

}  // namespace detail

// As search_layer below, with the caller's own frontier buffer (contents on
// entry are ignored; capacity is reused).
//
// Precisely: every candidate emitted by the expander, and every entry, is
// either (a) in `result` on return, (b) appended to `*discarded` — it was
// accepted but the beam had no room for it, or it was pushed out later — or
// (c) rejected by accept() (never in either). Rejected nodes are still
// expanded while they are closer than the beam's worst member, so deleted
// nodes do not cut paths through the graph.
namespace detail {

// Admits one evaluated candidate: into the frontier if it can still improve
// the beam, into the beam if accepted.
template <class Expander>
void admit(Expander& ex, const Candidate& c, std::size_t ef, std::vector<Candidate>& result,
           std::vector<Candidate>* discarded, std::vector<Candidate>& frontier) {
    constexpr bool kFiltered = has_accept<Expander>::value;
    if (result.size() < ef || c.dist < result.front().dist) {
        frontier.push_back(c);
        std::push_heap(frontier.begin(), frontier.end(), NearerFirst{});
        bool ok = true;
        if constexpr (kFiltered) ok = ex.accept(c.id);
        if (!ok) return;
        result.push_back(c);
        std::push_heap(result.begin(), result.end(), FartherFirst{});
        if (result.size() > ef) {
            std::pop_heap(result.begin(), result.end(), FartherFirst{});
            if (discarded) discarded->push_back(result.back());
            result.pop_back();
        }
    } else if (discarded) {
        if constexpr (kFiltered) {
            if (!ex.accept(c.id)) return;
        }
        discarded->push_back(c);
    }
}

// The k smallest accepted distances seen, ascending (patience's yardstick).
struct NearestK {
    float d[64];
    int n = 0;
    int k;
    explicit NearestK(int k_) : k(std::max(1, std::min(k_, 64))) {}
    // True if dist enters the k nearest.
    bool add(float dist) noexcept {
        if (n == k && dist >= d[n - 1]) return false;
        int j = n < k ? n++ : n - 1;
        while (j > 0 && d[j - 1] > dist) {
            d[j] = d[j - 1];
            --j;
        }
        d[j] = dist;
        return true;
    }
};

// The expansion loop: result is a max-heap, frontier a min-heap. With
// patience (expansions > 0, nearest seeded with the beam so far) it also
// stops after that many expansions in a row without a new k-nearest, and
// returns true.
template <class Expander>
bool beam_loop(Expander& ex, int level, std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
               std::vector<Candidate>* discarded, std::vector<Candidate>& frontier, int patience,
               NearestK* nearest) {
    constexpr bool kFiltered = has_accept<Expander>::value;
    bool improved = false;
    auto emit = [&](const Candidate& c) {
        admit(ex, c, ef, result, discarded, frontier);
        if (patience > 0) {
            bool ok = true;
            if constexpr (kFiltered) ok = ex.accept(c.id);
            if (ok && nearest->add(c.dist)) improved = true;
        }
    };
    int stall = 0;
    while (!frontier.empty()) {
        const Candidate c = frontier.front();
        // The nearest unexpanded candidate is farther than the worst of a
        // full beam: nothing reachable from here can enter the beam.
        if (result.size() >= ef && c.dist > result.front().dist) break;
        std::pop_heap(frontier.begin(), frontier.end(), NearerFirst{});
        frontier.pop_back();
        improved = false;
        ex.expand(c.id, level, visited, emit);
        if (patience > 0) {
            stall = improved ? 0 : stall + 1;
            if (stall >= patience && nearest->n >= nearest->k) return true;
        }
    }
    return false;
}

}  // namespace detail

// As search_layer below, with the caller's own frontier buffer (contents on
// entry are ignored; capacity is reused).
//
// Precisely: every candidate emitted by the expander, and every entry, is
// either (a) in `result` on return, (b) appended to `*discarded` — it was
// accepted but the beam had no room for it, or it was pushed out later — or
// (c) rejected by accept() (never in either). Rejected nodes are still
// expanded while they are closer than the beam's worst member, so deleted
// nodes do not cut paths through the graph.
template <class Expander>
void search_layer(Expander& ex, const Candidate* entries, std::size_t n_entries, int level,
                  std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                  std::vector<Candidate>* discarded, std::vector<Candidate>& frontier) {
    if (ef == 0) ef = 1;
    result.clear();
    frontier.clear();
    for (std::size_t i = 0; i < n_entries; ++i) detail::admit(ex, entries[i], ef, result, discarded, frontier);
    detail::beam_loop(ex, level, ef, visited, result, discarded, frontier, 0, nullptr);
    std::sort_heap(result.begin(), result.end(), detail::FartherFirst{});  // ascending distance
}

template <class Expander>
bool search_layer_patient(Expander& ex, const Candidate* entries, std::size_t n_entries, int level,
                          std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                          std::vector<Candidate>& frontier, const Patience& patience) {
    if (ef == 0) ef = 1;
    result.clear();
    frontier.clear();
    for (std::size_t i = 0; i < n_entries; ++i) detail::admit(ex, entries[i], ef, result, nullptr, frontier);
    detail::NearestK nearest(patience.k);
    for (const Candidate& c : result) nearest.add(c.dist);
    const bool stopped = detail::beam_loop(ex, level, ef, visited, result, nullptr, frontier,
                                           std::max(patience.expansions, 0), &nearest);
    std::sort_heap(result.begin(), result.end(), detail::FartherFirst{});
    return stopped;
}

template <class Expander>
void resume_layer(Expander& ex, int level, std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                  std::vector<Candidate>& frontier) {
    if (ef == 0) ef = 1;
    std::make_heap(result.begin(), result.end(), detail::FartherFirst{});
    detail::beam_loop(ex, level, ef, visited, result, nullptr, frontier, 0, nullptr);
    std::sort_heap(result.begin(), result.end(), detail::FartherFirst{});
}

template <class Expander>
void search_layer(Expander& ex, const Candidate* entries, std::size_t n_entries, int level,
                  std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                  std::vector<Candidate>* discarded) {
    search_layer(ex, entries, n_entries, level, ef, visited, result, discarded,
                 detail::thread_frontier());
}

template <class Expander>
void ResumableSearch::start(Expander& ex, const Candidate* entries, std::size_t n_entries) {
    constexpr bool kFiltered = detail::has_accept<Expander>::value;
    const detail::NearerFirst nearer;
    frontier_.clear();
    pool_.clear();
    for (std::size_t i = 0; i < n_entries; ++i) {
        frontier_.push_back(entries[i]);
        std::push_heap(frontier_.begin(), frontier_.end(), nearer);
        bool ok = true;
        if constexpr (kFiltered) ok = ex.accept(entries[i].id);
        if (!ok) continue;
        pool_.push_back(entries[i]);
        std::push_heap(pool_.begin(), pool_.end(), nearer);
    }
}

template <class Expander>
std::size_t ResumableSearch::next(Expander& ex, int level, std::size_t ef, VisitedSet& visited,
                                  std::size_t budget, std::vector<Candidate>& out) {
    constexpr bool kFiltered = detail::has_accept<Expander>::value;
    const detail::FartherFirst farther;
    const detail::NearerFirst nearer;
    if (ef == 0) ef = 1;
    // The beam: the pool's ef nearest (a max-heap, front = worst kept). The
    // pool holds nothing nearer than the beam's worst from here on.
    std::vector<Candidate>& beam = out;
    beam.clear();
    while (!pool_.empty() && beam.size() < ef) {
        std::pop_heap(pool_.begin(), pool_.end(), nearer);
        beam.push_back(pool_.back());
        pool_.pop_back();
        std::push_heap(beam.begin(), beam.end(), farther);
    }
    std::size_t scored = 0;
    auto emit = [&](const Candidate& c) {
        ++scored;
        // Every scored node stays expandable: a later round's wider reach
        // may need it.
        frontier_.push_back(c);
        std::push_heap(frontier_.begin(), frontier_.end(), nearer);
        if constexpr (kFiltered) {
            if (!ex.accept(c.id)) return;
        }
        Candidate spill = c;
        if (beam.size() < ef || c.dist < beam.front().dist) {
            beam.push_back(c);
            std::push_heap(beam.begin(), beam.end(), farther);
            if (beam.size() <= ef) return;
            std::pop_heap(beam.begin(), beam.end(), farther);
            spill = beam.back();
            beam.pop_back();
        }
        pool_.push_back(spill);
        std::push_heap(pool_.begin(), pool_.end(), nearer);
    };
    while (!frontier_.empty() && scored < budget) {
        const Candidate c = frontier_.front();
        if (beam.size() >= ef && c.dist > beam.front().dist) break;
        std::pop_heap(frontier_.begin(), frontier_.end(), nearer);
        frontier_.pop_back();
        ex.expand(c.id, level, visited, emit);
    }
    std::sort_heap(beam.begin(), beam.end(), farther);  // ascending distance
    return scored;
}

}  // namespace vecdb::core::hnsw
