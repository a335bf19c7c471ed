// VACUUM for hnsw: remove dead rows from the graph without a graph search
// per affected node.
//
// 1. Mark: every live slot whose heap TID is dead becomes `deleted` (scans
//    still walk through it but never return it).
// 2. Repair: every live node that lists a deleted node, at any level, gets a
//    new list chosen by the shared heuristic from its live neighbours plus
//    the live neighbours of its deleted ones (one hop, no search).
// 3. Entry point: if it was deleted, the highest-level live node takes over.
// 4. Free: deleted slots become free and their blocks go on the metapage's
//    free list for inserts to reuse.
// Freeing in the same pass is safe for concurrent scans: a scan reads a slot
// (vector and heap TID) under one share lock, so a reused slot gives it a
// consistent node whose heap row its MVCC snapshot cannot see. An insert
// running concurrently may still link a node that this vacuum freed; such a
// link leads to a free slot (skipped by searches) or to an unrelated node
// after reuse (harmless), and the next vacuum repairs lists that name free
// slots like lists that name deleted ones.
// A crash between steps leaves deleted slots that the next vacuum repairs
// and frees (step 1 also collects slots already marked deleted).
#include <algorithm>
#include <vector>

#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"

extern "C" {
#include "commands/vacuum.h"
}

namespace vecdb::pg::hnsw {
namespace {

struct VacState {
    Relation index;
    Geometry g;
    core::DistFn dist;
    BlockNumber nblocks;
    NodeId capacity;
    std::uint8_t* gone;  // bitmap by id: deleted (this pass or before) or free
    std::int64_t n_deleted;
    double live;
    NodeId best_id;  // highest-level live node
    int best_level;
    BlockNumber free_blocks[kMaxFreeBlocks];
    int n_free_blocks;
    char* vecs;  // scratch rows
    std::size_t vecs_rows;
};

// Nodes beyond capacity were inserted while this vacuum runs: not gone.
bool is_gone(const VacState* vs, NodeId id) {
    return id < vs->capacity && (vs->gone[id >> 3] >> (id & 7)) & 1;
}
void set_gone(VacState* vs, NodeId id) { vs->gone[id >> 3] |= static_cast<std::uint8_t>(1u << (id & 7)); }

void note_free_block(VacState* vs, BlockNumber blk) {
    if (vs->n_free_blocks > 0 && vs->free_blocks[vs->n_free_blocks - 1] == blk) return;
    if (vs->n_free_blocks < kMaxFreeBlocks) vs->free_blocks[vs->n_free_blocks++] = blk;
}

// Step 1.
void mark_dead(VacState* vs, IndexBulkDeleteCallback callback, void* cb_state) {
    const Geometry& g = vs->g;
    for (BlockNumber blk = 1; blk < vs->nblocks; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBuffer(vs->index, blk);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        if (page_opaque(page)->kind != kPageElement) {
            UnlockReleaseBuffer(buf);
            continue;
        }
        std::uint32_t dead[1024];
        int ndead = 0;
        for (std::uint32_t s = 0; s < g.slots_per_page; ++s) {
            SlotHeader* h = slot_header(slot_ptr(page, g, s));
            const NodeId id = g.id_of(blk, s);
            if (h->state == kSlotFree) {
                set_gone(vs, id);
                note_free_block(vs, blk);
            } else if (h->state == kSlotDeleted) {
                set_gone(vs, id);
                ++vs->n_deleted;
            } else if (callback(&h->tid, cb_state)) {
                dead[ndead++] = s;
                set_gone(vs, id);
                ++vs->n_deleted;
            } else {
                vs->live += 1;
                if (h->level > vs->best_level) {
                    vs->best_level = h->level;
                    vs->best_id = id;
                }
            }
        }
        if (ndead > 0) {
            GenericXLogState* x = GenericXLogStart(vs->index);
            Page wp = GenericXLogRegisterBuffer(x, buf, 0);
            for (int i = 0; i < ndead; ++i) slot_header(slot_ptr(wp, g, dead[i]))->state = kSlotDeleted;
            GenericXLogFinish(x);
        }
        UnlockReleaseBuffer(buf);
    }
}

// New list for `node` at `level` (its vector in row 0 of vs->vecs) from
// `cur` without gone nodes plus the live neighbours of the gone ones.
int rebuild_list(VacState* vs, NodeId node, int level, const NodeId* cur, int n, NodeId* out) {
    const Geometry& g = vs->g;
    const int max = level == 0 ? 2 * g.m : g.m;
    NodeId pool[200 * 101];
    int np = 0;
    NodeId tmp[200];
    for (int i = 0; i < n; ++i) {
        if (!is_gone(vs, cur[i])) {
            pool[np++] = cur[i];
            continue;
        }
        SlotHeader h;
        if (!read_slot(vs->index, g, cur[i], &h, level == 0 ? tmp : nullptr, nullptr)) continue;
        const int k = level == 0 ? std::min<int>(h.n0, 2 * g.m) : read_upper_list(vs->index, g, h, level, tmp);
        for (int j = 0; j < k; ++j)
            if (tmp[j] != node && !is_gone(vs, tmp[j])) pool[np++] = tmp[j];
    }
    std::sort(pool, pool + np);
    np = static_cast<int>(std::unique(pool, pool + np) - pool);
    // Score candidates; keep at most vecs_rows - 1 (row 0 is the node).
    np = std::min<int>(np, static_cast<int>(vs->vecs_rows) - 1);
    core::Candidate* cands = static_cast<core::Candidate*>(palloc(np * sizeof(core::Candidate)));
    char* rows = vs->vecs + g.vec_bytes;
    int k = 0;
    for (int i = 0; i < np; ++i) {
        SlotHeader h;
        if (!read_slot(vs->index, g, pool[i], &h, nullptr, rows + k * g.vec_bytes) || h.state != kSlotLive) continue;
        cands[k] = core::Candidate{vs->dist(vs->vecs, rows + k * g.vec_bytes, g.dim), pool[i]};
        ++k;
    }
    const core::DistFn dist = vs->dist;
    const std::size_t vb = g.vec_bytes;
    const std::uint32_t dim = g.dim;
    const int result = guarded([&] {
        std::vector<int> perm(static_cast<std::size_t>(k));
        for (int i = 0; i < k; ++i) perm[i] = i;
        std::sort(perm.begin(), perm.end(), [&](int a, int b) { return cands[a].dist < cands[b].dist; });
        std::vector<core::Candidate> sorted(static_cast<std::size_t>(k));
        std::vector<std::pair<NodeId, int>> row_of(static_cast<std::size_t>(k));
        for (int i = 0; i < k; ++i) {
            sorted[i] = cands[perm[i]];
            row_of[i] = {cands[perm[i]].id, perm[i]};
        }
        std::sort(row_of.begin(), row_of.end());
        auto row = [&](NodeId id) {
            return std::lower_bound(row_of.begin(), row_of.end(), std::make_pair(id, -1))->second;
        };
        return core::select_neighbors(
            sorted.data(), k, max, [&](NodeId a, NodeId b) { return dist(rows + row(a) * vb, rows + row(b) * vb, dim); },
            out);
    });
    pfree(cands);
    return result;
}

// Writes a repaired list if the list on the page is still `cur`.
void write_list(VacState* vs, NodeId node, int level, const SlotHeader& hdr, const NodeId* cur, int n,
                const NodeId* next, int newn) {
    const Geometry& g = vs->g;
    Buffer buf = ReadBuffer(vs->index, level == 0 ? g.block_of(node) : hdr.upper_blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState* x = GenericXLogStart(vs->index);
    Page page = GenericXLogRegisterBuffer(x, buf, 0);
    NodeId* lst;
    int now;
    std::uint16_t* n0 = nullptr;
    NodeId* ucount = nullptr;
    if (level == 0) {
        char* s = slot_ptr(page, g, g.slot_of(node));
        n0 = &slot_header(s)->n0;
        now = slot_header(s)->state == kSlotLive ? *n0 : -1;
        lst = slot_neighbors(s);
    } else {
        char* rec = reinterpret_cast<char*>(PageGetItem(page, PageGetItemId(page, hdr.upper_off)));
        ucount = reinterpret_cast<NodeId*>(rec + (level - 1) * g.upper_bytes_per_level);
        now = static_cast<int>(*ucount);
        lst = ucount + 1;
    }
    if (now != n || std::memcmp(lst, cur, n * sizeof(NodeId)) != 0) {
        GenericXLogAbort(x);  // an insert changed it meanwhile: leave it
    } else {
        std::memcpy(lst, next, newn * sizeof(NodeId));
        if (n0)
            *n0 = static_cast<std::uint16_t>(newn);
        else
            *ucount = static_cast<NodeId>(newn);
        GenericXLogFinish(x);
    }
    UnlockReleaseBuffer(buf);
}

// Step 2. Each element page is read once for its headers and level-0 lists.
void repair(VacState* vs) {
    const Geometry& g = vs->g;
    const std::size_t head = g.vec_offset;  // header + level-0 list
    char* copy = static_cast<char*>(palloc(g.slots_per_page * head));
    NodeId cur[200];
    NodeId next[200];
    for (BlockNumber blk = 1; blk < vs->nblocks; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBuffer(vs->index, blk);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        const bool element = page_opaque(page)->kind == kPageElement;
        if (element)
            for (std::uint32_t s = 0; s < g.slots_per_page; ++s)
                std::memcpy(copy + s * head, slot_ptr(page, g, s), head);
        UnlockReleaseBuffer(buf);
        if (!element) continue;
        for (std::uint32_t s = 0; s < g.slots_per_page; ++s) {
            const NodeId node = g.id_of(blk, s);
            const SlotHeader& h = *slot_header(copy + s * head);
            if (is_gone(vs, node) || h.state != kSlotLive) continue;
            bool have_vec = false;
            for (int level = 0; level <= h.level; ++level) {
                int n;
                if (level == 0) {
                    n = std::min<int>(h.n0, 2 * g.m);
                    std::memcpy(cur, slot_neighbors(copy + s * head), n * sizeof(NodeId));
                } else {
                    n = read_upper_list(vs->index, g, h, level, cur);
                }
                bool touched = false;
                for (int i = 0; i < n && !touched; ++i) touched = is_gone(vs, cur[i]);
                if (!touched) continue;
                if (!have_vec) {
                    SlotHeader tmp;
                    read_slot(vs->index, g, node, &tmp, nullptr, vs->vecs);
                    have_vec = true;
                }
                const int newn = rebuild_list(vs, node, level, cur, n, next);
                write_list(vs, node, level, h, cur, n, next, newn);
            }
        }
    }
    pfree(copy);
}

// Steps 3 and 4.
void free_and_move_entry(VacState* vs) {
    const Geometry& g = vs->g;
    for (BlockNumber blk = 1; blk < vs->nblocks && vs->n_deleted > 0; ++blk) {
        vacuum_delay_point();
        bool any = false;
        for (std::uint32_t s = 0; s < g.slots_per_page && !any; ++s) any = is_gone(vs, g.id_of(blk, s));
        if (!any) continue;
        Buffer buf = ReadBuffer(vs->index, blk);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        bool dirty = false;
        if (page_opaque(page)->kind == kPageElement) {
            for (std::uint32_t s = 0; s < g.slots_per_page; ++s)
                if (slot_header(slot_ptr(page, g, s))->state == kSlotDeleted) dirty = true;
        }
        if (dirty) {
            GenericXLogState* x = GenericXLogStart(vs->index);
            Page wp = GenericXLogRegisterBuffer(x, buf, 0);
            for (std::uint32_t s = 0; s < g.slots_per_page; ++s) {
                SlotHeader* h = slot_header(slot_ptr(wp, g, s));
                if (h->state != kSlotDeleted) continue;
                h->state = kSlotFree;
                h->n0 = 0;
            }
            GenericXLogFinish(x);
            note_free_block(vs, blk);
        }
        UnlockReleaseBuffer(buf);
    }

    Buffer mbuf = ReadBuffer(vs->index, kMetaBlock);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState* x = GenericXLogStart(vs->index);
    MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, mbuf, 0));
    if (m->entry_id != kNoNode && is_gone(vs, m->entry_id) && m->entry_id < vs->capacity) {
        m->entry_id = vs->best_level >= 0 ? vs->best_id : kNoNode;
        m->entry_level = vs->best_level;
    }
    // Free blocks: ours first, then what inserts have not used up yet.
    BlockNumber merged[kMaxFreeBlocks];
    int n = 0;
    for (int i = 0; i < vs->n_free_blocks && n < kMaxFreeBlocks; ++i) merged[n++] = vs->free_blocks[i];
    for (std::uint32_t i = 0; i < m->n_free_blocks && n < kMaxFreeBlocks; ++i)
        if (std::find(merged, merged + n, m->free_blocks[i]) == merged + n) merged[n++] = m->free_blocks[i];
    std::memcpy(m->free_blocks, merged, n * sizeof(BlockNumber));
    m->n_free_blocks = static_cast<std::uint32_t>(n);
    m->live_nodes = static_cast<std::uint64_t>(vs->live);
    GenericXLogFinish(x);
    UnlockReleaseBuffer(mbuf);
}

}  // namespace
}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;
using vecdb::pg::guarded;

IndexBulkDeleteResult* vecdb_hnsw_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                             IndexBulkDeleteCallback callback, void* cb_state) {
    Relation index = info->index;
    if (stats == nullptr) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    MetaPage meta;
    read_meta(index, &meta);
    if (meta.dim == 0) return stats;

    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    VacState* vs = static_cast<VacState*>(palloc0(sizeof(VacState)));
    vs->index = index;
    geometry_from_meta(&meta, vs->g);
    vs->dist = core::resolve_distance(vs->g.metric, vs->g.type);
    vs->nblocks = RelationGetNumberOfBlocks(index);
    vs->capacity = id_capacity(index, vs->g);
    vs->gone = static_cast<std::uint8_t*>(MemoryContextAllocHuge(ctx, vs->capacity / 8 + 1));
    std::memset(vs->gone, 0, vs->capacity / 8 + 1);
    vs->best_id = kNoNode;
    vs->best_level = -1;
    vs->vecs_rows = 1 + 4 * static_cast<std::size_t>(vs->g.m) * 2;
    vs->vecs = static_cast<char*>(MemoryContextAllocHuge(ctx, vs->vecs_rows * vs->g.vec_bytes));

    mark_dead(vs, callback, cb_state);
    const std::int64_t removed = vs->n_deleted;
    if (vs->n_deleted > 0) {
        repair(vs);
        free_and_move_entry(vs);
    }
    stats->num_pages = vs->nblocks;
    stats->num_index_tuples = vs->live;
    stats->tuples_removed += static_cast<double>(removed);
    stats->estimated_count = false;
    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    return stats;
}

IndexBulkDeleteResult* vecdb_hnsw_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
    if (info->analyze_only) return stats;
    if (stats == nullptr) {
        // No bulk delete ran: count what is there.
        stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
        MetaPage meta;
        read_meta(info->index, &meta);
        Geometry g;
        geometry_from_meta(&meta, g);
        const BlockNumber nblocks = RelationGetNumberOfBlocks(info->index);
        double live = 0;
        for (BlockNumber blk = 1; blk < nblocks && meta.dim > 0; ++blk) {
            vacuum_delay_point();
            Buffer buf = ReadBufferExtended(info->index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buf);
            if (page_opaque(page)->kind == kPageElement)
                for (std::uint32_t s = 0; s < g.slots_per_page; ++s)
                    if (slot_header(slot_ptr(page, g, s))->state == kSlotLive) live += 1;
            UnlockReleaseBuffer(buf);
        }
        stats->num_pages = nblocks;
        stats->num_index_tuples = live;
        stats->estimated_count = false;
    }
    return stats;
}
