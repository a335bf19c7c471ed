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

extern "C" {
#include "storage/buf_internals.h"
}

namespace vecdb::pg::hnsw {

// Per-search buffers, reused across searches of this backend (a small pool:
// several hnsw scans can be open at once, e.g. under a MergeAppend).
struct Workspace {
    core::VisitedSet visited;
    core::VisitedSet excluded;  // not to be returned: deleted, already returned
    std::vector<core::Candidate> result;
    std::vector<core::Candidate> frontier;
    core::ResumableSearch resume;  // iterative scans: the level-0 search, round after round
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
// `nblocks`, when the caller already knows it, saves a relation-size lookup
// (an lseek: a tenth of a fast query's fixed cost on this VM).
Workspace* acquire_workspace(Relation index, std::size_t capacity, std::size_t vec_bytes,
                             BlockNumber nblocks = InvalidBlockNumber);
void release_workspace(Workspace* ws);

// Node ids below this exist in the relation now (nblocks * slots_per_page).
// Also reports the relation's size in blocks when nblocks is not null.
NodeId id_capacity(Relation index, const Geometry& g, BlockNumber* nblocks = nullptr);

class PageGraph {
public:
    // float32_query: a scan's query (see query_distance).
    PageGraph(Relation index, const Geometry& g, const void* query, Workspace* ws, ScanStats* stats,
              bool float32_query = false)
        : index_(index), g_(g), dist_(query_distance(g, float32_query)), query_(query),
          query_esize_(mixed_precision(g, float32_query) || g.type == core::ElemType::F32 ? 4u : 2u),
          ws_(ws), stats_(stats), capacity_(static_cast<NodeId>(ws->visited.capacity())),
          prefetch_bytes_(std::min<std::uint32_t>(g.vec_bytes, kPrefetchMax)) {}

    const Geometry& geometry() const { return g_; }
    NodeId capacity() const { return capacity_; }

    // Distance from the query to node id; false if the slot is free or out
    // of range. Marks deleted nodes in ws->excluded.
    bool score(NodeId id, float* dist);

    // Heap TID of a live node, read when the scan returns it (only the rows
    // the executor asks for pay this). If vacuum freed and an insert reused
    // the slot since it was scored, the TID is of a row inserted after this
    // scan's snapshot: invisible, so the executor skips it. With `dist`
    // (single-block slots only), also the node's distance as read now,
    // under the lock: the scan checks what it scored without a pin.
    bool live_tid(NodeId id, ItemPointerData* tid, float* dist = nullptr);

    template <class Emit>
    void expand(NodeId node, int level, core::VisitedSet& visited, Emit&& emit);

    // Neighbour ids of node at level (at most 2m at level 0, m above).
    int read_neighbors(NodeId node, int level, NodeId* out);

protected:
    // Level-0 list of node from its locked page.
    int copy_level0(Page page, NodeId node, NodeId* out);
    // Scores one slot on a locked page; false if free.
    bool score_on_page(Page page, NodeId id, float* dist);
    // The same on a page that is only pinned (single-block slots).
    bool score_unlocked(Page page, NodeId id, float* dist);
    // Distance to single-block slot id on a pinned page (pins the next block
    // for a packed slot whose vector continues there).
    float score_pinned(const char* slot, NodeId id);
    // Distance to single-block slot id; `tail` is the next block's slot area
    // when the slot straddles (else unused). Every path that scores such a
    // slot uses this, so equal bytes give bit-equal distances.
    float slot_distance(const char* slot, NodeId id, const char* tail) const;
    // Pin-free reads. A shared buffer's memory is always mapped, so reading
    // it without a pin is safe; what it holds is only ours while its
    // descriptor's tag names our block and it is valid. Eviction retags the
    // buffer (under its header lock) before new contents are read in, so
    // a read bracketed by two successful checks saw our page (expand).
    bool holds_block(Buffer buf, BlockNumber blk) const {
        const BufferDesc* d = GetBufferDescriptor(buf - 1);
        pg_read_barrier();
        const BufferTag& t = d->tag;
        const bool ours = *reinterpret_cast<const volatile BlockNumber*>(&t.blockNum) == blk &&
                          *reinterpret_cast<const volatile ForkNumber*>(&t.forkNum) == MAIN_FORKNUM &&
#if PG_VERSION_NUM >= 160000
                          *reinterpret_cast<const volatile RelFileNumber*>(&t.relNumber) ==
                              index_->rd_locator.relNumber &&
                          *reinterpret_cast<const volatile Oid*>(&t.dbOid) == index_->rd_locator.dbOid &&
                          *reinterpret_cast<const volatile Oid*>(&t.spcOid) == index_->rd_locator.spcOid;
#else
                          *reinterpret_cast<const volatile Oid*>(&t.rnode.relNode) == index_->rd_node.relNode &&
                          *reinterpret_cast<const volatile Oid*>(&t.rnode.dbNode) == index_->rd_node.dbNode &&
                          *reinterpret_cast<const volatile Oid*>(&t.rnode.spcNode) == index_->rd_node.spcNode;
#endif
        const bool valid = (pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&d->state)) & BM_VALID) != 0;
        pg_read_barrier();
        return ours && valid;
    }
    // The shared buffer that holds blk now according to its hint, unpinned;
    // InvalidBuffer when the hint is missing, local or stale.
    Buffer unpinned_block(BlockNumber blk) const {
        if (!pin_free_reads_setting || blk >= ws_->hints.size()) return InvalidBuffer;
        const Buffer buf = ws_->hints[blk];
        return buf > 0 && holds_block(buf, blk) ? buf : InvalidBuffer;
    }
    // Scores one block's group of an expansion without a pin; false (nothing
    // emitted) if the buffer changed hands meanwhile.
    template <class Emit>
    bool score_group_unpinned(Buffer buf, BlockNumber blk, const NodeId* ids, int n, Emit& emit);
    // Vector bytes prefetched ahead of scoring: the whole vector up to 4 KB
    // (fashion-mnist's 3,136 B: 1 KB left the rest to demand misses).
    static constexpr std::uint32_t kPrefetchMax = 4096;
    void prefetch_vector(const char* slot, NodeId id, BlockNumber blk) const {
        std::uint32_t head = prefetch_bytes_;
        if (g_.packed) head = std::min(head, g_.head_vec_bytes(id));
        for (std::uint32_t b = 0; b < head; b += 64) __builtin_prefetch(slot + g_.vec_offset + b);
        if (head == prefetch_bytes_ || blk + 1 >= ws_->hints.size()) return;
        // A straddling slot: its tail starts the next block's area (through
        // the hint; a stale one only warms the wrong lines).
        const Buffer next = ws_->hints[blk + 1];
        if (next <= 0) return;
        const char* tail = static_cast<const char*>(BufferGetBlock(next)) + kAreaStart;
        for (std::uint32_t b = 0; b < prefetch_bytes_ - head; b += 64) __builtin_prefetch(tail + b);
    }
    void prefetch_descriptor(BlockNumber blk) const {
        if (blk >= ws_->hints.size()) return;
        const Buffer buf = ws_->hints[blk];
        if (buf > 0) __builtin_prefetch(GetBufferDescriptor(buf - 1), 1);
    }
    // The vector of slot id (on page, its head block): in place, or gathered
    // into scratch when it continues on other blocks.
    const void* slot_vector(Page page, char* slot, NodeId id);
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
    std::uint32_t query_esize_;  // bytes per query element
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

// One expansion costs memory misses above all (a random page per neighbour
// and its buffer descriptor). So: copy the node's list under a share lock,
// drop visited ids, prefetch the neighbours' buffer descriptors through the
// block->buffer hints (no pin: a stale hint only warms a wrong line), then,
// a batch of blocks at a time, pin each block and prefetch its slots so that
// the misses overlap, and score the batch. Measured (glove-100, ef 240):
// pinning all of an expansion's blocks at once spilled Postgres' private
// refcount array into its hash table (~5 % of a search); pinning and scoring
// one block at a time let no misses overlap (-20 %); keeping every pin for
// the whole search halved the pins but cost more in refcount hash and
// resource owner work than it saved (-20 %).
//
// Vectors are scored with a pin and no content lock (see score_unlocked and
// docs/hnsw.md "Reading vectors without the content lock").
template <class Emit>
void PageGraph::expand(NodeId node, int level, core::VisitedSet& visited, Emit&& emit) {
    NodeId nbrs[2 * 100];
    NodeId pending[2 * 100];
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
        if (id >= capacity_ || g_.is_hole(id) || visited.test_and_set(id)) continue;
        pending[np++] = id;
    }
    if (g_.blocks_per_slot > 1) {
        // Multi-block slots: gathered from several pages under locks.
        if (BufferIsValid(own_buf)) ReleaseBuffer(own_buf);
        for (int i = 0; i < np; ++i) {
            float d;
            if (score(pending[i], &d)) emit(core::Candidate{d, pending[i]});
        }
        return;
    }
    // Pinning is an atomic on the buffer descriptor and the pin-free check
    // reads it: a likely cache miss either way, so warm all descriptors
    // first (write intent: the pinned path changes them).
    for (int i = 0; i < np; ++i) prefetch_descriptor(g_.block_of(pending[i]));
    // Group by block (ids encode blocks).
    if (np > 1) std::sort(pending, pending + np);
    int group_start[2 * 100 + 1];
    int ng = 0;
    for (int i = 0; i < np; ++i)
        if (i == 0 || g_.block_of(pending[i]) != g_.block_of(pending[i - 1])) group_start[ng++] = i;
    group_start[ng] = np;
    // Pin a batch of groups and prefetch their slots, so that the misses
    // overlap, then score the batch. Batches stay small enough that the pins
    // this backend holds fit Postgres' private refcount array (8 entries,
    // one taken by the own page); beyond it every pin costs hash lookups.
    constexpr int kBatch = 6;
    Buffer batch_buf[kBatch];
    bool batch_pinned[kBatch];
    for (int k0 = 0; k0 < ng; k0 += kBatch) {
        const int k1 = std::min(ng, k0 + kBatch);
        for (int k = k0; k < k1; ++k) {
            const BlockNumber blk = g_.block_of(pending[group_start[k]]);
            Buffer buf = InvalidBuffer;
            bool pinned = true;
            if (blk == own) {
                buf = own_buf;
            } else if ((buf = unpinned_block(blk)) != InvalidBuffer) {
                pinned = false;
            } else {
                buf = read_block(blk);
            }
            batch_buf[k - k0] = buf;
            batch_pinned[k - k0] = pinned;
            Page page = BufferGetPage(buf);
            for (int i = group_start[k]; i < group_start[k + 1]; ++i)
                __builtin_prefetch(slot_ptr_id(page, g_, pending[i]));
        }
        // Headers (the state byte is read first) before the vector lines:
        // the misses in flight are limited, so the vectors queue behind.
        for (int k = k0; k < k1; ++k) {
            Page page = BufferGetPage(batch_buf[k - k0]);
            const BlockNumber blk = g_.block_of(pending[group_start[k]]);
            for (int i = group_start[k]; i < group_start[k + 1]; ++i)
                prefetch_vector(slot_ptr_id(page, g_, pending[i]), pending[i], blk);
        }
        for (int k = k0; k < k1; ++k) {
            const int first = group_start[k];
            const int count = group_start[k + 1] - first;
            Buffer buf = batch_buf[k - k0];
            if (!batch_pinned[k - k0]) {
                const BlockNumber blk = g_.block_of(pending[first]);
                if (score_group_unpinned(buf, blk, pending + first, count, emit)) continue;
                buf = read_block(blk);  // it changed hands meanwhile: read it again, pinned
            }
            Page page = BufferGetPage(buf);
            for (int i = first; i < first + count; ++i) {
                float d;
                if (score_unlocked(page, pending[i], &d)) emit(core::Candidate{d, pending[i]});
            }
            if (buf != own_buf) ReleaseBuffer(buf);
        }
    }
    if (BufferIsValid(own_buf)) ReleaseBuffer(own_buf);
}

// Checks the buffer again (other groups of the batch may have done I/O since
// it was chosen), scores the whole group from it, then checks that the
// buffer (and, for a straddling slot, the next block's) still holds our
// block; only then are the results used (emit, stats), so a read that raced
// with an eviction leaves no trace. The checks cannot see a buffer that left
// and came back to our block in between (no generation count in PG's
// descriptors): such a read may score foreign bytes. A wrong distance is
// corrected, or the row dropped if it would break the order, for every row
// the scan returns (live_tid re-scores it); inserts' searches keep it (a
// slightly worse candidate list, nothing more); a wrong
// state could hide a live row for good (marked deleted, or skipped as free
// after being marked visited), so only live slots are taken from an
// unpinned read and a group with any other state goes the pinned way.
template <class Emit>
bool PageGraph::score_group_unpinned(Buffer buf, BlockNumber blk, const NodeId* ids, int n, Emit& emit) {
    if (!holds_block(buf, blk)) return false;
    Page page = BufferGetPage(buf);
    const char* tail = nullptr;
    Buffer next = InvalidBuffer;
    for (int i = 0; i < n && next == InvalidBuffer; ++i) {
        if (!g_.straddles(ids[i])) continue;
        next = unpinned_block(blk + 1);
        if (next == InvalidBuffer) return false;
        tail = static_cast<const char*>(BufferGetBlock(next)) + kAreaStart;
    }
    float dist[2 * 100];
    for (int i = 0; i < n; ++i) {
        char* slot = slot_ptr_id(page, g_, ids[i]);
        const std::uint8_t state = *reinterpret_cast<volatile std::uint8_t*>(&slot_header(slot)->state);
        if (state != kSlotLive) return false;
        dist[i] = slot_distance(slot, ids[i], tail);
    }
    if (!holds_block(buf, blk) || (next != InvalidBuffer && !holds_block(next, blk + 1))) return false;
    ++stats_->buffer_accesses;
    for (int i = 0; i < n; ++i) {
        ++stats_->distances;
        ++stats_->visited;
        emit(core::Candidate{dist[i], ids[i]});
    }
    return true;
}

}  // namespace vecdb::pg::hnsw
