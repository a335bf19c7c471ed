// Reading the hnsw graph from buffer pages: the expander that the shared beam
// search (core search_layer) runs on, used by scans, inserts and vacuum.
//
// Cost model this code is written for: a search costs buffer accesses plus
// distance computations. One expansion reads the node's neighbour list, drops
// visited ids, groups the rest by block and pins + share-locks each block
// once, scoring every neighbour on it with a direct kernel call.
//
// Exception boundary: search_layer runs inside vecdb::pg::guarded() (its
// containers may throw bad_alloc) and calls back into this expander, which
// reads buffers. Those Postgres calls can only fail on I/O errors; if one
// does, its longjmp leaves through frames that hold no objects with
// destructors (expander methods, search_layer's lambdas, the guard's lambda),
// so nothing is skipped that needed cleanup. Keep it that way: no locals with
// destructors in these frames.
#pragma once
#include <algorithm>
#include <vector>

#include "vecdb/pg/hnsw.h"

namespace vecdb::pg::hnsw {

// Per-search buffers, reused across searches of this backend (a small pool:
// several hnsw scans can be open at once, e.g. under a MergeAppend).
struct Workspace {
    core::VisitedSet visited;
    core::VisitedSet excluded;  // not to be returned: deleted, already returned
    std::vector<core::Candidate> result;
    std::vector<core::Candidate> frontier;
    std::vector<core::Candidate> discarded;
    std::vector<core::Candidate> entries;
    std::vector<ItemPointerData> tids;  // by node id, set when a node is scored
    std::vector<char> scratch;           // one vector (multi-block slots)
    std::vector<char> query;             // the query in index form
};

// Takes a workspace from the pool (or makes one) sized for `capacity` ids.
Workspace* acquire_workspace(std::size_t capacity, std::size_t vec_bytes);
void release_workspace(Workspace* ws);

// Node ids below this exist in the relation now (nblocks * slots_per_page).
NodeId id_capacity(Relation index, const Geometry& g);

class PageGraph {
public:
    PageGraph(Relation index, const Geometry& g, const void* query, Workspace* ws, ScanStats* stats)
        : index_(index), g_(g), dist_(core::resolve_distance(g.metric, g.type)), query_(query), ws_(ws),
          stats_(stats), capacity_(static_cast<NodeId>(ws->visited.capacity())) {}

    const Geometry& geometry() const { return g_; }
    NodeId capacity() const { return capacity_; }

    // Distance from the query to node id; false if the slot is free or out
    // of range. Marks deleted nodes in ws->excluded and records the TID.
    bool score(NodeId id, float* dist);

    template <class Emit>
    void expand(NodeId node, int level, core::VisitedSet& visited, Emit&& emit);

    // Neighbour ids of node at level (at most 2m at level 0, m above).
    int read_neighbors(NodeId node, int level, NodeId* out);

protected:
    // Level-0 list of node from its locked page.
    int copy_level0(Page page, NodeId node, NodeId* out);
    // Scores one slot on a locked page; false if free.
    bool score_on_page(Page page, NodeId id, float* dist);
    const void* slot_vector(Page page, char* slot, BlockNumber head);
    Buffer read_block(BlockNumber blk) {
        ++stats_->buffer_accesses;
        return ReadBufferExtended(index_, MAIN_FORKNUM, blk, RBM_NORMAL, nullptr);
    }

    Relation index_;
    const Geometry& g_;
    core::DistFn dist_;
    const void* query_;
    Workspace* ws_;
    ScanStats* stats_;
    NodeId capacity_;
};

// The same graph, but search results exclude deleted (and already returned)
// nodes; they are still walked through.
class FilteredPageGraph : public PageGraph {
public:
    using PageGraph::PageGraph;
    bool accept(NodeId id) const noexcept { return !ws_->excluded.test(id); }
};

template <class Emit>
void PageGraph::expand(NodeId node, int level, core::VisitedSet& visited, Emit&& emit) {
    NodeId nbrs[2 * 100];
    NodeId pending[2 * 100];
    int n;
    BlockNumber cur = InvalidBlockNumber;
    Buffer buf = InvalidBuffer;
    Page page = nullptr;
    if (level == 0) {
        // Keep the node's own page locked: with locality-ordered pages many
        // neighbours live on it.
        cur = g_.block_of(node);
        buf = read_block(cur);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        page = BufferGetPage(buf);
        n = copy_level0(page, node, nbrs);
    } else {
        n = read_neighbors(node, level, nbrs);
    }
    int np = 0;
    for (int i = 0; i < n; ++i) {
        const NodeId id = nbrs[i];
        if (id >= capacity_ || visited.test_and_set(id)) continue;
        if (g_.block_of(id) == cur) {
            float d;
            if (score_on_page(page, id, &d)) emit(core::Candidate{d, id});
        } else {
            pending[np++] = id;
        }
    }
    // Group the rest by block: ids encode blocks, so sorting ids groups them.
    if (np > 1) std::sort(pending, pending + np);
    for (int i = 0; i < np; ++i) {
        const NodeId id = pending[i];
        const BlockNumber blk = g_.block_of(id);
        if (blk != cur) {
            if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
            buf = read_block(blk);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            page = BufferGetPage(buf);
            cur = blk;
        }
        float d;
        if (score_on_page(page, id, &d)) emit(core::Candidate{d, id});
    }
    if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
}

}  // namespace vecdb::pg::hnsw
