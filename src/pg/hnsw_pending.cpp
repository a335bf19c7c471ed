// The hnsw pending list: appends (aminsert's common case) and what scans do
// with it. The merge is in hnsw_merge.cpp; the layout in hnsw_pending.h.
//
// Locks. Metapage before pending pages, pending pages in chain order, never
// the reverse:
// - an append holds the metapage exclusively, then the tail (and a new page);
// - a scan takes the head under the metapage's share lock and walks the chain
//   by lock coupling (share-locks the next page before releasing the current);
// - the merger takes the metapage and the head exclusively to take the head
//   off the list, and locks one pending page at a time to change an entry.
// Why a scan never follows a link into a page that left the list: a page
// leaves only as the head, under exclusive locks on the metapage and on it.
// The scan reaches the head under the metapage lock, and every later page
// from a page it still holds locked; a page behind a locked page is not the
// head, and the locked page itself cannot leave while the scan holds it. So
// pages can be reused at once (kPagePendingFree, recorded in the FSM).
#include <algorithm>
#include <cmath>
#include <limits>

#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"
#include "vecdb/pg/hnsw_pending.h"

extern "C" {
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
}

namespace vecdb::pg::hnsw {

void init_pending_page(Page page, bool free_page) {
    PageInit(page, BLCKSZ, sizeof(PageOpaque));
    PageOpaque* op = page_opaque(page);
    op->kind = free_page ? kPagePendingFree : kPagePending;
    op->unused = 0;
    op->magic = kMagic;
    PageHeader ph = reinterpret_cast<PageHeader>(page);
    ph->pd_lower = ph->pd_upper;  // the whole area counts (deltas, images)
    PendingPageHeader* h = pending_header(page);
    h->next = InvalidBlockNumber;
    h->n_entries = 0;
    h->unused = 0;
}

bool pending_usable(Relation index, const Geometry& g) {
    if (g.blocks_per_slot != 1 || g.dim == 0 || pending_per_page(g) < 1) return false;
    return option_pending_list_limit(index) > 0;
}

// Lane locks are page-lock tags on blocks 0 .. kMergeLanes - 1, worker
// slots the next kMergeWorkers (nothing else takes heavyweight page locks on
// an hnsw index). Several at once only
// in ascending order (merge_lock), so waits cannot form a cycle.
void lane_lock(Relation index, int lane) { LockPage(index, static_cast<BlockNumber>(lane), ExclusiveLock); }
bool lane_lock_conditional(Relation index, int lane) {
    return ConditionalLockPage(index, static_cast<BlockNumber>(lane), ExclusiveLock);
}
void lane_unlock(Relation index, int lane) { UnlockPage(index, static_cast<BlockNumber>(lane), ExclusiveLock); }
int lane_lock_any(Relation index, int first) {
    for (int k = 0; k < kMergeLanes; ++k) {
        const int lane = (first + k) % kMergeLanes;
        if (lane_lock_conditional(index, lane)) return lane;
    }
    return -1;
}
int worker_slot_take(Relation index) {
    for (int slot = 0; slot < kMergeWorkers; ++slot)
        if (ConditionalLockPage(index, static_cast<BlockNumber>(kMergeLanes + slot), ExclusiveLock)) return slot;
    return -1;
}
void worker_slot_release(Relation index, int slot) {
    UnlockPage(index, static_cast<BlockNumber>(kMergeLanes + slot), ExclusiveLock);
}
namespace {
ItemPointerData mark_tag(const Geometry& g, NodeId id) {
    ItemPointerData t;
    ItemPointerSet(&t, g.block_of(id), static_cast<OffsetNumber>(g.slot_of(id) + 1));
    return t;
}
}  // namespace
void mark_node(Relation index, const Geometry& g, NodeId id) {
    ItemPointerData t = mark_tag(g, id);
    LockTuple(index, &t, ExclusiveLock);
}
void unmark_node(Relation index, const Geometry& g, NodeId id) {
    ItemPointerData t = mark_tag(g, id);
    UnlockTuple(index, &t, ExclusiveLock);
}
bool marked_by_other(Relation index, const Geometry& g, NodeId id) {
    if (id == kNoNode) return false;
    ItemPointerData t = mark_tag(g, id);
    if (!ConditionalLockTuple(index, &t, ShareLock)) return true;
    UnlockTuple(index, &t, ShareLock);
    return false;
}
void merge_lock(Relation index) {
    for (int lane = 0; lane < kMergeLanes; ++lane) lane_lock(index, lane);
}
void merge_unlock(Relation index) {
    for (int lane = kMergeLanes - 1; lane >= 0; --lane) lane_unlock(index, lane);
}

namespace {

// A page for the list: a reclaimed pending page from the FSM, else a new one.
// Returned exclusively locked.
Buffer new_pending_buffer(Relation index) {
    for (;;) {
        const BlockNumber blk = GetFreeIndexPage(index);
        if (blk == InvalidBlockNumber) break;
        Buffer buf = ReadBuffer(index, blk);
        if (ConditionalLockBuffer(buf)) {
            if (page_opaque(BufferGetPage(buf))->kind == kPagePendingFree) return buf;
            LockBuffer(buf, BUFFER_LOCK_UNLOCK);
        }
        ReleaseBuffer(buf);  // the FSM is a hint: not ours, or busy
    }
    LockRelationForExtension(index, ExclusiveLock);
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    UnlockRelationForExtension(index, ExclusiveLock);
    return buf;
}

void append(Relation index, const Geometry& g, const char* vec, ItemPointer tid, std::uint64_t* count) {
    const std::uint32_t per_page = pending_per_page(g);
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    const MetaPage* meta = page_meta(BufferGetPage(metabuf));
    Buffer tail = InvalidBuffer;
    if (meta->pending_tail != InvalidBlockNumber) {
        tail = ReadBuffer(index, meta->pending_tail);
        LockBuffer(tail, BUFFER_LOCK_EXCLUSIVE);
    }
    const bool room = BufferIsValid(tail) && pending_header(BufferGetPage(tail))->n_entries < per_page;
    Buffer fresh = room ? InvalidBuffer : new_pending_buffer(index);

    GenericXLogState* x = GenericXLogStart(index);
    MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, metabuf, 0));
    Page target;
    if (room) {
        target = GenericXLogRegisterBuffer(x, tail, 0);
    } else {
        target = GenericXLogRegisterBuffer(x, fresh, GENERIC_XLOG_FULL_IMAGE);
        init_pending_page(target, false);
        if (BufferIsValid(tail)) {
            pending_header(GenericXLogRegisterBuffer(x, tail, 0))->next = BufferGetBlockNumber(fresh);
        } else {
            m->pending_head = BufferGetBlockNumber(fresh);
        }
        m->pending_tail = BufferGetBlockNumber(fresh);
    }
    PendingPageHeader* h = pending_header(target);
    PendingEntry* e = pending_entry(target, g, h->n_entries++);
    std::memset(e, 0, pending_entry_bytes(g));
    e->tid = *tid;
    e->state = kPendingNew;
    e->node = kNoNode;
    std::memcpy(pending_vector(e), vec, g.vec_bytes);
    m->pending_count += 1;
    *count = m->pending_count;
    GenericXLogFinish(x);
    if (BufferIsValid(fresh)) UnlockReleaseBuffer(fresh);
    if (BufferIsValid(tail)) UnlockReleaseBuffer(tail);
    UnlockReleaseBuffer(metabuf);
}

}  // namespace

void launch_merger(Relation index, std::uint64_t count, std::uint64_t threshold);  // hnsw_merge.cpp

void pending_insert(Relation index, const Geometry& g, const char* vec, ItemPointer tid) {
    const std::uint64_t limit_entries =
        std::max<std::uint64_t>(static_cast<std::uint64_t>(option_pending_list_limit(index)) * 1024 /
                                    pending_entry_bytes(g), pending_per_page(g));
    MetaPage meta;
    read_meta(index, &meta);
    // Back-pressure: over the limit, this insert merges (a page's worth at a
    // time, in a lane no other merger holds, else waiting for one) until
    // under it, so the list and the exact scoring it adds to every scan stay
    // bounded. A lane with nothing left sends it to wait for the next lane
    // rather than spin on a free one.
    int lane = MyProcPid % kMergeLanes;
    bool wait = false;
    while (meta.pending_count >= limit_entries) {
        int got = wait ? -1 : lane_lock_any(index, lane);
        if (got < 0) {
            lane_lock(index, lane);
            got = lane;
        }
        read_meta(index, &meta);
        std::int64_t merged = 1;
        if (meta.pending_count >= limit_entries) merged = merge_pending(index, got, pending_per_page(g), nullptr, nullptr);
        lane_unlock(index, got);
        // Next lane either way: a head page leaves the list (and the count
        // drops) only when every lane is done with it.
        wait = merged == 0;
        lane = (got + 1) % kMergeLanes;
        read_meta(index, &meta);
    }
    std::uint64_t count;
    append(index, g, vec, tid, &count);
    launch_merger(index, count, pending_per_page(g));
}

// ---- scans ------------------------------------------------------------------

struct PendingHit {
    float dist;
    std::uint32_t seq;  // list order: ties come out in it
    ItemPointerData tid;
};

struct PendingScan {
    // Ordered scans: a min-heap of the first `left` hits (a LIMIT query
    // takes a few; sorting them all cost more than scoring them). Unordered:
    // hits[pos ..] in list order.
    PendingHit* hits;
    std::size_t n;
    std::size_t pos;
    std::size_t left;
    bool heap;
    // Graph rows to skip: the TIDs of every loaded entry (one may get its
    // node and be marked merged while this scan runs), in an open-addressing
    // set (building it is linear; sorting them was a third of a scan's cost
    // with a full list). Key: block << 16 | offset, never 0.
    std::uint64_t* tid_set;
    std::size_t tid_mask;
    // The graph's next row, held back while pending entries are nearer.
    bool graph_held;
    bool graph_done;
    ItemPointerData graph_tid;
    double graph_dist;
    bool graph_null;
};

namespace {

std::uint64_t tid_key(const ItemPointerData* tid) {
    return (static_cast<std::uint64_t>(ItemPointerGetBlockNumberNoCheck(tid)) << 16) |
           ItemPointerGetOffsetNumberNoCheck(tid);
}
std::size_t tid_hash(std::uint64_t key) { return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20); }

// Nearest (then earliest) at the top of the heap.
bool hit_after(const PendingHit& a, const PendingHit& b) { return a.dist > b.dist || (a.dist == b.dist && a.seq > b.seq); }

}  // namespace

void pending_scan_load(Relation index, const Geometry& g, const char* query, PendingScan** out) {
    *out = nullptr;
    Buffer buf = ReadBuffer(index, kMetaBlock);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const BlockNumber head = page_meta(BufferGetPage(buf))->pending_head;
    const std::uint64_t count = page_meta(BufferGetPage(buf))->pending_count;
    if (head == InvalidBlockNumber || count == 0) {
        UnlockReleaseBuffer(buf);
        return;
    }
    Buffer next = ReadBuffer(index, head);
    LockBuffer(next, BUFFER_LOCK_SHARE);
    UnlockReleaseBuffer(buf);
    buf = next;
    const core::DistFn dist = query_distance(g, true);  // only scans pass a query
    std::size_t cap = std::max<std::uint64_t>(count, 16);
    PendingHit* hits = static_cast<PendingHit*>(MemoryContextAllocHuge(CurrentMemoryContext, cap * sizeof(PendingHit)));
    std::size_t n = 0;

    for (;;) {
        Page page = BufferGetPage(buf);
        if (page_opaque(page)->kind != kPagePending) break;  // cannot happen (see above); be safe
        const PendingPageHeader* h = pending_header(page);
        for (std::uint32_t i = 0; i < h->n_entries; ++i) {
            PendingEntry* e = pending_entry(page, g, i);
            if (e->state == kPendingMerged) continue;
            if (n == cap) {
                cap *= 2;
                hits = static_cast<PendingHit*>(repalloc_huge(hits, cap * sizeof(PendingHit)));
            }
            hits[n].tid = e->tid;
            hits[n].seq = static_cast<std::uint32_t>(n);
            hits[n].dist = query ? dist(query, pending_vector(e), g.dim) : 0.0f;
            ++n;

        }
        const BlockNumber nblk = h->next;
        if (nblk == InvalidBlockNumber) break;
        next = ReadBuffer(index, nblk);
        LockBuffer(next, BUFFER_LOCK_SHARE);
        UnlockReleaseBuffer(buf);
        buf = next;
    }
    UnlockReleaseBuffer(buf);
    if (n == 0) {
        pfree(hits);
        return;
    }
    PendingScan* ps = static_cast<PendingScan*>(palloc0(sizeof(PendingScan)));
    ps->hits = hits;
    ps->n = n;
    ps->left = n;
    std::size_t cap2 = 16;
    while (cap2 < 2 * n) cap2 *= 2;
    ps->tid_set = static_cast<std::uint64_t*>(
        MemoryContextAllocHuge(CurrentMemoryContext, cap2 * sizeof(std::uint64_t)));
    std::memset(ps->tid_set, 0, cap2 * sizeof(std::uint64_t));
    ps->tid_mask = cap2 - 1;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t key = tid_key(&hits[i].tid);
        std::size_t h = tid_hash(key) & ps->tid_mask;
        while (ps->tid_set[h] != 0 && ps->tid_set[h] != key) h = (h + 1) & ps->tid_mask;
        ps->tid_set[h] = key;
    }
    ps->heap = query != nullptr;
    if (ps->heap) std::make_heap(hits, hits + n, hit_after);
    *out = ps;
}

namespace {

bool tid_pending(const PendingScan* ps, ItemPointer tid) {
    const std::uint64_t key = tid_key(tid);
    for (std::size_t h = tid_hash(key) & ps->tid_mask; ps->tid_set[h] != 0; h = (h + 1) & ps->tid_mask)
        if (ps->tid_set[h] == key) return true;
    return false;
}

bool pending_left(const PendingScan* ps) { return ps->heap ? ps->left > 0 : ps->pos < ps->n; }
const PendingHit& pending_peek(const PendingScan* ps) { return ps->heap ? ps->hits[0] : ps->hits[ps->pos]; }
PendingHit pending_pop(PendingScan* ps) {
    if (!ps->heap) return ps->hits[ps->pos++];
    std::pop_heap(ps->hits, ps->hits + ps->left, hit_after);
    return ps->hits[--ps->left];
}

}  // namespace

bool pending_scan_next(IndexScanDesc scan, PendingScan* ps, const DistanceReport& report, GraphNextFn next_graph, void* arg,
                       bool unordered, bool null_query) {
    // Hold back the graph's next row that is not pending.
    while (!ps->graph_held && !ps->graph_done) {
        if (!next_graph(scan, arg)) {
            ps->graph_done = true;
            break;
        }
        if (tid_pending(ps, &scan->xs_heaptid)) continue;
        ps->graph_held = true;
        ps->graph_tid = scan->xs_heaptid;
        ps->graph_dist = scan->numberOfOrderBys > 0 ? DatumGetFloat8(scan->xs_orderbyvals[0]) : 0.0;
        ps->graph_null = scan->numberOfOrderBys > 0 ? scan->xs_orderbynulls[0] : true;
    }
    bool take_pending;
    if (!pending_left(ps)) {
        take_pending = false;
    } else if (!ps->graph_held) {
        take_pending = true;
    } else if (unordered) {
        take_pending = false;  // graph rows first, then the pending ones
    } else {
        take_pending = report_distance(report, pending_peek(ps).dist) <= ps->graph_dist;
    }
    if (take_pending) {
        const PendingHit hit = pending_pop(ps);
        scan->xs_heaptid = hit.tid;
        if (scan->numberOfOrderBys > 0) {
            if (unordered) {
                scan->xs_orderbyvals[0] = Float8GetDatum(std::numeric_limits<double>::quiet_NaN());
                scan->xs_orderbynulls[0] = null_query;
            } else {
                scan->xs_orderbyvals[0] = Float8GetDatum(report_distance(report, hit.dist));
                scan->xs_orderbynulls[0] = false;
            }
        }
        scan->xs_recheckorderby = !unordered && report.lower_bound;
        return true;
    }
    if (!ps->graph_held) return false;
    ps->graph_held = false;
    scan->xs_heaptid = ps->graph_tid;
    if (scan->numberOfOrderBys > 0) {
        scan->xs_orderbyvals[0] = Float8GetDatum(ps->graph_dist);
        scan->xs_orderbynulls[0] = ps->graph_null;
    }
    scan->xs_recheckorderby = !unordered && report.lower_bound;
    return true;
}

std::int64_t pending_live_count(Relation index) {
    MetaPage meta;
    read_meta(index, &meta);
    if (meta.pending_head == InvalidBlockNumber) return 0;
    Geometry g;
    geometry_from_meta(&meta, g);
    PendingScan* ps;
    pending_scan_load(index, g, nullptr, &ps);
    return ps ? static_cast<std::int64_t>(ps->n) : 0;
}

}  // namespace vecdb::pg::hnsw
