// VACUUM for hnsw: remove dead rows from the graph without a graph search
// per affected node.
//
// 1. Mark: every live slot whose heap TID is dead becomes `deleted` (scans
//    still walk through it but never return it).
// 2. Repair: every live node that lists a deleted node, at any level, gets a
//    new list chosen by the shared heuristic from its live neighbours plus
//    the live neighbours of its deleted ones (one hop, no search).
// 3. Entry point: if it was deleted, the highest-level live node takes over
//    (one record, before any slot is freed).
//    Reachability: a walk over level-0 lists from the entry point, never
//    through deleted nodes, finds live nodes with no
//    path left; each is linked from a reachable node (see ensure_reachable)
//    and the walk goes on from it, until every live node is reached. Also
//    run by amvacuumcleanup when nothing died, for what inserts stranded.
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

#include "vecdb/pg/crash_point.h"
#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"
#include "vecdb/pg/hnsw_pending.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
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
    std::uint8_t* alive;  // bitmap by id: live slots that stay (not gone)
    std::int64_t n_deleted;
    double live;
    NodeId best_id;  // highest-level live node
    int best_level;
    BlockNumber free_blocks[kMaxFreeBlocks];
    int n_free_blocks;
    char* vecs;  // scratch rows
    std::size_t vecs_rows;
    std::int64_t relinked;  // live nodes the reachability pass linked in
};

// Nodes beyond capacity were inserted while this vacuum runs: not gone.
bool is_gone(const VacState* vs, NodeId id) {
    return id < vs->capacity && (vs->gone[id >> 3] >> (id & 7)) & 1;
}
void set_gone(VacState* vs, NodeId id) { vs->gone[id >> 3] |= static_cast<std::uint8_t>(1u << (id & 7)); }
bool is_alive(const VacState* vs, NodeId id) {
    return id < vs->capacity && (vs->alive[id >> 3] >> (id & 7)) & 1;
}

// Blocks with free slots: the first kMaxFreeBlocks go on the metapage list,
// the rest into the free space map (inserts look there when the list is used
// up; without it a delete-heavy table grew by every re-inserted row).
// Called with no buffer locked: the map may have to grow, which takes the
// relation extension lock, and an insert holding that lock may wait for an
// element page's buffer lock (choose_packed_slot); buffer-lock waits are
// invisible to the deadlock detector.
void note_free_block(VacState* vs, BlockNumber blk) {
    if (vs->n_free_blocks > 0 && vs->free_blocks[vs->n_free_blocks - 1] == blk) return;
    if (vs->n_free_blocks < kMaxFreeBlocks)
        vs->free_blocks[vs->n_free_blocks++] = blk;
    else
        RecordPageWithFreeSpace(vs->index, blk, kFsmElementFree);
}

// Step 1. Without a callback (vacuumcleanup with no bulk delete) it only
// takes stock: nothing dies.
void mark_dead(VacState* vs, IndexBulkDeleteCallback callback, void* cb_state) {
    const Geometry& g = vs->g;
    for (BlockNumber blk = 1; blk < vs->nblocks; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBuffer(vs->index, blk);
        LockBuffer(buf, callback ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (page_opaque(page)->kind != kPageElement) {
            // Pending pages taken off the list: into the FSM again (it is not
            // crash safe), for the list to reuse.
            const bool reclaimed = page_opaque(page)->kind == kPagePendingFree;
            UnlockReleaseBuffer(buf);
            if (reclaimed) RecordFreeIndexPage(vs->index, blk);
            continue;
        }
        std::uint32_t dead[1024];
        int ndead = 0;
        bool has_free = false;       // a free slot an insert can take
        bool straddler_free = false;  // a free slot that needs blk + 1 to be an element page
        for (std::uint32_t s = 0; s < g.slots_on(blk); ++s) {
            SlotHeader* h = slot_header(slot_ptr(page, g, blk, s));
            const NodeId id = g.id_of(blk, s);
            if (h->state == kSlotFree) {
                set_gone(vs, id);
                (g.straddles(id) ? straddler_free : has_free) = true;
            } else if (h->state == kSlotDeleted) {
                set_gone(vs, id);
                ++vs->n_deleted;
            } else if (callback && callback(&h->tid, cb_state)) {
                dead[ndead++] = s;
                set_gone(vs, id);
                ++vs->n_deleted;
            } else {
                vs->live += 1;
                vs->alive[id >> 3] |= static_cast<std::uint8_t>(1u << (id & 7));
                if (h->level > vs->best_level) {
                    vs->best_level = h->level;
                    vs->best_id = id;
                }
            }
        }
        if (ndead > 0) {
            GenericXLogState* x = GenericXLogStart(vs->index);
            Page wp = GenericXLogRegisterBuffer(x, buf, 0);
            for (int i = 0; i < ndead; ++i) slot_header(slot_ptr(wp, g, blk, dead[i]))->state = kSlotDeleted;
            GenericXLogFinish(x);
        }
        UnlockReleaseBuffer(buf);
        if (ndead > 0) crash_point("hnsw_vacuum_marked");
        // A free straddling slot before a page of another kind (a pending or
        // upper page appended between element pages) can never be used:
        // noting its block would only crowd the metapage's list.
        if (!has_free && straddler_free && blk + 1 < vs->nblocks) {
            Buffer next = lock_element_page(vs->index, blk + 1, BUFFER_LOCK_SHARE);
            has_free = BufferIsValid(next);
            if (has_free) UnlockReleaseBuffer(next);
        }
        if (has_free) note_free_block(vs, blk);
    }
}

// New list for `node` at `level` (its vector in row 0 of vs->vecs) from
// `cur` without gone nodes plus the live neighbours of the gone ones.
//
// The candidates are capped (vs->vecs_rows - 1, each costs a slot read and a
// distance): the node's own live neighbours always make it, then the gone
// neighbours' lists contribute in turns, their first (nearest) entries
// first. An earlier version sorted the whole pool by id and cut it: nodes
// with high ids — the ones inserted since the build, appended at the end of
// the relation — lost their places, even as current neighbours, and recall
// fell with every delete / re-insert round (bench churn section).
int rebuild_list(VacState* vs, NodeId node, int level, const NodeId* cur, int n, NodeId* out) {
    const Geometry& g = vs->g;
    const int max = level == 0 ? 2 * g.m : g.m;
    const int cap = static_cast<int>(vs->vecs_rows) - 1;
    const int width = 2 * g.m;
    NodeId* pool = static_cast<NodeId*>(palloc(static_cast<std::size_t>(n) * (width + 1) * sizeof(NodeId) + 1));
    int np = 0;
    NodeId* hop = static_cast<NodeId*>(palloc(static_cast<std::size_t>(n) * width * sizeof(NodeId) + 1));  // gone neighbours' lists
    int hop_n[200];
    int n_gone = 0;
    for (int i = 0; i < n; ++i) {
        if (!is_gone(vs, cur[i])) {
            pool[np++] = cur[i];
            continue;
        }
        SlotHeader h;
        NodeId* row = hop + n_gone * width;
        hop_n[n_gone] = 0;
        if (!read_slot(vs->index, g, cur[i], &h, level == 0 ? row : nullptr, nullptr)) continue;
        hop_n[n_gone] = level == 0 ? std::min<int>(h.n0, width) : read_upper_list(vs->index, g, h, level, row);
        ++n_gone;
    }
    for (int j = 0; j < width; ++j)
        for (int k = 0; k < n_gone; ++k)
            if (j < hop_n[k]) {
                const NodeId id = hop[k * width + j];
                if (id != node && !is_gone(vs, id)) pool[np++] = id;
            }
    // Drop repeats, keeping first places (the order above is the priority).
    {
        std::pair<NodeId, int>* keyed = static_cast<std::pair<NodeId, int>*>(palloc(np * sizeof(std::pair<NodeId, int>) + 1));
        for (int i = 0; i < np; ++i) keyed[i] = {pool[i], i};
        std::sort(keyed, keyed + np);
        int u = 0;
        for (int i = 0; i < np; ++i)
            if (i == 0 || keyed[i].first != keyed[i - 1].first) keyed[u++] = keyed[i];
        std::sort(keyed, keyed + u, [](const auto& a, const auto& b) { return a.second < b.second; });
        for (int i = 0; i < u; ++i) pool[i] = keyed[i].first;
        np = u;
        pfree(keyed);
    }
    // Score candidates; keep at most vecs_rows - 1 (row 0 is the node).
    np = std::min<int>(np, cap);
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
    pfree(pool);
    pfree(hop);
    return result;
}

// Writes a repaired list if the list on the page is still `cur`; false if
// it changed meanwhile.
bool write_list(VacState* vs, NodeId node, int level, const SlotHeader& hdr, const NodeId* cur, int n,
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
        char* s = slot_ptr_id(page, g, node);
        n0 = &slot_header(s)->n0;
        now = slot_header(s)->state == kSlotLive ? *n0 : -1;
        lst = slot_neighbors(s);
    } else {
        char* rec = reinterpret_cast<char*>(PageGetItem(page, PageGetItemId(page, hdr.upper_off)));
        ucount = reinterpret_cast<NodeId*>(rec + (level - 1) * g.upper_bytes_per_level);
        now = static_cast<int>(*ucount);
        lst = ucount + 1;
    }
    const bool same = now == n && std::memcmp(lst, cur, n * sizeof(NodeId)) == 0;
    if (!same) {
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
    if (same) crash_point("hnsw_vacuum_list_written");
    return same;
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
            for (std::uint32_t s = 0; s < g.slots_on(blk); ++s)
                std::memcpy(copy + s * head, slot_ptr(page, g, blk, s), head);
        UnlockReleaseBuffer(buf);
        if (!element) continue;
        for (std::uint32_t s = 0; s < g.slots_on(blk); ++s) {
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

// Step 3: every live node reachable from the entry point over level-0
// links. Repair (one hop, heuristic re-selection) and inserts (re-selection
// of full lists) can leave a live node whose every in-edge was dropped or
// ran through deleted nodes; no scan would ever return it. A breadth-first
// walk from the entry point (never through gone nodes) finds such nodes and
// links each from a reachable node, then walks on from it: its own links
// may lead to further stranded nodes.
struct Reach {
    NodeId entry;
    bool trust_indeg;  // may replace an entry with another in-edge
    std::uint8_t* reached;  // by id
    std::uint16_t* indeg;   // in-edges from reached nodes (saturating)
    NodeId* queue;
    std::size_t head;
    std::size_t tail;
};

void reach_push(VacState* vs, Reach* r, NodeId id) {
    if (id >= vs->capacity || r->reached[id]) return;
    r->reached[id] = 1;
    r->queue[r->tail++] = id;
}

void reach_walk(VacState* vs, Reach* r) {
    const Geometry& g = vs->g;
    NodeId lst[200];
    while (r->head < r->tail) {
        if ((r->head & 1023) == 0) vacuum_delay_point();
        const NodeId id = r->queue[r->head++];
        SlotHeader h;
        if (!read_slot(vs->index, g, id, &h, lst, nullptr) || h.state != kSlotLive) continue;
        const int n = std::min<int>(h.n0, 2 * g.m);
        for (int i = 0; i < n; ++i) {
            const NodeId to = lst[i];
            if (!is_alive(vs, to)) continue;
            if (r->indeg[to] < 0xffff) ++r->indeg[to];
            reach_push(vs, r, to);
        }
    }
}

// Distance from the vector in row 0 to node id (its vector into row 1);
// false if id is no live slot.
bool dist_to(VacState* vs, NodeId id, float* d) {
    SlotHeader h;
    char* row = vs->vecs + vs->g.vec_bytes;
    if (!read_slot(vs->index, vs->g, id, &h, nullptr, row) || h.state != kSlotLive) return false;
    *d = vs->dist(vs->vecs, row, vs->g.dim);
    return true;
}

// Adds the edge x -> s at level 0: appended if x's list has room, else in
// place of the entry whose loss harms least: a gone node, else one that s
// itself points at (x -> s -> it), else (in the first rounds) one with
// another in-edge from a reached node, farthest first; that in-edge may
// come from a node only it leads to, which the next round's walk finds. An entry with no other in-edge is replaced
// only when `force`. Returns 1 when linked, 0 when x has no entry to spare,
// -1 when x is no longer live.
int add_edge(VacState* vs, Reach* r, NodeId x, NodeId s, const NodeId* s_out, int n_s_out, bool force) {
    const Geometry& g = vs->g;
    const int max = 2 * g.m;
    NodeId cur[200];
    NodeId next[200];
    for (int attempt = 0; attempt < 5; ++attempt) {
        SlotHeader h;
        if (!read_slot(vs->index, g, x, &h, cur, vs->vecs) || h.state != kSlotLive) return -1;
        const int n = std::min<int>(h.n0, max);
        if (std::find(cur, cur + n, s) != cur + n) return 1;
        std::memcpy(next, cur, n * sizeof(NodeId));
        int newn = n;
        NodeId victim_id = kNoNode;
        if (n < max) {
            next[newn++] = s;
        } else {
            int victim = 0, victim_rank = -1;
            float victim_d = 0;
            for (int i = 0; i < n; ++i) {
                int rank;
                float d = 0;
                if (!is_alive(vs, cur[i]) || !dist_to(vs, cur[i], &d))
                    rank = 3;
                else if (std::find(s_out, s_out + n_s_out, cur[i]) != s_out + n_s_out)
                    rank = 2;
                else
                    rank = r->indeg[cur[i]] >= 2 && r->trust_indeg ? 1 : 0;
                if (rank > victim_rank || (rank == victim_rank && d > victim_d)) {
                    victim = i;
                    victim_rank = rank;
                    victim_d = d;
                }
            }
            if (victim_rank == 0 && !force) return 0;
            victim_id = cur[victim];
            next[victim] = s;
        }
        if (!write_list(vs, x, 0, h, cur, n, next, newn)) continue;
        if (victim_id != kNoNode && victim_id < vs->capacity && r->indeg[victim_id] > 0) --r->indeg[victim_id];
        if (r->indeg[s] < 0xffff) ++r->indeg[s];
        return 1;
    }
    return -1;
}

// Reached, live nodes among ids, nearest to the vector in row 0 first.
int rank_reached(VacState* vs, Reach* r, const NodeId* ids, int n, core::Candidate* out) {
    int k = 0;
    for (int i = 0; i < n; ++i) {
        float d;
        if (!is_alive(vs, ids[i]) || !r->reached[ids[i]] || !dist_to(vs, ids[i], &d)) continue;
        out[k++] = core::Candidate{d, ids[i]};
    }
    std::sort(out, out + k, [](const core::Candidate& a, const core::Candidate& b) { return a.dist < b.dist; });
    return k;
}

// Links stranded node s (its list s_out; its vector in row 0, which this
// overwrites) from a reached node: the nearest of its reached out-neighbours
// with an entry to spare; with `search`, else the nearest such node met on
// a greedy walk from the entry point over reached nodes, else the first
// such node by id, else (never expected) the walk's end, evicting.
bool link_one(VacState* vs, Reach* r, NodeId s, const NodeId* s_out, int n_s_out, bool search) {
    const Geometry& g = vs->g;
    const std::size_t vb = g.vec_bytes;
    char* svec = vs->vecs + (vs->vecs_rows - 1) * vb;  // s's vector, kept aside
    std::memcpy(svec, vs->vecs, vb);
    core::Candidate order[200];
    int k = rank_reached(vs, r, s_out, n_s_out, order);
    for (int i = 0; i < k; ++i) {
        const int res = add_edge(vs, r, order[i].id, s, s_out, n_s_out, false);
        std::memcpy(vs->vecs, svec, vb);
        if (res > 0) return true;
    }
    if (!search) return false;
    // Greedy walk towards s over reached nodes.
    NodeId at = r->entry;
    float at_d;
    if (!dist_to(vs, at, &at_d)) return false;
    NodeId lst[200];
    for (int step = 0; step < 10000; ++step) {
        SlotHeader h;
        if (!read_slot(vs->index, g, at, &h, lst, nullptr)) break;
        k = rank_reached(vs, r, lst, std::min<int>(h.n0, 2 * g.m), order);
        for (int i = 0; i < k; ++i) {
            const int res = add_edge(vs, r, order[i].id, s, s_out, n_s_out, false);
            std::memcpy(vs->vecs, svec, vb);
            if (res > 0) return true;
        }
        if (k == 0 || order[0].dist >= at_d) break;
        at = order[0].id;
        at_d = order[0].dist;
    }
    for (NodeId id = 0; id < vs->capacity; ++id) {
        if (!is_alive(vs, id) || !r->reached[id]) continue;
        if (add_edge(vs, r, id, s, s_out, n_s_out, false) > 0) return true;
    }
    return add_edge(vs, r, at, s, s_out, n_s_out, true) > 0;
}

// One sweep over the stranded nodes; returns how many it linked.
std::int64_t link_stranded(VacState* vs, Reach* r, bool search) {
    const Geometry& g = vs->g;
    NodeId out[200];
    std::int64_t linked = 0;
    for (NodeId id = 0; id < vs->capacity; ++id) {
        if (!is_alive(vs, id) || r->reached[id]) continue;
        vacuum_delay_point();
        SlotHeader h;
        if (!read_slot(vs->index, g, id, &h, out, vs->vecs) || h.state != kSlotLive) continue;
        if (!link_one(vs, r, id, out, std::min<int>(h.n0, 2 * g.m), search)) continue;
        ++linked;
        reach_push(vs, r, id);
        reach_walk(vs, r);
    }
    return linked;
}

void ensure_reachable(VacState* vs) {
    MetaPage meta;
    read_meta(vs->index, &meta);
    NodeId entry = meta.entry_id;
    if (entry == kNoNode || !is_alive(vs, entry)) entry = vs->best_id;  // as step 3 would move it
    if (entry == kNoNode || !is_alive(vs, entry)) return;
    Reach r;
    r.entry = entry;
    r.reached = static_cast<std::uint8_t*>(MemoryContextAllocHuge(CurrentMemoryContext, vs->capacity));
    r.indeg = static_cast<std::uint16_t*>(MemoryContextAllocHuge(CurrentMemoryContext, vs->capacity * sizeof(std::uint16_t)));
    r.queue = static_cast<NodeId*>(MemoryContextAllocHuge(CurrentMemoryContext, vs->capacity * sizeof(NodeId)));
    // A replaced entry can strand a node in turn (see add_edge), so walk
    // again from scratch until a walk finds every live node; later rounds
    // replace only entries that stay reachable for sure.
    for (int round = 0; round < 6; ++round) {
        r.trust_indeg = round < 2;
        std::memset(r.reached, 0, vs->capacity);
        std::memset(r.indeg, 0, vs->capacity * sizeof(std::uint16_t));
        r.head = r.tail = 0;
        reach_push(vs, &r, entry);
        reach_walk(vs, &r);
        if (static_cast<double>(r.tail) >= vs->live) break;
        std::int64_t linked = 0;
        for (;;) {
            const std::int64_t k = link_stranded(vs, &r, false);
            linked += k;
            if (k == 0) break;
        }
        linked += link_stranded(vs, &r, true);
        vs->relinked += linked;
        if (linked == 0) break;
    }
    pfree(r.reached);
    pfree(r.indeg);
    pfree(r.queue);
}

// Step 3: the entry point moves to a node that stays (the highest live
// one) in a record of its own, before any slot is freed: a crash between
// the passes must not leave the metapage naming a free slot.
void move_entry_off_gone(VacState* vs) {
    Buffer mbuf = ReadBuffer(vs->index, kMetaBlock);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    const MetaPage* meta = page_meta(BufferGetPage(mbuf));
    bool move = meta->entry_id != kNoNode && meta->entry_id < vs->capacity && is_gone(vs, meta->entry_id);
    if (move) {
        // A slot that was free when marked may have been reused since, and
        // its new node made the entry by an insert: leave a live entry be.
        // (Lock order: metapage, then element page.)
        Buffer eb = lock_element_page(vs->index, vs->g.block_of(meta->entry_id), BUFFER_LOCK_SHARE);
        if (BufferIsValid(eb)) {
            move = slot_header(slot_ptr_id(BufferGetPage(eb), vs->g, meta->entry_id))->state != kSlotLive;
            UnlockReleaseBuffer(eb);
        }
    }
    if (move) {
        GenericXLogState* x = GenericXLogStart(vs->index);
        MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, mbuf, 0));
        m->entry_id = vs->best_level >= 0 ? vs->best_id : kNoNode;
        m->entry_level = vs->best_level;
        GenericXLogFinish(x);
    }
    UnlockReleaseBuffer(mbuf);
}

// Step 4: free.
void free_slots(VacState* vs) {
    const Geometry& g = vs->g;
    for (BlockNumber blk = 1; blk < vs->nblocks && vs->n_deleted > 0; ++blk) {
        vacuum_delay_point();
        bool any = false;
        for (std::uint32_t s = 0; s < g.slots_on(blk) && !any; ++s) any = is_gone(vs, g.id_of(blk, s));
        if (!any) continue;
        Buffer buf = ReadBuffer(vs->index, blk);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        bool dirty = false;
        if (page_opaque(page)->kind == kPageElement) {
            for (std::uint32_t s = 0; s < g.slots_on(blk); ++s)
                if (slot_header(slot_ptr(page, g, blk, s))->state == kSlotDeleted) dirty = true;
        }
        if (dirty) {
            GenericXLogState* x = GenericXLogStart(vs->index);
            Page wp = GenericXLogRegisterBuffer(x, buf, 0);
            for (std::uint32_t s = 0; s < g.slots_on(blk); ++s) {
                SlotHeader* h = slot_header(slot_ptr(wp, g, blk, s));
                if (h->state != kSlotDeleted) continue;
                h->state = kSlotFree;
                h->n0 = 0;
            }
            GenericXLogFinish(x);
        }
        UnlockReleaseBuffer(buf);
        if (dirty) note_free_block(vs, blk);
        if (dirty) crash_point("hnsw_vacuum_freed");
    }

    Buffer mbuf = ReadBuffer(vs->index, kMetaBlock);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState* x = GenericXLogStart(vs->index);
    MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, mbuf, 0));
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

namespace {

VacState* start_vacuum(Relation index, const MetaPage& meta, MemoryContext ctx) {
    VacState* vs = static_cast<VacState*>(palloc0(sizeof(VacState)));
    vs->index = index;
    geometry_from_meta(&meta, vs->g);
    vs->dist = core::resolve_distance(vs->g.metric, vs->g.type);
    vs->nblocks = RelationGetNumberOfBlocks(index);
    vs->capacity = id_capacity(index, vs->g);
    vs->gone = static_cast<std::uint8_t*>(MemoryContextAllocHuge(ctx, vs->capacity / 8 + 1));
    std::memset(vs->gone, 0, vs->capacity / 8 + 1);
    vs->alive = static_cast<std::uint8_t*>(MemoryContextAllocHuge(ctx, vs->capacity / 8 + 1));
    std::memset(vs->alive, 0, vs->capacity / 8 + 1);
    vs->best_id = kNoNode;
    vs->best_level = -1;
    vs->vecs_rows = 1 + 4 * static_cast<std::size_t>(vs->g.m) * 2;
    vs->vecs = static_cast<char*>(MemoryContextAllocHuge(ctx, vs->vecs_rows * vs->g.vec_bytes));
    return vs;
}

void report_relinked(const IndexVacuumInfo* info, const VacState* vs) {
    if (vs->relinked == 0) return;
    // PG 15 gives index AMs DEBUG2 even under VACUUM VERBOSE: DEBUG1 at least.
    ereport(std::max(info->message_level, DEBUG1),
            (errmsg("index \"%s\": linked %lld unreachable live nodes back into the graph",
                    RelationGetRelationName(vs->index), static_cast<long long>(vs->relinked))));
}

}  // namespace

IndexBulkDeleteResult* vecdb_hnsw_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                             IndexBulkDeleteCallback callback, void* cb_state) {
    Relation index = info->index;
    if (stats == nullptr) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    MetaPage meta;
    read_meta(index, &meta);
    if (meta.dim == 0) return stats;

    // The pending list first, under every merge lane (held to the end: no
    // merge runs beside the graph repair). Dead rows are dropped unlinked,
    // so no entry names a heap TID this vacuum lets the table reuse.
    merge_lock(index);
    merge_pending(index, kAllLanes, -1, callback, cb_state);
    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    VacState* vs = start_vacuum(index, meta, ctx);
    mark_dead(vs, callback, cb_state);
    const std::int64_t removed = vs->n_deleted;
    if (vs->n_deleted > 0) repair(vs);
    move_entry_off_gone(vs);  // also one left on a freed slot by an older vacuum
    // Before freeing: the walk must not pass through slots that step 4
    // frees. It starts at the entry point just moved.
    ensure_reachable(vs);
    if (vs->n_deleted > 0) free_slots(vs);
    IndexFreeSpaceMapVacuum(index);
    report_relinked(info, vs);
    stats->num_pages = vs->nblocks;
    stats->num_index_tuples = vs->live;
    stats->tuples_removed += static_cast<double>(removed);
    stats->estimated_count = false;
    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    IndexFreeSpaceMapVacuum(index);
    merge_unlock(index);
    return stats;
}

IndexBulkDeleteResult* vecdb_hnsw_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
    if (info->analyze_only) return stats;
    if (stats != nullptr) return stats;  // bulk delete counted and walked
    // No bulk delete ran (nothing died): count what is there, and link in
    // live nodes that inserts left unreachable.
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    MetaPage meta;
    read_meta(info->index, &meta);
    stats->num_pages = RelationGetNumberOfBlocks(info->index);
    stats->estimated_count = false;
    if (meta.dim == 0) return stats;
    // Insert-only tables get here through autovacuum's insert threshold:
    // merge their pending list.
    merge_lock(info->index);
    merge_pending(info->index, kAllLanes, -1, nullptr, nullptr);
    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    VacState* vs = start_vacuum(info->index, meta, ctx);
    mark_dead(vs, nullptr, nullptr);
    move_entry_off_gone(vs);
    ensure_reachable(vs);
    IndexFreeSpaceMapVacuum(info->index);
    report_relinked(info, vs);
    stats->num_pages = vs->nblocks;
    stats->num_index_tuples = vs->live;
    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    IndexFreeSpaceMapVacuum(info->index);
    merge_unlock(info->index);
    return stats;
}
