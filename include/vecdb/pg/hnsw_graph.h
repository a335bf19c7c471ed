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
    std::vector<char> scratch;           // one vector (multi-block slots)
    std::vector<char> query;             // the query in index form
    // Which shared buffer each block of `hint_rel` was last found in: lets
    // read_block pin it with ReadRecentBuffer (no buffer-mapping lookup).
    // Hints may be stale; ReadRecentBuffer checks the buffer's tag.
    std::vector<Buffer> hints;
    RelFileNode hint_rel{};
};

// Takes a workspace from the pool (or makes one) sized for `capacity` ids
// of `index`.
Workspace* acquire_workspace(Relation index, std::size_t capacity, std::size_t vec_bytes);
void release_workspace(Workspace* ws);

// Node ids below this exist in the relation now (nblocks * slots_per_page).
NodeId id_capacity(Relation index, const Geometry& g);

class PageGraph {
public:
    PageGraph(Relation index, const Geometry& g, const void* query, Workspace* ws, ScanStats* stats)
        : index_(index), g_(g), dist_(core::resolve_distance(g.metric, g.type)), query_(query), ws_(ws),
          stats_(stats), capacity_(static_cast<NodeId>(ws->visited.capacity())),
          prefetch_bytes_(std::min<std::uint32_t>(g.vec_bytes, 1024)) {}

    const Geometry& geometry() const { return g_; }
    NodeId capacity() const { return capacity_; }

    // Distance from the query to node id; false if the slot is free or out
    // of range. Marks deleted nodes in ws->excluded.
    bool score(NodeId id, float* dist);

    // Heap TID of a live node, read when the scan returns it (only the rows
    // the executor asks for pay this). If vacuum freed and an insert reused
    // the slot since it was scored, the TID is of a row inserted after this
    // scan's snapshot: invisible, so the executor skips it.
    bool live_tid(NodeId id, ItemPointerData* tid);

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
        if (blk < ws_->hints.size()) {
            const Buffer hint = ws_->hints[blk];
            if (hint != InvalidBuffer && ReadRecentBuffer(index_->rd_node, MAIN_FORKNUM, blk, hint)) return hint;
            const Buffer buf = ReadBufferExtended(index_, MAIN_FORKNUM, blk, RBM_NORMAL, nullptr);
            ws_->hints[blk] = buf;
            return buf;
        }
        return ReadBufferExtended(index_, MAIN_FORKNUM, blk, RBM_NORMAL, nullptr);
    }

    Relation index_;
    const Geometry& g_;
    core::DistFn dist_;
    const void* query_;
    Workspace* ws_;
    ScanStats* stats_;
    NodeId capacity_;
    std::uint32_t prefetch_bytes_;  // of each vector, ahead of scoring
};

// The same graph, but search results exclude deleted (and already returned)
// nodes; they are still walked through.
class FilteredPageGraph : public PageGraph {
public:
    using PageGraph::PageGraph;
    bool accept(NodeId id) const noexcept { return !ws_->excluded.test(id); }
};

// One expansion costs memory misses above all (a random page per group, its
// buffer descriptor): pin every group's buffer first and prefetch the slots,
// so that the misses overlap, then lock and score group by group.
template <class Emit>
void PageGraph::expand(NodeId node, int level, core::VisitedSet& visited, Emit&& emit) {
    NodeId nbrs[2 * 100];
    NodeId pending[2 * 100];
    Buffer group_buf[2 * 100];
    int group_end[2 * 100];
    int n;
    BlockNumber own = InvalidBlockNumber;
    Buffer own_buf = InvalidBuffer;
    if (level == 0) {
        own = g_.block_of(node);
        own_buf = read_block(own);
        LockBuffer(own_buf, BUFFER_LOCK_SHARE);
        n = copy_level0(BufferGetPage(own_buf), node, nbrs);
        LockBuffer(own_buf, BUFFER_LOCK_UNLOCK);
    } else {
        n = read_neighbors(node, level, nbrs);
    }
    int np = 0;
    for (int i = 0; i < n; ++i) {
        const NodeId id = nbrs[i];
        if (id >= capacity_ || visited.test_and_set(id)) continue;
        pending[np++] = id;
    }
    // Group by block (ids encode blocks), pin each group, prefetch its slots.
    if (np > 1) std::sort(pending, pending + np);
    int ng = 0;
    for (int i = 0; i < np; ++i) {
        const BlockNumber blk = g_.block_of(pending[i]);
        if (i == 0 || blk != g_.block_of(pending[i - 1])) {
            if (blk == own) {
                group_buf[ng] = own_buf;
                own_buf = InvalidBuffer;
            } else {
                group_buf[ng] = read_block(blk);
            }
            ++ng;
        }
        group_end[ng - 1] = i + 1;
        const char* slot = slot_ptr(BufferGetPage(group_buf[ng - 1]), g_, g_.slot_of(pending[i]));
        __builtin_prefetch(slot);
        for (std::uint32_t b = 0; b < prefetch_bytes_; b += 64) __builtin_prefetch(slot + g_.vec_offset + b);
    }
    if (BufferIsValid(own_buf)) ReleaseBuffer(own_buf);
    int i = 0;
    for (int k = 0; k < ng; ++k) {
        LockBuffer(group_buf[k], BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(group_buf[k]);
        for (; i < group_end[k]; ++i) {
            float d;
            if (score_on_page(page, pending[i], &d)) emit(core::Candidate{d, pending[i]});
        }
        UnlockReleaseBuffer(group_buf[k]);
    }
}

}  // namespace vecdb::pg::hnsw
