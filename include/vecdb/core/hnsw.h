// HNSW graph math, independent of where the graph lives.
//
// Two users:
//  * CREATE INDEX builds the whole graph in memory with GraphBuilder (several
//    threads, memory-bounded), then the access method writes it to pages.
//  * The access method searches and inserts on Postgres pages. It supplies an
//    "expander" that knows pages and buffers; the beam search itself
//    (search_layer) and neighbour selection (select_neighbors) are shared.
//
// Pure C++: no Postgres headers. Nothing here throws except std::bad_alloc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "vecdb/core/distance.h"

namespace vecdb::core::hnsw {

using NodeId = std::uint32_t;
constexpr NodeId kNoNode = 0xFFFFFFFFu;
constexpr int kMaxLevel = 15;

enum class Metric : std::uint8_t { L2 = 0, InnerProduct = 1, Cosine = 2, L1 = 3 };
enum class ElemType : std::uint8_t { F32 = 0, F16 = 1 };

// Graph-internal distance: smaller is closer, monotone in the SQL distance.
//   L2 -> squared L2, InnerProduct -> -dot, Cosine -> 1 - dot of vectors the
//   caller normalised before adding them, L1 -> L1.
// Never NaN (ordered_distance): the search's heaps and the selection's sorts
// need a total order.
using DistFn = float (*)(const void* a, const void* b, std::size_t dim) noexcept;
// Resolved against the kernels active at call time (vecdb.simd_path).
DistFn resolve_distance(Metric m, ElemType t) noexcept;
// A float32 first argument (a query) against float16 vectors: the scan of an
// index that stores float16 copies of float32 vectors (storage = float16).
DistFn resolve_mixed_distance(Metric m) noexcept;

// Finite vectors can still give a NaN distance: an inner product whose
// terms overflow to +inf and -inf (values near the float range), or the sum
// of a straddling slot's two partial distances. Such a distance is taken as
// +inf: after every number, where PostgreSQL's sort puts NaN.
inline float ordered_distance(float d) noexcept { return d == d ? d : __builtin_huge_valf(); }

struct Space {
    Metric metric = Metric::L2;
    ElemType type = ElemType::F32;
    std::uint32_t dim = 0;
    std::size_t vector_bytes() const noexcept { return dim * (type == ElemType::F32 ? 4u : 2u); }
};

// Normalise in place for the cosine metric; false if the norm is zero
// (such vectors are not indexed: their cosine distance is undefined).
bool normalize(ElemType t, void* vec, std::uint32_t dim) noexcept;

struct Candidate {
    float dist;
    NodeId id;
};

// Visited marks for one search at a time, reused across searches: reset()
// bumps a generation counter instead of clearing memory.
class VisitedSet {
public:
    // Two bytes per id (four before): every searching backend keeps such
    // sets sized to the index, and a search tests a mark for every neighbour
    // it meets. The price is a full clear every 65,535 searches; one byte
    // would clear a 16 MB array every 255 (a scan resets twice), right in
    // the p99 of a large index.
    using Mark = std::uint16_t;
    void reset(std::size_t capacity);  // ids < capacity are valid afterwards
    bool test_and_set(NodeId id) noexcept {
        Mark& m = marks_[id];
        if (m == generation_) return true;
        m = generation_;
        return false;
    }
    bool test(NodeId id) const noexcept { return marks_[id] == generation_; }
    std::size_t capacity() const noexcept { return marks_.size(); }
    // Hint: the mark of id will be tested soon.
    void prefetch(NodeId id) const noexcept { __builtin_prefetch(marks_.data() + id); }

private:
    friend struct VisitedSetTestPeer;  // unit tests force a generation wrap
    std::vector<Mark> marks_;
    Mark generation_ = 0;
};

// The beam search of one layer (the HNSW paper's SEARCH-LAYER).
//
// Expander is anything with
//     template <class Emit> void expand(NodeId node, int level, VisitedSet& v, Emit&& emit);
// which, for every neighbour nb of `node` at `level` with !v.test_and_set(nb),
// calls emit(Candidate{distance(query, nb), nb}). The expander decides how to
// read neighbour lists and vectors (memory, or pages grouped by block).
// Optionally it may also have `bool accept(NodeId)`: nodes it rejects (e.g.
// deleted) are traversed but not put into the result.
//
// `entries` must already be marked visited and carry their distances.
// `result` receives at most ef candidates, nearest first.
// `discarded`, if not null, receives candidates that were evaluated but fell
// out of the beam (the iterative scan resumes from them).
template <class Expander>
void search_layer(Expander& ex, const Candidate* entries, std::size_t n_entries, int level,
                  std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                  std::vector<Candidate>* discarded = nullptr);
// The same with the caller's own frontier buffer, so that repeated searches
// allocate nothing once their buffers have grown (the overload above uses a
// per-thread buffer). Exact contract of result/discarded/accept: see
// hnsw_search.inl.
template <class Expander>
void search_layer(Expander& ex, const Candidate* entries, std::size_t n_entries, int level,
                  std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                  std::vector<Candidate>* discarded, std::vector<Candidate>& frontier);

// Early termination ("patience"): besides its usual stop, the search ends once
// its k nearest have not changed for `expansions` expansions in a row. Most of
// a wide beam's late expansions only confirm the nearest few: on glove-100,
// stopping after ef/3 unchanged expansions reaches recall@10 0.95 with about a
// third fewer distances than the ef that reaches it without (docs/hnsw.md).
struct Patience {
    int expansions = 0;  // 0: off
    int k = 10;          // 1..64
};

// search_layer (caller's frontier, no discarded list) with early termination.
// Returns true when patience ended it: `result` (nearest first) and
// `frontier` then hold the stopped state, and resume_layer continues it to
// exactly the result search_layer would have returned.
template <class Expander>
bool search_layer_patient(Expander& ex, const Candidate* entries, std::size_t n_entries, int level,
                          std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                          std::vector<Candidate>& frontier, const Patience& patience);
template <class Expander>
void resume_layer(Expander& ex, int level, std::size_t ef, VisitedSet& visited, std::vector<Candidate>& result,
                  std::vector<Candidate>& frontier);

// A beam search on one layer that can be continued where it stopped: the
// iterative index scan (a WHERE clause rejects rows, the executor asks for
// more). The state kept between rounds:
//   * frontier: every scored node not yet expanded (min-heap), including the
//     ones a plain search_layer would forget because they were farther than
//     the beam's worst when scored;
//   * pool: every scored, accepted node not yet handed out (min-heap).
// A round seeds the beam with the pool's ef nearest, then expands frontier
// nodes nearest first while the beam has room or the node is nearer than the
// beam's worst (the stop rule of search_layer), and hands the beam out,
// nearest first. Nothing is scored twice (visited marks persist), nothing is
// handed out twice, and a round that only moves outward costs about what the
// beam needs to move by ef nodes. Later rounds can still find a node nearer
// than one handed out earlier (graph search is not monotone); callers that
// must not go back in distance drop those.
//
// Same Expander contract as search_layer (accept() optional). The first round
// after start() with the same ef gives the same result as search_layer.
class ResumableSearch {
public:
    // Forgets the previous search. `entries` must already be marked visited
    // and carry their distances.
    template <class Expander>
    void start(Expander& ex, const Candidate* entries, std::size_t n_entries);

    // One round: `out` (cleared) receives at most ef candidates not handed out
    // before, nearest first. Stops expanding once `budget` nodes have been
    // scored in this round (checked before each expansion, so it overshoots
    // by less than one list); a round with budget 0 only hands out what was
    // already scored. Returns the number of nodes scored in this round.
    template <class Expander>
    std::size_t next(Expander& ex, int level, std::size_t ef, VisitedSet& visited, std::size_t budget,
                     std::vector<Candidate>& out);

    // Nothing left to hand out and nothing left to expand.
    bool exhausted() const noexcept { return frontier_.empty() && pool_.empty(); }
    std::size_t frontier_size() const noexcept { return frontier_.size(); }
    std::size_t pool_size() const noexcept { return pool_.size(); }

private:
    std::vector<Candidate> frontier_;
    std::vector<Candidate> pool_;
};

// Neighbour selection with the HNSW heuristic (keep a candidate only if it is
// closer to the base than to every neighbour kept so far), then fill the
// remaining places with the nearest pruned candidates so that lists stay full
// and the graph stays connected across well-separated clusters.
// `cands` sorted nearest first; `pair_dist(a, b)` gives the distance between
// two candidate nodes. Writes at most max_out ids to out, returns the count.
int select_neighbors(const Candidate* cands, int n_cands, int max_out,
                     const std::function<float(NodeId, NodeId)>& pair_dist, NodeId* out);

// Repeated candidate ids are dropped; distinct ids at distance 0 are kept.

// Random level for a new node: floor(-ln(U) / ln(m)), capped at kMaxLevel.
int random_level(std::uint64_t& rng_state, int m) noexcept;

struct BuildParams {
    int m = 16;                // neighbours per node on upper levels; 2m on level 0
    int ef_construction = 64;
    std::uint64_t seed = 0x5eed;
};

// How construction-time distances see the vectors. Exact keeps them as given;
// the others trade a little graph quality for memory when the graph would not
// fit the build's memory budget. Pages always get the exact vectors.
enum class BuildStorage : std::uint8_t { Exact = 0, Half = 1, Int8 = 2 };

class GraphBuilder {
public:
    GraphBuilder(const Space& space, const BuildParams& params, BuildStorage storage,
                 std::size_t expected_nodes);
    ~GraphBuilder();
    GraphBuilder(const GraphBuilder&) = delete;
    GraphBuilder& operator=(const GraphBuilder&) = delete;

    // Copy one vector in (cosine: already normalised). Ids are dense, in call
    // order. Single-threaded; call before build(). The node's level is drawn
    // here, from params.seed, so levels do not depend on the thread count.
    // expected_nodes sizes the arrays (memory_bytes() counts them from the
    // start); adding more grows them. Int8 learns its per-dimension ranges
    // from the first min(expected, max(1024, min(8192, expected/32))) rows
    // (1024 if expected is 0): values outside are clamped.
    NodeId add(const void* vec);

    // Link every added node into the graph with `threads` threads (pure C++
    // threads: they touch nothing but this object). should_stop is polled by
    // the calling thread only; progress(nodes_done) likewise. Returns false if
    // stopped early (the graph is then incomplete and must be discarded).
    // threads <= 1 runs on the calling thread, deterministically for a seed.
    // Afterwards every list is sorted nearest-first and every node is
    // reachable on level 0 from entry_point(). Nodes added after a build are
    // linked by the next build(). May throw std::bad_alloc.
    bool build(int threads, const std::function<bool()>& should_stop,
               const std::function<void(std::size_t)>& progress);
    // The threads build() runs for a request: at most the cores, at least 1.
    static int threads_for(int requested) noexcept;

    std::size_t size() const noexcept;
    NodeId entry_point() const noexcept;
    int max_level() const noexcept;
    int level(NodeId id) const noexcept;
    // Neighbours of id at level (count in *n), nearest first.
    const NodeId* neighbors(NodeId id, int level, int* n) const noexcept;

    // Bytes held now, and the estimate for n nodes (to pick BuildStorage).
    std::size_t memory_bytes() const noexcept;
    static std::size_t estimate_bytes(const Space& space, const BuildParams& params,
                                      BuildStorage storage, std::size_t n) noexcept;
    // The same for a build() with `threads` threads (each holds n * 4 bytes
    // of visited marks while it runs); the overload above assumes one.
    static std::size_t estimate_bytes(const Space& space, const BuildParams& params,
                                      BuildStorage storage, std::size_t n, int threads) noexcept;

    // A page-locality order: order[i] is the node to write i-th, such that
    // nodes that are graph neighbours tend to land on the same page.
    std::vector<NodeId> locality_order() const;

    struct Impl;  // opaque; named here so the builder's own files can use it

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace vecdb::core::hnsw

#include "vecdb/core/hnsw_search.inl"
