// Linking one row into the graph on pages (graph_insert): what aminsert does
// when the pending list is off, and what the merger does for each pending
// entry (hnsw_merge.cpp). aminsert itself appends to the pending list
// (hnsw_pending.cpp) in the common case.
//
// 1. Search the graph for the new vector's neighbours (no lock held but one
//    page share lock at a time), select them with the shared heuristic.
// 2. Take a free slot (vacuumed slots first, then the last element page,
//    else extend) and write the node with its own outgoing lists, plus its
//    upper-level record, in one GenericXLog record together with the
//    metapage (entry point when the new node is higher than the old one).
//    Until step 3 nothing points at it: a crash here leaks a slot whose heap
//    row never committed, which vacuum frees.
// 3. Point each neighbour back at it: one record per neighbour list (append
//    when there is room, else re-select). A crash between these records
//    leaves a valid graph that merely has fewer back links.
//    Reachability (level 0, no concurrent writer): every node reachable
//    before stays reachable and the new node becomes reachable. An edge
//    nb -> F that a re-selection drops is rerouted nb -> new -> F (F pinned
//    in, or added to, the new node's list, which is rewritten at the end);
//    if every neighbour rejects the new node it is forced into its nearest
//    neighbour's list. Several mergers (merge lanes, hnsw_pending.h) keep
//    these rules with being-linked marks: a linker changes no list of a node
//    another merger is linking (rule 1) and drops no such node from a list it
//    re-selects (rule 2); a node the rules leave without an in-edge is
//    reported (graph_insert returns false) and its entry merged again later.
//    keep_in_own may evict a marked node from the new node's original list:
//    harmless, since two nodes linked at once cannot each be in the other's
//    original list (each was written before the other's search ended).
//    Direct inserts beside other writers and crashes can still strand a
//    node: VACUUM links every live node back in (hnsw_vacuum.cpp, step 3).
// Locks: metapage before element page before upper page, never the reverse;
// neighbour updates hold one page at a time (optimistic: read under a share
// lock, then re-check under the exclusive lock and retry if it changed).
#include <algorithm>
#include <utility>
#include <vector>

#include "vecdb/pg/crash_point.h"
#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"
#include "vecdb/pg/hnsw_pending.h"

extern "C" {
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/timestamp.h"
}

namespace vecdb::pg::hnsw {
namespace {

std::uint64_t rng_state = 0;

struct InsertState {
    Relation index;
    Geometry g;
    core::DistFn dist;
    const char* vec;
    int level;
    NodeId new_id;
    // Per level: candidates found by the search, and the selected neighbours.
    core::Candidate* cands[core::kMaxLevel + 1];
    int n_cands[core::kMaxLevel + 1];
    NodeId* lists[core::kMaxLevel + 1];
    int n_lists[core::kMaxLevel + 1];
    char* vecs;  // scratch: up to max(ef_construction, 2m + 1) vectors
    std::size_t vecs_rows;
    Workspace* ws;
    MemoryContextCallback cb;
    // Level 0 of the new node's list as written by write_node (orig), and
    // as step 3 wants it: an entry is pinned once some neighbour dropped its
    // own edge to it, so that x -> new -> it is that node's way in now.
    NodeId orig0[200];
    int n_orig0;
    bool pinned[200];
};

void release_ws(void* arg) {
    InsertState* is = static_cast<InsertState*>(arg);
    release_workspace(is->ws);
    is->ws = nullptr;
}

// Step 1a: candidates per level, by the shared beam search.
void search_candidates(InsertState* is, const MetaPage& meta) {
    const Geometry& g = is->g;
    const NodeId capacity = id_capacity(is->index, g);
    is->ws = acquire_workspace(is->index, capacity, g.vec_bytes);
    Workspace* ws = is->ws;
    ScanStats stats;
    PageGraph graph(is->index, g, is->vec, ws, &stats);
    FilteredPageGraph filtered(is->index, g, is->vec, ws, &stats);
    const int top = meta.entry_level;
    const NodeId entry = meta.entry_id;
    const int level = is->level;
    const int lo = std::min(level, top);
    const std::size_t ef = static_cast<std::size_t>(g.ef_construction);
    InsertState* st = is;
    guarded([&] {
        float d;
        if (!graph.score(entry, &d)) return;
        core::Candidate cur{d, entry};
        ws->visited.test_and_set(entry);
        for (int l = top; l > level; --l) {
            core::search_layer(graph, &cur, 1, l, 1, ws->visited, ws->result, nullptr, ws->frontier);
            if (!ws->result.empty()) cur = ws->result.front();
        }
        ws->entries.assign(1, cur);
        for (int l = lo; l >= 0; --l) {
            ws->visited.reset(capacity);
            for (const core::Candidate& e : ws->entries) ws->visited.test_and_set(e.id);
            core::search_layer(filtered, ws->entries.data(), ws->entries.size(), l, ef, ws->visited, ws->result,
                               nullptr, ws->frontier);
            const std::size_t n = std::min(ws->result.size(), ef);
            std::copy(ws->result.begin(), ws->result.begin() + n, st->cands[l]);
            st->n_cands[l] = static_cast<int>(n);
            if (!ws->result.empty()) ws->entries.assign(ws->result.begin(), ws->result.end());
        }
    });
}

// Selects at most max_out of cands (nearest first; vecs row i = cands[i]).
// The heuristic runs on row numbers (a repeated id keeps its first row), so
// a pair distance is two row addresses, not two id lookups (the lookups were
// 16 % of a merge's profile).
int select_from(const InsertState* is, const core::Candidate* cands, int n, int max_out, NodeId* out) {
    const char* vecs = is->vecs;
    const std::size_t vb = is->g.vec_bytes;
    const core::DistFn dist = is->dist;
    const std::uint32_t dim = is->g.dim;
    return guarded([&] {
        std::vector<std::pair<NodeId, int>> rows(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) rows[i] = {cands[i].id, i};
        std::sort(rows.begin(), rows.end());
        std::vector<core::Candidate> by_row(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            const int first = i > 0 && rows[i].first == rows[i - 1].first ? static_cast<int>(by_row[rows[i - 1].second].id)
                                                                             : rows[i].second;
            by_row[rows[i].second] = core::Candidate{cands[rows[i].second].dist, static_cast<NodeId>(first)};
        }
        std::vector<NodeId> picked(static_cast<std::size_t>(max_out));
        const int k = core::select_neighbors(
            by_row.data(), n, max_out,
            [&](NodeId a, NodeId b) { return dist(vecs + a * vb, vecs + b * vb, dim); }, picked.data());
        for (int i = 0; i < k; ++i) out[i] = cands[picked[i]].id;
        return k;
    });
}

// read_slot through the block->buffer hints of the insert's workspace
// (ReadRecentBuffer: no buffer-mapping lookup; those lookups were a quarter
// of a merge's profile). Same locking as read_slot.
bool fetch_slot(const InsertState* is, NodeId id, SlotHeader* hdr, NodeId* nbrs, void* vec) {
    const Geometry& g = is->g;
    Workspace* ws = is->ws;
    const BlockNumber blk = g.block_of(id);
    if (ws == nullptr || g.blocks_per_slot > 1 || g.packed || id == kNoNode || blk == kMetaBlock || blk >= ws->hints.size())
        return read_slot(is->index, g, id, hdr, nbrs, vec);
    Buffer buf = ws->hints[blk];
    if (buf == InvalidBuffer || !ReadRecentBuffer(is->index->rd_node, MAIN_FORKNUM, blk, buf)) {
        buf = ReadBufferExtended(is->index, MAIN_FORKNUM, blk, RBM_NORMAL, nullptr);
        ws->hints[blk] = buf;
    }
    return read_slot_pinned(is->index, g, id, buf, hdr, nbrs, vec);
}

// Step 1b: the new node's neighbours per level.
void select_own_neighbors(InsertState* is) {
    const Geometry& g = is->g;
    for (int l = 0; l <= is->level; ++l) {
        is->n_lists[l] = 0;
        const int n = is->n_cands[l];
        if (n == 0) continue;
        // Fetch candidate vectors (those whose slot went away are dropped).
        int kept = 0;
        for (int i = 0; i < n; ++i) {
            SlotHeader h;
            if (!fetch_slot(is, is->cands[l][i].id, &h, nullptr, is->vecs + kept * g.vec_bytes)) continue;
            if (h.state != kSlotLive) continue;
            is->cands[l][kept++] = is->cands[l][i];
        }
        // m on every level, as the build does: back links grow level 0
        // towards 2m, and each back link is a list rewrite.
        is->n_lists[l] = select_from(is, is->cands[l], kept, g.m, is->lists[l]);
    }
}

int find_free_slot(Page page, BlockNumber blk, const Geometry& g, std::uint32_t* slot) {
    if (page_opaque(page)->kind != kPageElement) return 0;
    int n = 0;
    for (std::uint32_t s = 0; s < g.slots_on(blk); ++s) {
        if (slot_header(slot_ptr(page, g, blk, s))->state == kSlotFree) {
            if (n == 0) *slot = s;
            ++n;
        }
    }
    return n;
}

Buffer extend(Relation index) {
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    return buf;
}

// A block with a free slot from the free space map, exclusively locked
// (*slot, *nfree set), or InvalidBuffer. Vacuum records element pages below
// the pending list's request (kFsmElementFree), so the list never takes
// them; this request also finds reclaimed pending pages, which
// fsm_element_block leaves to the list (taking them would make the next list
// grow the index while freed slots wait). The map is a hint: a page found
// used up is set to zero, and after a few misses the caller extends.
Buffer free_space_block(Relation index, const Geometry& g, std::uint32_t* slot, int* nfree) {
    for (int tries = 0; tries < 8; ++tries) {
        bool empty;
        Buffer b = fsm_element_block(index, &empty);
        if (empty) break;
        if (!BufferIsValid(b)) continue;
        const BlockNumber blk = BufferGetBlockNumber(b);
        const int n = find_free_slot(BufferGetPage(b), blk, g, slot);
        if (n <= 1) RecordPageWithFreeSpace(index, blk, 0);  // used up now
        if (n > 0) {
            *nfree = n;
            return b;
        }
        UnlockReleaseBuffer(b);
    }
    return InvalidBuffer;
}

// pick_slot for the packed layout: the slot an insert would take
// (choose_packed_slot), left free. Fresh blocks (the head, and a straddling
// slot's tail) are written as empty element pages, with the metapage's
// insert block and used-up free-list entries, in one record of their own,
// so the tail a reserved slot needs is an element page from then on. When
// the insert block moves past the head (a straddling slot whose tail is the
// new block), the head goes on the free list in the same record: should the
// node never be written (a crash, an error), the next pick finds the slot
// there instead of losing it. Releases metabuf.
NodeId pick_packed_slot(InsertState* is, Buffer metabuf) {
    Relation index = is->index;
    const Geometry& g = is->g;
    SlotTarget t;
    choose_packed_slot(index, g, page_meta(BufferGetPage(metabuf)), &t);
    const BlockNumber head = BufferGetBlockNumber(t.head);
    const NodeId id = g.id_of(head, t.slot);
    bool logged = false, past_head = false;
    if (t.pops > 0 || t.head_fresh || t.tail_fresh || t.insert_block != InvalidBlockNumber) {
        logged = true;
        GenericXLogState* x = GenericXLogStart(index);
        MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, metabuf, 0));
        m->n_free_blocks -= t.pops;
        if (t.insert_block != InvalidBlockNumber) {
            m->insert_block = t.insert_block;
            // The free list was used up to get here (every entry popped),
            // so the head cannot be on it already.
            if (t.insert_block != head && m->n_free_blocks < kMaxFreeBlocks) {
                m->free_blocks[m->n_free_blocks++] = head;
                past_head = true;
            }
        }
        if (t.head_fresh) init_element_page(GenericXLogRegisterBuffer(x, t.head, GENERIC_XLOG_FULL_IMAGE));
        if (t.tail_fresh) init_element_page(GenericXLogRegisterBuffer(x, t.tail, GENERIC_XLOG_FULL_IMAGE));
        GenericXLogFinish(x);
    }
    if (BufferIsValid(t.tail)) UnlockReleaseBuffer(t.tail);
    UnlockReleaseBuffer(t.head);
    UnlockReleaseBuffer(metabuf);
    if (past_head) crash_point("hnsw_pick_past_head");
    if (logged) crash_point("hnsw_pick_logged");
    return id;
}

// The merger's allocation (a reserved slot, see graph_insert): a slot that
// is free now, without writing it (another merger or a direct insert may
// take the slot: write_node then finds it taken and the caller picks again). Free
// slots only appear through VACUUM, which holds every merge lane: a block
// seen full stays full, so trailing full free-list blocks are popped here. A
// fresh page is written empty (with the metapage's insert block) in its own
// record.
NodeId pick_slot(InsertState* is) {
    Relation index = is->index;
    const Geometry& g = is->g;
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    const MetaPage* meta = page_meta(BufferGetPage(metabuf));
    if (g.packed) return pick_packed_slot(is, metabuf);
    NodeId id = kNoNode;
    std::uint32_t slot = 0;
    int pops = 0;
    for (int i = static_cast<int>(meta->n_free_blocks) - 1; i >= 0 && id == kNoNode; --i) {
        Buffer b = ReadBuffer(index, meta->free_blocks[i]);
        LockBuffer(b, BUFFER_LOCK_SHARE);
        if (find_free_slot(BufferGetPage(b), meta->free_blocks[i], g, &slot) > 0)
            id = g.id_of(meta->free_blocks[i], slot);
        else
            ++pops;
        UnlockReleaseBuffer(b);
    }
    // Blocks vacuum recorded in the free space map (the metapage list is
    // full).
    if (id == kNoNode) {
        int nfree = 0;
        Buffer b = free_space_block(index, g, &slot, &nfree);
        if (BufferIsValid(b)) {
            id = g.id_of(BufferGetBlockNumber(b), slot);
            UnlockReleaseBuffer(b);
        }
    }
    if (id == kNoNode && meta->insert_block != InvalidBlockNumber) {
        Buffer b = ReadBuffer(index, meta->insert_block);
        LockBuffer(b, BUFFER_LOCK_SHARE);
        if (find_free_slot(BufferGetPage(b), meta->insert_block, g, &slot) > 0) id = g.id_of(meta->insert_block, slot);
        UnlockReleaseBuffer(b);
    }
    Buffer ebuf = InvalidBuffer;
    if (id == kNoNode) {
        LockRelationForExtension(index, ExclusiveLock);
        ebuf = extend(index);
        UnlockRelationForExtension(index, ExclusiveLock);
        id = g.id_of(BufferGetBlockNumber(ebuf), 0);
    }
    const bool logged = pops > 0 || BufferIsValid(ebuf);
    if (logged) {
        GenericXLogState* x = GenericXLogStart(index);
        MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, metabuf, 0));
        m->n_free_blocks -= pops;
        if (BufferIsValid(ebuf)) {
            init_element_page(GenericXLogRegisterBuffer(x, ebuf, GENERIC_XLOG_FULL_IMAGE));
            m->insert_block = BufferGetBlockNumber(ebuf);
        }
        GenericXLogFinish(x);
    }
    if (BufferIsValid(ebuf)) UnlockReleaseBuffer(ebuf);
    UnlockReleaseBuffer(metabuf);
    if (logged) crash_point("hnsw_pick_logged");
    return id;
}

// Step 2: allocate a slot and write the node. Returns its id. With a
// target (a slot pick_slot chose and the merger recorded), writes only
// there; kNoNode when the slot was taken meanwhile (an insert that bypasses
// the pending list).
NodeId write_node(InsertState* is, ItemPointer tid, NodeId target = kNoNode) {
    Relation index = is->index;
    const Geometry& g = is->g;
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    const MetaPage* meta = page_meta(BufferGetPage(metabuf));

    Buffer ebuf = InvalidBuffer;
    std::uint32_t slot = 0;
    bool fresh = false;
    int pops = 0;          // free-list entries used up
    bool pop_chosen = false;  // and the chosen one too (its last free slot)
    SlotTarget packed;     // packed layout: head and (straddling) tail block
    if (g.packed && target != kNoNode) {
        // The reserved slot (pick_packed_slot), if it is still free; its
        // tail block, for a straddling slot, is an element page since then.
        const BlockNumber tblk = g.block_of(target);
        Buffer b = ReadBuffer(index, tblk);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(b);
        if (!is_element_page(page) || g.is_hole(target) ||
            slot_header(slot_ptr_id(page, g, target))->state != kSlotFree) {
            UnlockReleaseBuffer(b);
            UnlockReleaseBuffer(metabuf);
            return kNoNode;
        }
        if (g.straddles(target)) {
            Buffer tb = lock_element_page(index, tblk + 1, BUFFER_LOCK_EXCLUSIVE);  // ascending block order
            if (!BufferIsValid(tb)) {
                UnlockReleaseBuffer(b);
                UnlockReleaseBuffer(metabuf);
                return kNoNode;
            }
            packed.tail = tb;
        }
        packed.head = b;
        packed.slot = g.slot_of(target);
        ebuf = b;
        slot = packed.slot;
    } else if (g.packed) {
        choose_packed_slot(index, g, meta, &packed);
        ebuf = packed.head;
        slot = packed.slot;
        fresh = packed.head_fresh;
        pops = packed.pops;
    } else if (target != kNoNode) {
        const BlockNumber tblk = g.block_of(target);
        Buffer b = ReadBuffer(index, tblk);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(b);
        std::uint32_t first;
        const int nfree = find_free_slot(page, tblk, g, &first);
        if (nfree == 0 || slot_header(slot_ptr(page, g, tblk, g.slot_of(target)))->state != kSlotFree) {
            UnlockReleaseBuffer(b);
            UnlockReleaseBuffer(metabuf);
            return kNoNode;
        }
        ebuf = b;
        slot = g.slot_of(target);
        pop_chosen = nfree == 1 && meta->n_free_blocks > 0 && meta->free_blocks[meta->n_free_blocks - 1] == tblk;
    }
    for (int i = static_cast<int>(meta->n_free_blocks) - 1; i >= 0 && !g.packed && !BufferIsValid(ebuf); --i) {
        Buffer b = ReadBuffer(index, meta->free_blocks[i]);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        const int nfree = find_free_slot(BufferGetPage(b), BufferGetBlockNumber(b), g, &slot);
        if (nfree > 0) {
            ebuf = b;
            pop_chosen = nfree == 1;
            break;
        }
        UnlockReleaseBuffer(b);
        ++pops;
    }
    // The metapage lists at most kMaxFreeBlocks blocks with free slots;
    // vacuum records the others in the free space map (a delete-heavy table
    // frees slots on nearly every page).
    if (!BufferIsValid(ebuf) && !g.packed) {
        int nfree = 0;
        ebuf = free_space_block(index, g, &slot, &nfree);
    }
    if (!BufferIsValid(ebuf) && g.blocks_per_slot == 1 && meta->insert_block != InvalidBlockNumber) {
        Buffer b = ReadBuffer(index, meta->insert_block);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        if (find_free_slot(BufferGetPage(b), BufferGetBlockNumber(b), g, &slot) > 0)
            ebuf = b;
        else
            UnlockReleaseBuffer(b);
    }
    Buffer cont[64];
    const std::uint32_t ncont = g.blocks_per_slot - 1;
    if (!BufferIsValid(ebuf)) {
        LockRelationForExtension(index, ExclusiveLock);
        ebuf = extend(index);
        for (std::uint32_t k = 0; k < ncont; ++k) cont[k] = extend(index);
        UnlockRelationForExtension(index, ExclusiveLock);
        fresh = true;
        slot = 0;
    } else {
        for (std::uint32_t k = 0; k < ncont; ++k) {
            cont[k] = ReadBuffer(index, BufferGetBlockNumber(ebuf) + 1 + k);
            LockBuffer(cont[k], BUFFER_LOCK_EXCLUSIVE);
        }
    }
    const BlockNumber eblk = BufferGetBlockNumber(ebuf);
    const NodeId id = g.id_of(eblk, slot);

    // Upper record.
    Buffer ubuf = InvalidBuffer;
    bool ufresh = false;
    const std::size_t ubytes = static_cast<std::size_t>(is->level) * g.upper_bytes_per_level;
    if (is->level > 0) {
        if (meta->upper_block != InvalidBlockNumber) {
            ubuf = ReadBuffer(index, meta->upper_block);
            LockBuffer(ubuf, BUFFER_LOCK_EXCLUSIVE);
            if (PageGetFreeSpace(BufferGetPage(ubuf)) < MAXALIGN(ubytes)) {
                UnlockReleaseBuffer(ubuf);
                ubuf = InvalidBuffer;
            }
        }
        if (!BufferIsValid(ubuf)) {
            LockRelationForExtension(index, ExclusiveLock);
            ubuf = extend(index);
            UnlockRelationForExtension(index, ExclusiveLock);
            ufresh = true;
        }
    }

    // Continuation blocks first (nothing can reach them before the head).
    for (std::uint32_t k0 = 0; k0 < ncont; k0 += MAX_GENERIC_XLOG_PAGES) {
        GenericXLogState* x = GenericXLogStart(index);
        for (std::uint32_t k = k0; k < ncont && k < k0 + MAX_GENERIC_XLOG_PAGES; ++k) {
            Page p = GenericXLogRegisterBuffer(x, cont[k], GENERIC_XLOG_FULL_IMAGE);
            init_element_page(p, true);
            std::size_t off, len;
            vector_part(g, k + 1, &off, &len);
            std::memcpy(reinterpret_cast<char*>(p) + kAreaStart, is->vec + off, len);
        }
        GenericXLogFinish(x);
        for (std::uint32_t k = k0; k < ncont && k < k0 + MAX_GENERIC_XLOG_PAGES; ++k) UnlockReleaseBuffer(cont[k]);
        crash_point("hnsw_continuation_written");
    }

    GenericXLogState* x = GenericXLogStart(index);
    Page mp = GenericXLogRegisterBuffer(x, metabuf, 0);
    Page ep = GenericXLogRegisterBuffer(x, ebuf, fresh ? GENERIC_XLOG_FULL_IMAGE : 0);
    Page up = BufferIsValid(ubuf) ? GenericXLogRegisterBuffer(x, ubuf, ufresh ? GENERIC_XLOG_FULL_IMAGE : 0) : nullptr;
    // A straddling packed slot: the fourth page of the record.
    Page tp = BufferIsValid(packed.tail)
                  ? GenericXLogRegisterBuffer(x, packed.tail, packed.tail_fresh ? GENERIC_XLOG_FULL_IMAGE : 0)
                  : nullptr;
    if (fresh) init_element_page(ep);
    if (tp != nullptr && packed.tail_fresh) init_element_page(tp);
    OffsetNumber uoff = InvalidOffsetNumber;
    if (up != nullptr) {
        if (ufresh) init_upper_page(up);
        NodeId* rec = static_cast<NodeId*>(palloc0(ubytes));
        for (int l = 1; l <= is->level; ++l) {
            NodeId* lst = rec + (l - 1) * (g.m + 1);
            lst[0] = static_cast<NodeId>(is->n_lists[l]);
            std::memcpy(lst + 1, is->lists[l], is->n_lists[l] * sizeof(NodeId));
        }
        uoff = PageAddItem(up, reinterpret_cast<Item>(rec), ubytes, InvalidOffsetNumber, false, false);
        if (uoff == InvalidOffsetNumber) elog(ERROR, "hnsw: could not add upper-level record");
    }
    char* s = g.packed ? static_cast<char*>(palloc0(g.slot_bytes)) : slot_ptr(ep, g, eblk, slot);
    if (!g.packed) std::memset(s, 0, g.blocks_per_slot == 1 ? g.slot_bytes : kAreaBytes);
    SlotHeader* h = slot_header(s);
    h->tid = *tid;
    h->level = static_cast<std::uint8_t>(is->level);
    h->state = kSlotLive;
    h->n0 = static_cast<std::uint16_t>(is->n_lists[0]);
    h->upper_blk = up ? BufferGetBlockNumber(ubuf) : InvalidBlockNumber;
    h->upper_off = uoff;
    std::memcpy(slot_neighbors(s), is->lists[0], is->n_lists[0] * sizeof(NodeId));
    std::size_t off, len;
    vector_part(g, 0, &off, &len);
    std::memcpy(s + g.vec_offset, is->vec, g.packed ? g.vec_bytes : len);
    if (g.packed) put_packed_slot(ep, tp, g, id, s);

    MetaPage* m = page_meta(mp);
    m->n_free_blocks -= pops + (pop_chosen ? 1 : 0);
    if (g.packed && packed.insert_block != InvalidBlockNumber) m->insert_block = packed.insert_block;
    if (fresh && g.blocks_per_slot == 1 && !g.packed) m->insert_block = eblk;
    if (ufresh) m->upper_block = BufferGetBlockNumber(ubuf);
    m->live_nodes += 1;
    if (m->entry_id == kNoNode || is->level > m->entry_level) {
        m->entry_id = id;
        m->entry_level = is->level;
    }
    GenericXLogFinish(x);
    if (BufferIsValid(ubuf)) UnlockReleaseBuffer(ubuf);
    if (BufferIsValid(packed.tail)) UnlockReleaseBuffer(packed.tail);
    UnlockReleaseBuffer(ebuf);
    UnlockReleaseBuffer(metabuf);
    return id;
}

// Step 3 writes one neighbour list: `next` replaces the list of nb at level
// if the list on the page is still `cur` (n entries). Returns 1 when
// written, 0 when the list changed meanwhile (read again), -1 when nb is no
// longer live.
int write_list_if_unchanged(InsertState* is, NodeId nb, int level, const SlotHeader& h, const NodeId* cur, int n,
                            const NodeId* next, int newn) {
    Relation index = is->index;
    const Geometry& g = is->g;
    const BlockNumber blk = level == 0 ? g.block_of(nb) : h.upper_blk;
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    NodeId* lst;
    std::uint16_t* n0 = nullptr;
    NodeId* ucount = nullptr;
    if (level == 0) {
        char* s = slot_ptr_id(page, g, nb);
        SlotHeader* hh = slot_header(s);
        if (hh->state != kSlotLive) {
            UnlockReleaseBuffer(buf);
            return -1;
        }
        n0 = &hh->n0;
        lst = slot_neighbors(s);
    } else {
        char* rec = reinterpret_cast<char*>(PageGetItem(page, PageGetItemId(page, h.upper_off)));
        ucount = reinterpret_cast<NodeId*>(rec + (level - 1) * g.upper_bytes_per_level);
        lst = ucount + 1;
    }
    const int now = n0 ? *n0 : static_cast<int>(*ucount);
    if (now != n || std::memcmp(lst, cur, n * sizeof(NodeId)) != 0) {
        UnlockReleaseBuffer(buf);
        return 0;
    }
    const std::size_t lst_off = reinterpret_cast<char*>(lst) - reinterpret_cast<char*>(page);
    const std::size_t cnt_off = n0 ? reinterpret_cast<char*>(n0) - reinterpret_cast<char*>(page)
                                   : reinterpret_cast<char*>(ucount) - reinterpret_cast<char*>(page);
    GenericXLogState* x = GenericXLogStart(index);
    Page wp = GenericXLogRegisterBuffer(x, buf, 0);
    std::memcpy(reinterpret_cast<char*>(wp) + lst_off, next, newn * sizeof(NodeId));
    if (n0)
        *reinterpret_cast<std::uint16_t*>(reinterpret_cast<char*>(wp) + cnt_off) = static_cast<std::uint16_t>(newn);
    else
        *reinterpret_cast<NodeId*>(reinterpret_cast<char*>(wp) + cnt_off) = static_cast<NodeId>(newn);
    GenericXLogFinish(x);
    UnlockReleaseBuffer(buf);
    crash_point("hnsw_list_written");
    return 1;
}

bool in_list(const NodeId* lst, int n, NodeId id) { return std::find(lst, lst + n, id) != lst + n; }

enum LinkResult { kLinked, kRejected, kNoTarget };

// Pins f in the new node's level-0 list, adding it if missing: appended
// when there is room, else in place of the farthest unpinned entry (an
// original choice; nodes reachable before this insert stay so without it).
void keep_in_own(InsertState* is, NodeId f) {
    NodeId* own = is->lists[0];
    int& n = is->n_lists[0];
    NodeId* pos = std::find(own, own + n, f);
    if (pos != own + n) {
        is->pinned[pos - own] = true;
        return;
    }
    if (n < 2 * is->g.m) {
        own[n] = f;
        is->pinned[n++] = true;
        return;
    }
    // Candidates are sorted nearest first: the last unpinned one found is
    // the farthest.
    int victim = -1;
    for (int c = 0; c < is->n_cands[0]; ++c) {
        NodeId* p = std::find(own, own + n, is->cands[0][c].id);
        if (p != own + n && !is->pinned[p - own]) victim = static_cast<int>(p - own);
    }
    if (victim < 0) return;  // every entry pinned: left to vacuum
    own[victim] = f;
    is->pinned[victim] = true;
}

// Writes the new node's level-0 list if step 3 changed it. Concurrent
// inserts may have re-selected it meanwhile: then the pinned entries are
// merged into what is there.
void write_own_list(InsertState* is) {
    const int max = 2 * is->g.m;
    if (is->n_lists[0] == is->n_orig0 && std::memcmp(is->lists[0], is->orig0, is->n_orig0 * sizeof(NodeId)) == 0)
        return;
    NodeId cur[200];
    NodeId next[200];
    for (int attempt = 0; attempt < 5; ++attempt) {
        SlotHeader h;
        if (!fetch_slot(is, is->new_id, &h, cur, nullptr) || h.state != kSlotLive) return;
        const int n = std::min<int>(h.n0, max);
        int newn;
        if (n == is->n_orig0 && std::memcmp(cur, is->orig0, n * sizeof(NodeId)) == 0) {
            newn = is->n_lists[0];
            std::memcpy(next, is->lists[0], newn * sizeof(NodeId));
        } else {
            std::memcpy(next, cur, n * sizeof(NodeId));
            newn = n;
            bool fixed[200] = {};
            // Never evict another lane's node being linked (rule 2).
            for (int j = 0; j < newn; ++j)
                if (marked_by_other(is->index, is->g, next[j])) fixed[j] = true;
            for (int i = 0; i < is->n_lists[0]; ++i) {
                if (!is->pinned[i]) continue;
                const NodeId f = is->lists[0][i];
                NodeId* pos = std::find(next, next + newn, f);
                if (pos != next + newn) {
                    fixed[pos - next] = true;
                    continue;
                }
                int slot = newn < max ? newn++ : -1;
                for (int j = newn - 1; slot < 0 && j >= 0; --j)
                    if (!fixed[j]) slot = j;
                if (slot < 0) break;
                next[slot] = f;
                fixed[slot] = true;
            }
        }
        if (write_list_if_unchanged(is, is->new_id, 0, h, cur, n, next, newn) != 0) return;
    }
}

// Step 3: make nb (at level) point at the new node. A full list is
// re-selected by the heuristic, which may reject the new node (kRejected;
// the caller then forces one in-edge, see force_in_edge) or drop an old
// neighbour F, which may have had no other in-edge: see keep_in_own.
int link_back(InsertState* is, NodeId nb, int level) {
    Relation index = is->index;
    const Geometry& g = is->g;
    const int max = level == 0 ? 2 * g.m : g.m;
    NodeId cur[200];
    NodeId next[200];
    core::Candidate cands[201];
    bool live[201];
    NodeId keep[201];  // must stay in (level 0: join) the new node's list
    for (int attempt = 0; attempt < 3; ++attempt) {
        int n_keep = 0;
        SlotHeader h;
        char* nbvec = is->vecs;  // row 0: nb itself; rows 1..: candidates
        if (!fetch_slot(is, nb, &h, level == 0 ? cur : nullptr, nullptr) || h.state != kSlotLive)
            return kNoTarget;
        const int n = level == 0 ? std::min<int>(h.n0, max) : read_upper_list(index, g, h, level, cur);
        if (in_list(cur, n, is->new_id)) return kLinked;
        int newn;
        if (n < max) {
            std::memcpy(next, cur, n * sizeof(NodeId));
            next[n] = is->new_id;
            newn = n + 1;
        } else {
            // Full: re-select among the old neighbours and the new node.
            SlotHeader tmp;
            if (!fetch_slot(is, nb, &tmp, nullptr, nbvec)) return kNoTarget;
            char* rows = is->vecs + g.vec_bytes;
            int k = 0;
            for (int i = 0; i < n; ++i) {
                char* dst = rows + k * g.vec_bytes;
                if (!fetch_slot(is, cur[i], &tmp, nullptr, dst) || tmp.state == kSlotFree) continue;
                cands[k] = core::Candidate{is->dist(nbvec, dst, g.dim), cur[i]};
                live[k] = tmp.state == kSlotLive;
                ++k;
            }
            std::memcpy(rows + k * g.vec_bytes, is->vec, g.vec_bytes);
            cands[k] = core::Candidate{is->dist(nbvec, is->vec, g.dim), is->new_id};
            live[k] = true;
            ++k;
            // select_from wants vecs row i = cands[i] after sorting: sort an
            // index permutation and move the rows with it.
            int perm[201];
            for (int i = 0; i < k; ++i) perm[i] = i;
            std::sort(perm, perm + k, [&](int a, int b) { return cands[a].dist < cands[b].dist; });
            core::Candidate sorted[201];
            bool sorted_live[201];
            char* sorted_rows = rows + (k + 1) * g.vec_bytes;  // scratch holds 2 * (2m + 2) rows
            for (int i = 0; i < k; ++i) {
                sorted[i] = cands[perm[i]];
                sorted_live[i] = live[perm[i]];
                std::memcpy(sorted_rows + i * g.vec_bytes, rows + perm[i] * g.vec_bytes, g.vec_bytes);
            }
            InsertState view = *is;
            view.vecs = sorted_rows;
            newn = select_from(&view, sorted, k, max, next);
            if (!in_list(next, newn, is->new_id)) return kRejected;
            // Live old neighbours that the selection dropped (F) may have
            // had no other in-edge. Keep a way in for each at level 0:
            // nb -> new -> F, F pinned in (or added to) the new node's
            // list. (Steering nb's selection to keep F instead costs recall:
            // the heuristic dropped F as redundant for nb. Asking whether F
            // has another in-edge costs page reads and misses pairs that
            // only point at each other; rescuing always measured best.)
            for (int i = 0; i < k && level == 0; ++i) {
                const NodeId f = sorted[i].id;
                if (!sorted_live[i] || f == is->new_id || in_list(next, newn, f)) continue;
                keep[n_keep++] = f;
            }
        }
        // Merge lanes (hnsw_pending.h): another lane's node being linked
        // keeps its lists (rule 1) and its place in ours (rule 2). Read after
        // the list: a node is marked before any list can name it.
        if (marked_by_other(index, g, nb)) return kNoTarget;
        for (int i = 0; i < n; ++i)
            if (!in_list(next, newn, cur[i]) && marked_by_other(index, g, cur[i])) return kNoTarget;
        const int w = write_list_if_unchanged(is, nb, level, h, cur, n, next, newn);
        if (w > 0 && level == 0)
            for (int i = 0; i < n_keep; ++i) keep_in_own(is, keep[i]);
        if (w != 0) return w > 0 ? kLinked : kNoTarget;
        // changed under us: again
    }
    return kNoTarget;
}

// Every level-0 neighbour rejected the new node: nothing would point at it
// and no scan could find it. Force it into the list of its nearest
// neighbour x that is still live, in place of a dead entry, else of the
// farthest entry the new node itself points at, else of x's farthest entry;
// the evicted live entry is kept in the new node's list (x -> new -> it).
// Returns whether the new node got its in-edge (false: every candidate was
// gone or another merger's node being linked, hnsw_pending.h).
bool force_in_edge(InsertState* is) {
    const Geometry& g = is->g;
    const int max = 2 * g.m;
    NodeId cur[200];
    NodeId next[200];
    // The candidates are sorted nearest first; lists[0] holds the selected.
    for (int c = 0; c < is->n_cands[0]; ++c) {
        const NodeId x = is->cands[0][c].id;
        if (!in_list(is->lists[0], is->n_lists[0], x)) continue;
        for (int attempt = 0; attempt < 3; ++attempt) {
            SlotHeader h;
            if (!fetch_slot(is, x, &h, cur, is->vecs) || h.state != kSlotLive) break;
            const int n = std::min<int>(h.n0, max);
            if (in_list(cur, n, is->new_id)) return true;
            std::memcpy(next, cur, n * sizeof(NodeId));
            int newn = n;
            NodeId evicted = kNoNode;
            int victim = -1;  // the entry the new node replaces (full list)
            if (n < max) {
                next[newn++] = is->new_id;
            } else {
                // Victim: a dead entry, else the farthest entry the new node
                // points at, else the farthest entry.
                int victim_rank = -1;
                float victim_dist = 0;
                for (int i = 0; i < n; ++i) {
                    SlotHeader th;
                    int rank;
                    float d = 0;
                    if (!fetch_slot(is, cur[i], &th, nullptr, is->vecs + g.vec_bytes) || th.state != kSlotLive) {
                        rank = 2;
                    } else {
                        rank = in_list(is->lists[0], is->n_lists[0], cur[i]) ? 1 : 0;
                        d = is->dist(is->vecs, is->vecs + g.vec_bytes, g.dim);
                    }
                    if (rank > victim_rank || (rank == victim_rank && d > victim_dist)) {
                        victim = i;
                        victim_rank = rank;
                        victim_dist = d;
                    }
                }
                if (victim_rank >= 0 && victim_rank <= 1) evicted = cur[victim];
                next[victim] = is->new_id;
            }
            if (marked_by_other(is->index, g, x) || (victim >= 0 && marked_by_other(is->index, g, cur[victim]))) break;
            const int w = write_list_if_unchanged(is, x, 0, h, cur, n, next, newn);
            if (w < 0) break;
            if (w == 0) continue;
            if (evicted != kNoNode) keep_in_own(is, evicted);
            return true;
        }
    }
    return false;
}

// An index built empty without a declared dimension learns it here.
void set_dimension(Relation index, std::uint32_t dim) {
    Buffer buf = ReadBuffer(index, kMetaBlock);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    if (page_meta(BufferGetPage(buf))->dim == 0) {
        GenericXLogState* x = GenericXLogStart(index);
        MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, buf, 0));
        Geometry g;
        compute_geometry(g, dim, static_cast<core::Metric>(m->metric), static_cast<core::ElemType>(m->elem_type),
                         m->m, m->ef_construction);
        m->dim = dim;
        m->slots_per_page = static_cast<std::uint16_t>(g.slots_per_page);
        m->blocks_per_slot = static_cast<std::uint16_t>(g.blocks_per_slot);
        m->slot_bytes = g.slot_bytes;
        m->packed = g.packed ? 1 : 0;
        GenericXLogFinish(x);
    }
    UnlockReleaseBuffer(buf);
}

// storage = float16: a row whose rounding error or copy norm exceeds the
// metapage's raises it before the row enters the index, so every scan that
// can see the row computes its bounds with it (hnsw_bound.cpp).
void raise_float16_bounds(Relation index, double err, double norm) {
    Buffer buf = ReadBuffer(index, kMetaBlock);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    if (exceeds_float16_bounds(*page_meta(BufferGetPage(buf)), err, norm)) {
        GenericXLogState* x = GenericXLogStart(index);
        MetaPage* m = page_meta(GenericXLogRegisterBuffer(x, buf, 0));
        m->round_err_max = std::max(m->round_err_max, err);
        m->copy_norm_max = std::max(m->copy_norm_max, norm);
        GenericXLogFinish(x);
    }
    UnlockReleaseBuffer(buf);
}

}  // namespace
}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;
using vecdb::pg::guarded;

namespace vecdb::pg::hnsw {
namespace {

// A resumed merge (the slot already holds the node): its lists as written,
// and candidates for keep_in_own / force_in_edge from its level-0 list.
bool load_written_node(InsertState* is, NodeId id, ItemPointer tid) {
    const Geometry& g = is->g;
    SlotHeader h;
    NodeId nbrs[200];
    if (id == kNoNode || id >= id_capacity(is->index, g)) return false;
    if (!read_slot(is->index, g, id, &h, nbrs, nullptr) || h.state != kSlotLive || !ItemPointerEquals(&h.tid, tid))
        return false;
    is->level = h.level;
    const std::size_t ef = static_cast<std::size_t>(g.ef_construction);
    for (int l = 0; l <= is->level; ++l) {
        is->cands[l] = static_cast<core::Candidate*>(palloc(std::max<std::size_t>(ef, 2 * g.m) * sizeof(core::Candidate)));
        is->lists[l] = static_cast<NodeId*>(palloc(2 * g.m * sizeof(NodeId)));
        is->n_cands[l] = 0;
    }
    is->n_lists[0] = std::min<int>(h.n0, 2 * g.m);
    std::memcpy(is->lists[0], nbrs, is->n_lists[0] * sizeof(NodeId));
    for (int l = 1; l <= is->level; ++l) is->n_lists[l] = read_upper_list(is->index, g, h, l, is->lists[l]);
    int k = 0;
    for (int i = 0; i < is->n_lists[0]; ++i) {
        SlotHeader th;
        if (!read_slot(is->index, g, nbrs[i], &th, nullptr, is->vecs) || th.state != kSlotLive) continue;
        is->cands[0][k++] = core::Candidate{is->dist(is->vec, is->vecs, g.dim), nbrs[i]};
    }
    std::sort(is->cands[0], is->cands[0] + k,
              [](const core::Candidate& a, const core::Candidate& b) { return a.dist < b.dist; });
    is->n_cands[0] = k;
    return true;
}

}  // namespace

bool graph_insert(Relation index, const char* vec, ItemPointer tid, ReserveFn reserve, void* arg, NodeId resume) {
    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw insert", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    MetaPage meta;
    read_meta(index, &meta);
    InsertState* is = static_cast<InsertState*>(palloc0(sizeof(InsertState)));
    is->index = index;
    geometry_from_meta(&meta, is->g);
    const Geometry& g = is->g;
    is->dist = core::resolve_distance(g.metric, g.type);
    is->vec = vec;
    is->cb.func = release_ws;
    is->cb.arg = is;
    MemoryContextRegisterResetCallback(ctx, &is->cb);
    const std::size_t ef = static_cast<std::size_t>(g.ef_construction);
    is->vecs_rows = std::max<std::size_t>(ef, 2 * (2 * g.m + 2));
    is->vecs = static_cast<char*>(MemoryContextAllocHuge(ctx, is->vecs_rows * g.vec_bytes));

    if (reserve != nullptr && load_written_node(is, resume, tid)) {
        is->new_id = resume;
    } else {
        if (rng_state == 0)
            rng_state = (static_cast<std::uint64_t>(MyProcPid) << 32) ^ GetCurrentTimestamp() ^ 0x9E3779B97F4A7C15ull;
        is->level = core::random_level(rng_state, g.m);
        for (int l = 0; l <= is->level; ++l) {
            is->cands[l] = static_cast<core::Candidate*>(palloc(ef * sizeof(core::Candidate)));
            is->lists[l] = static_cast<NodeId*>(palloc(2 * g.m * sizeof(NodeId)));
        }
        if (meta.entry_id != kNoNode) {
            search_candidates(is, meta);  // is->ws stays: its buffer hints serve fetch_slot
            select_own_neighbors(is);
        }
        if (reserve == nullptr) {
            is->new_id = write_node(is, tid);
        } else {
            // The entry names the slot before the node exists: after a crash
            // the next merger finds the node there (and only there) instead of
            // writing a second one for the same row.
            is->new_id = kNoNode;
            for (int attempt = 0; is->new_id == kNoNode; ++attempt) {
                if (attempt == 20) elog(ERROR, "hnsw: could not reserve a slot for a pending entry");
                const NodeId id = pick_slot(is);
                reserve(arg, id);
                is->new_id = write_node(is, tid, id);
            }
        }
        crash_point("hnsw_node_written");
    }
    is->n_orig0 = is->n_lists[0];
    std::memcpy(is->orig0, is->lists[0], is->n_orig0 * sizeof(NodeId));
    // Level 0: every node reachable before stays reachable (each edge a
    // re-selection drops is rerouted through the new node), and the new
    // node gets an in-edge. Iterate over the original choices: keep_in_own
    // may change lists[0] meanwhile.
    bool linked = false;
    for (int i = 0; i < is->n_orig0; ++i) linked |= link_back(is, is->orig0[i], 0) == kLinked;
    if (!linked && is->n_orig0 > 0) linked = force_in_edge(is);
    if (is->n_orig0 == 0) linked = true;  // nothing to link to: the first node (the entry point)
    write_own_list(is);
    for (int l = 1; l <= is->level; ++l)
        for (int i = 0; i < is->n_lists[l]; ++i) link_back(is, is->lists[l][i], l);

    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    return linked;
}

}  // namespace vecdb::pg::hnsw

bool vecdb_hnsw_insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation /*heap*/,
                       IndexUniqueCheck /*check*/, bool /*indexUnchanged*/, IndexInfo* /*info*/) {
    if (isnull[0]) return false;
    MetaPage meta;
    read_meta(index, &meta);
    if (meta.dim == 0) {
        set_dimension(index, datum_dim(values[0], static_cast<core::ElemType>(meta.elem_type)));
        read_meta(index, &meta);
    }
    Geometry g;
    geometry_from_meta(&meta, g);
    char* vec = static_cast<char*>(palloc(g.vec_bytes));
    double err = 0, norm = 0;
    if (prepare_vector(values[0], g, vec, &err, &norm)) {  // else: zero vector under cosine
        if (g.float16_storage && exceeds_float16_bounds(meta, err, norm))
            raise_float16_bounds(index, err, norm);
        if (pending_usable(index, g))
            pending_insert(index, g, vec, heap_tid);
        else
            graph_insert(index, vec, heap_tid, nullptr, nullptr, kNoNode);
    }
    pfree(vec);
    return false;
}
