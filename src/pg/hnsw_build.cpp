// CREATE INDEX for hnsw: load the heap's vectors, build the graph in memory
// with the core GraphBuilder (several C++ threads), then write every page in
// one pass, packed so that a page holds a node and its nearest neighbours
// (core/hnsw_page_order.h), and WAL-log the whole relation once
// (log_newpage_range) instead of page by page.
//
// Memory (maintenance_work_mem = budget):
//  * exact vectors, as the pages will hold them, are kept in memory while
//    they take at most a quarter of the budget, else in a temporary file;
//  * the graph uses BuildStorage Exact if its estimate fits what is left,
//    else Half, else Int8 (construction distances only: pages always get
//    exact vectors). Past even Int8 the build still runs in memory, beyond
//    the budget, and says so with a NOTICE: there is no slow on-disk mode.
// Threads: 1 + plan_create_index_workers(), i.e. what Postgres would give a
// parallel btree build (max_parallel_maintenance_workers, table size). The
// threads are plain C++ threads inside GraphBuilder, touching only its
// memory: no Postgres parallel workers, no DSM (the graph is never in shared
// memory). The backend thread polls cancellation.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "vecdb/core/half.h"
#include "vecdb/core/hnsw_page_order.h"
#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/buffile.h"
#include "utils/backend_progress.h"
}

namespace vecdb::pg::hnsw {
namespace {

struct BuildState {
    Relation heap;
    Relation index;
    Geometry g;
    bool have_geometry;
    core::Metric metric;
    core::ElemType type;
    int m;
    int ef_construction;

    // Exact vectors (index form), in memory or spilled to a temporary file.
    char* mem;
    std::size_t mem_cap;  // bytes allocated
    BufFile* file;
    std::size_t n;
    ItemPointerData* tids;
    std::size_t tids_cap;

    // Largest |component| of the float32 vectors loaded: float16
    // construction vectors cannot hold one beyond kHalfMax.
    float max_abs;
    // storage = float16 on a float32 column: the largest rounding error and
    // copy norm of the rows loaded (MetaPage).
    bool float16_storage;
    double round_err_max;
    double copy_norm_max;

    std::size_t budget;  // bytes
    char* vec;           // one vector, scratch
    MemoryContext ctx;   // the build's
    MemoryContext tuple_ctx;
};

std::size_t mem_limit(const BuildState* st) { return st->budget / 4; }

void set_geometry(BuildState* st, std::uint32_t dim) {
    compute_geometry(st->g, dim, st->metric, st->type, st->m, st->ef_construction);
    st->g.float16_storage = st->float16_storage;
}

void store_vector(BuildState* st, const void* v, ItemPointer tid) {
    const std::size_t vb = st->g.vec_bytes;
    if (st->n == st->tids_cap) {
        const std::size_t cap = st->tids_cap ? st->tids_cap * 2 : 1024;
        st->tids = static_cast<ItemPointerData*>(
            st->tids ? repalloc_huge(st->tids, cap * sizeof(ItemPointerData))
                     : MemoryContextAllocHuge(st->ctx, cap * sizeof(ItemPointerData)));
        st->tids_cap = cap;
    }
    st->tids[st->n] = *tid;
    if (st->file == nullptr) {
        const std::size_t need = (st->n + 1) * vb;
        if (need > mem_limit(st)) {
            // Spill: everything so far goes to the file, and from now on too.
            st->file = BufFileCreateTemp(false);
            if (st->n > 0) BufFileWrite(st->file, st->mem, st->n * vb);
            pfree(st->mem);
            st->mem = nullptr;
            st->mem_cap = 0;
        } else if (need > st->mem_cap) {
            std::size_t cap = st->mem_cap ? st->mem_cap * 2 : vb * 1024;
            cap = std::min(std::max(cap, need), std::max(mem_limit(st), need));
            st->mem = static_cast<char*>(st->mem ? repalloc_huge(st->mem, cap)
                                                 : MemoryContextAllocHuge(st->ctx, cap));
            st->mem_cap = cap;
        }
    }
    if (st->file != nullptr)
        BufFileWrite(st->file, const_cast<void*>(v), vb);
    else
        std::memcpy(st->mem + st->n * vb, v, vb);
    ++st->n;
}

// Exact vector i into dst (file) or a pointer into memory.
const void* load_vector(BuildState* st, std::size_t i, void* dst) {
    const std::size_t vb = st->g.vec_bytes;
    if (st->file == nullptr) return st->mem + i * vb;
    if (BufFileSeek(st->file, 0, static_cast<off_t>(i * vb), SEEK_SET) != 0 ||
        BufFileRead(st->file, dst, vb) != vb)
        ereport(ERROR, (errcode_for_file_access(), errmsg("hnsw build: could not read temporary vector file")));
    return dst;
}

void build_callback(Relation index, ItemPointer tid, Datum* values, bool* isnull, bool /*alive*/, void* state) {
    BuildState* st = static_cast<BuildState*>(state);
    if (isnull[0]) return;
    MemoryContext old = MemoryContextSwitchTo(st->tuple_ctx);
    if (!st->have_geometry) {
        const std::uint32_t dim = datum_dim(values[0], st->type);
        set_geometry(st, dim);
        st->have_geometry = true;
        st->vec = static_cast<char*>(MemoryContextAlloc(st->ctx, st->g.vec_bytes));
    }
    double err = 0, norm = 0;
    const bool ok = prepare_vector(values[0], st->g, st->vec, &err, &norm);
    if (ok) {
        st->round_err_max = std::max(st->round_err_max, err);
        st->copy_norm_max = std::max(st->copy_norm_max, norm);
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(st->tuple_ctx);
    if (!ok) return;  // zero vector under cosine: not indexed
    if (st->type == core::ElemType::F32) {
        const float* x = reinterpret_cast<const float*>(st->vec);
        float mx = st->max_abs;
        for (std::uint32_t i = 0; i < st->g.dim; ++i) mx = std::max(mx, std::fabs(x[i]));
        st->max_abs = mx;
    }
    store_vector(st, st->vec, tid);
    if ((st->n & 1023) == 0) pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, st->n);
    (void)index;
}

struct BuilderHolder {
    core::GraphBuilder* builder;
};

void destroy_builder(void* arg) {
    BuilderHolder* h = static_cast<BuilderHolder*>(arg);
    delete h->builder;  // destructor is noexcept
    h->builder = nullptr;
}

bool stop_requested() { return QueryCancelPending || ProcDiePending; }

// 2^-4: components down to 1/1024 of the largest stay normal float16s.
constexpr float kHalfSmall = 0.0625f;

core::BuildStorage choose_storage(const BuildState* st, std::size_t* estimate) {
    const core::Space space = st->g.space();
    core::BuildParams p;
    p.m = st->m;
    p.ef_construction = st->ef_construction;
    std::size_t used = (st->file == nullptr ? st->mem_cap : 0) + st->n * (sizeof(ItemPointerData) + 2 * sizeof(NodeId));
    const std::size_t left = st->budget > used ? st->budget - used : 0;
    for (core::BuildStorage s : {core::BuildStorage::Exact, core::BuildStorage::Half, core::BuildStorage::Int8}) {
        // Half storage of float16 vectors is the same as exact. Components
        // beyond float16's range would become infinities, and such rows be
        // linked as if infinitely far from everything; data whose largest
        // component is below kHalfSmall would have most components below
        // float16's normal range (6.1e-5, then fewer bits down to zero):
        // int8 then, whose steps are scaled to each dimension's range.
        if (s == core::BuildStorage::Half &&
            (st->type == core::ElemType::F16 || st->max_abs > vecdb::core::kHalfMax || st->max_abs < kHalfSmall))
            continue;
        *estimate = core::GraphBuilder::estimate_bytes(space, p, s, st->n);
        if (*estimate <= left) return s;
    }
    return core::BuildStorage::Int8;
}

// Where each node goes: position i in locality order -> slot id; upper
// records packed in order onto pages after the element pages.
struct Placement {
    NodeId* order;      // position -> builder node
    NodeId* id_of;      // builder node -> page id
    BlockNumber n_element_blocks;
    BlockNumber* upper_blk;  // builder node -> upper block (levels > 0)
    OffsetNumber* upper_off;
    BlockNumber n_upper_blocks;
};

void place_nodes(const BuildState* st, const core::GraphBuilder* b, Placement* pl) {
    const Geometry& g = st->g;
    const std::size_t n = st->n;
    if (g.packed) {
        // Back to back from block 1, skipping holes (ids whose header would
        // cross a page boundary). A straddling slot costs a search a second
        // pin, so the straddling ids go to the nodes searches reach least:
        // those with the fewest level-0 in-edges (the rest keep the page
        // order).
        std::uint32_t* indeg = static_cast<std::uint32_t*>(MemoryContextAllocHuge(CurrentMemoryContext, n * sizeof(std::uint32_t)));
        std::memset(indeg, 0, n * sizeof(std::uint32_t));
        for (std::size_t v = 0; v < n; ++v) {
            int k = 0;
            const NodeId* nb = b->neighbors(static_cast<NodeId>(v), 0, &k);
            for (int j = 0; j < k; ++j) indeg[nb[j]] += 1;
        }
        std::size_t n_straddle = 0;
        NodeId id = g.first_id(1);
        for (std::size_t i = 0; i < n; ++i, ++id) {
            while (g.is_hole(id)) ++id;
            if (g.straddles(id) && i + 1 < n) ++n_straddle;  // the last slot keeps its node
        }
        const NodeId last = id - 1;
        pl->n_element_blocks = n == 0 ? 0 : g.block_of(last) + (g.straddles(last) ? 1 : 0);
        // In-degree threshold: nodes below it straddle, then nodes at it in
        // page order until n_straddle are chosen.
        constexpr std::uint32_t kBuckets = 256;
        std::size_t count[kBuckets] = {};
        for (std::size_t v = 0; v < n; ++v) count[std::min(indeg[v], kBuckets - 1)] += 1;
        std::uint32_t t = 0;
        std::size_t below = 0;
        while (t < kBuckets - 1 && below + count[t] <= n_straddle) below += count[t++];
        std::size_t at_t = n_straddle - below;  // nodes of in-degree t still to take
        NodeId* straddlers = static_cast<NodeId*>(MemoryContextAllocHuge(CurrentMemoryContext, (n_straddle + 1) * sizeof(NodeId)));
        NodeId* others = static_cast<NodeId*>(MemoryContextAllocHuge(CurrentMemoryContext, n * sizeof(NodeId)));
        std::size_t ns = 0, no = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const NodeId v = pl->order[i];
            const std::uint32_t d = std::min(indeg[v], kBuckets - 1);
            const bool take = ns < n_straddle && (d < t || (d == t && at_t > 0));
            if (take) {
                if (d == t) --at_t;
                straddlers[ns++] = v;
            } else {
                others[no++] = v;
            }
        }
        // Positions in id order.
        std::size_t si = 0, oi = 0;
        id = g.first_id(1);
        for (std::size_t i = 0; i < n; ++i, ++id) {
            while (g.is_hole(id)) ++id;
            const bool s = g.straddles(id) && i + 1 < n && si < ns;
            const NodeId v = s ? straddlers[si++] : others[oi++];
            pl->order[i] = v;
            pl->id_of[v] = id;
        }
        pfree(indeg);
        pfree(straddlers);
        pfree(others);
    }
    for (std::size_t i = 0; i < n && !g.packed; ++i) {
        const NodeId node = pl->order[i];
        if (g.blocks_per_slot == 1)
            pl->id_of[node] = g.id_of(static_cast<BlockNumber>(1 + i / g.slots_per_page),
                                      static_cast<std::uint32_t>(i % g.slots_per_page));
        else
            pl->id_of[node] = static_cast<NodeId>(1 + i * g.blocks_per_slot);
    }
    const std::size_t slots = (n + g.slots_per_page - 1) / g.slots_per_page;
    if (!g.packed) pl->n_element_blocks = static_cast<BlockNumber>(slots * g.blocks_per_slot);

    // Simulate PageAddItem on empty upper pages.
    const std::size_t avail = BLCKSZ - MAXALIGN(sizeof(PageOpaque)) - SizeOfPageHeaderData;
    BlockNumber blk = 1 + pl->n_element_blocks;
    std::size_t used = 0;
    OffsetNumber off = 0;
    bool any = false;
    for (std::size_t i = 0; i < n; ++i) {
        const NodeId node = pl->order[i];
        const int level = b->level(node);
        if (level == 0) {
            pl->upper_blk[node] = InvalidBlockNumber;
            pl->upper_off[node] = InvalidOffsetNumber;
            continue;
        }
        const std::size_t need = MAXALIGN(level * g.upper_bytes_per_level) + sizeof(ItemIdData);
        if (any && used + need > avail) {
            ++blk;
            used = 0;
            off = 0;
        }
        any = true;
        used += need;
        pl->upper_blk[node] = blk;
        pl->upper_off[node] = ++off;
    }
    pl->n_upper_blocks = any ? blk - pl->n_element_blocks : 0;
}

Buffer new_block(Relation index, BlockNumber expect) {
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    if (BufferGetBlockNumber(buf) != expect)
        elog(ERROR, "hnsw build: expected block %u, got %u", expect, BufferGetBlockNumber(buf));
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    return buf;
}

void finish_block(Buffer buf) {
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
}

void write_meta(Relation index, const Geometry& g, NodeId entry, int entry_level, BlockNumber insert_block,
                BlockNumber upper_block, std::uint64_t nodes, ForkNumber fork, const BuildState* st = nullptr) {
    Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    init_meta_page(page, g);
    MetaPage* meta = page_meta(page);
    if (st != nullptr) {
        meta->round_err_max = st->round_err_max;
        meta->copy_norm_max = st->copy_norm_max;
    }
    meta->entry_id = entry;
    meta->entry_level = entry_level;
    meta->insert_block = insert_block;
    meta->upper_block = upper_block;
    meta->live_nodes = nodes;
    if (fork == INIT_FORKNUM) {
        // The init fork is copied over the main fork at startup after a
        // crash: it must be durable and WAL-logged even for unlogged indexes.
        START_CRIT_SECTION();
        MarkBufferDirty(buf);
        log_newpage_buffer(buf, true);
        END_CRIT_SECTION();
        UnlockReleaseBuffer(buf);
    } else {
        finish_block(buf);
    }
}

// Writes slot i (builder node `node`) into its page(s).
void fill_slot(BuildState* st, const core::GraphBuilder* b, const Placement* pl, NodeId node, char* slot) {
    const Geometry& g = st->g;
    SlotHeader* h = slot_header(slot);
    h->tid = st->tids[node];
    h->level = static_cast<std::uint8_t>(b->level(node));
    h->state = kSlotLive;
    int n0 = 0;
    const NodeId* nb = b->neighbors(node, 0, &n0);
    n0 = std::min(n0, 2 * g.m);
    h->n0 = static_cast<std::uint16_t>(n0);
    h->upper_blk = pl->upper_blk[node];
    h->upper_off = pl->upper_off[node];
    NodeId* out = slot_neighbors(slot);
    for (int k = 0; k < n0; ++k) out[k] = pl->id_of[nb[k]];
}

// Packed layout: element blocks 1 .. n_element_blocks, slots in id order; a
// straddling slot's image is kept and its tail starts the next block.
void write_packed_pages(BuildState* st, const core::GraphBuilder* b, const Placement* pl, char* tmp) {
    const Geometry& g = st->g;
    const std::size_t n = st->n;
    char* image = static_cast<char*>(palloc(g.slot_bytes));
    std::uint32_t carry = 0;  // bytes of image still owed to the next block
    std::size_t i = 0;
    for (BlockNumber blk = 1; blk <= pl->n_element_blocks; ++blk) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = new_block(st->index, blk);
        Page page = BufferGetPage(buf);
        init_element_page(page);
        char* area = reinterpret_cast<char*>(page) + kAreaStart;
        if (carry > 0) {
            std::memcpy(area, image + g.slot_bytes - carry, carry);
            carry = 0;
        }
        for (std::uint32_t s = 0; s < g.slots_on(blk) && i < n; ++s, ++i) {
            const NodeId node = pl->order[i];
            const NodeId id = g.id_of(blk, s);
            if (pl->id_of[node] != id) elog(ERROR, "hnsw build: node placed at %u, page slot is %u", pl->id_of[node], id);
            std::memset(image, 0, g.slot_bytes);
            fill_slot(st, b, pl, node, image);
            std::memcpy(image + g.vec_offset, load_vector(st, node, tmp), g.vec_bytes);
            const std::uint32_t off = g.offset_of(id);
            const std::uint32_t here = std::min<std::uint32_t>(g.slot_bytes, static_cast<std::uint32_t>(kAreaBytes) - off);
            std::memcpy(area + off, image, here);
            carry = g.slot_bytes - here;
        }
        finish_block(buf);
        if ((i & 1023) == 0) pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, i);
    }
    if (i != n || carry != 0) elog(ERROR, "hnsw build: %zu of %zu nodes written", i, n);
    pfree(image);
}

void write_pages(BuildState* st, const core::GraphBuilder* b, const Placement* pl) {
    const Geometry& g = st->g;
    Relation index = st->index;
    const std::size_t n = st->n;
    write_meta(index, g, pl->id_of[b->entry_point()], b->max_level(), pl->n_element_blocks,
               pl->n_upper_blocks ? pl->n_element_blocks + pl->n_upper_blocks : InvalidBlockNumber, n,
               MAIN_FORKNUM, st);

    char* tmp = static_cast<char*>(palloc(g.vec_bytes));
    char* slotbuf = g.blocks_per_slot > 1 ? static_cast<char*>(palloc0(g.slot_bytes)) : nullptr;
    BlockNumber blk = 1;
    if (g.packed) write_packed_pages(st, b, pl, tmp);
    for (std::size_t i = 0; i < n && !g.packed;) {
        CHECK_FOR_INTERRUPTS();
        if (g.blocks_per_slot == 1) {
            Buffer buf = new_block(index, blk);
            Page page = BufferGetPage(buf);
            init_element_page(page);
            for (std::uint32_t s = 0; s < g.slots_per_page && i < n; ++s, ++i) {
                const NodeId node = pl->order[i];
                char* slot = slot_ptr(page, g, blk, s);
                fill_slot(st, b, pl, node, slot);
                std::memcpy(slot + g.vec_offset, load_vector(st, node, tmp), g.vec_bytes);
            }
            finish_block(buf);
            ++blk;
        } else {
            const NodeId node = pl->order[i];
            std::memset(slotbuf, 0, g.slot_bytes);
            fill_slot(st, b, pl, node, slotbuf);
            std::memcpy(slotbuf + g.vec_offset, load_vector(st, node, tmp), g.vec_bytes);
            for (std::uint32_t k = 0; k < g.blocks_per_slot; ++k) {
                Buffer buf = new_block(index, blk);
                Page page = BufferGetPage(buf);
                init_element_page(page, k > 0);
                const std::size_t off = static_cast<std::size_t>(k) * kAreaBytes;
                const std::size_t len = std::min<std::size_t>(kAreaBytes, g.slot_bytes - off);
                std::memcpy(reinterpret_cast<char*>(page) + kAreaStart, slotbuf + off, len);
                finish_block(buf);
                ++blk;
            }
            ++i;
        }
        if ((i & 1023) == 0) pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, i);
    }

    // Upper-level records, in the order place_nodes packed them.
    NodeId* rec = static_cast<NodeId*>(palloc0((core::kMaxLevel + 1) * g.upper_bytes_per_level));
    Buffer ubuf = InvalidBuffer;
    BlockNumber ublk = InvalidBlockNumber;
    for (std::size_t i = 0; i < n; ++i) {
        const NodeId node = pl->order[i];
        const int level = b->level(node);
        if (level == 0) continue;
        if (pl->upper_blk[node] != ublk) {
            if (BufferIsValid(ubuf)) finish_block(ubuf);
            ublk = pl->upper_blk[node];
            ubuf = new_block(index, ublk);
            init_upper_page(BufferGetPage(ubuf));
        }
        const std::size_t bytes = level * g.upper_bytes_per_level;
        std::memset(rec, 0, bytes);
        for (int l = 1; l <= level; ++l) {
            NodeId* lst = rec + (l - 1) * (g.m + 1);
            int cnt = 0;
            const NodeId* nb = b->neighbors(node, l, &cnt);
            cnt = std::min(cnt, g.m);
            lst[0] = static_cast<NodeId>(cnt);
            for (int k = 0; k < cnt; ++k) lst[1 + k] = pl->id_of[nb[k]];
        }
        const OffsetNumber off =
            PageAddItem(BufferGetPage(ubuf), reinterpret_cast<Item>(rec), bytes, InvalidOffsetNumber, false, false);
        if (off != pl->upper_off[node]) elog(ERROR, "hnsw build: upper record placed at %u, expected %u", off,
                                             pl->upper_off[node]);
    }
    if (BufferIsValid(ubuf)) finish_block(ubuf);
}

}  // namespace
}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;
using vecdb::pg::guarded;

static void init_build_state(BuildState* st, Relation heap, Relation index) {
    std::memset(static_cast<void*>(st), 0, sizeof(BuildState));
    st->ctx = CurrentMemoryContext;
    st->heap = heap;
    st->index = index;
    opclass_metric(index, &st->metric, &st->type);
    const int storage = option_storage(index);
    if (storage == kStorageFloat32 && st->type == core::ElemType::F16)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("storage = float32 needs a vector column, not halfvec")));
    if (storage == kStorageFloat16 && st->type == core::ElemType::F32) {
        st->float16_storage = true;
        st->type = core::ElemType::F16;  // what the pages hold
    }
    st->m = option_m(index);
    st->ef_construction = option_ef_construction(index);
    if (st->ef_construction < 2 * st->m)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ef_construction must be at least 2 * m")));
    st->budget = static_cast<std::size_t>(maintenance_work_mem) * 1024;
    // A declared dimension (vector(n)) fixes the geometry up front.
    const int typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
    if (typmod > 0) {
        set_geometry(st, static_cast<std::uint32_t>(typmod));
        st->have_geometry = true;
        st->vec = static_cast<char*>(palloc(st->g.vec_bytes));
    } else {
        set_geometry(st, 0);
    }
}

// Enters a build phase with its tuple count back at 0, in one progress
// update: a reader never sees a phase with the previous phase's count.
static void start_phase(int phase) {
    const int index[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_DONE};
    const int64 value[] = {phase, 0};
    pgstat_progress_update_multi_param(2, index, value);
}

IndexBuildResult* vecdb_hnsw_build(Relation heap, Relation index, IndexInfo* info) {
    if (RelationGetNumberOfBlocks(index) != 0)
        elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

    MemoryContext build_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(build_ctx);
    BuildState* st = static_cast<BuildState*>(palloc(sizeof(BuildState)));
    init_build_state(st, heap, index);
    st->tuple_ctx = AllocSetContextCreate(build_ctx, "hnsw build tuple", ALLOCSET_DEFAULT_SIZES);

    start_phase(kPhaseLoad);
    const double reltuples = table_index_build_scan(heap, index, info, true, true, build_callback, st, nullptr);
    const std::size_t n = st->n;
    pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, n);

    if (n == 0) {
        write_meta(index, st->g, kNoNode, -1, InvalidBlockNumber, InvalidBlockNumber, 0, MAIN_FORKNUM);
    } else {
        std::size_t estimate = 0;
        const core::BuildStorage storage = choose_storage(st, &estimate);
        if (estimate > st->budget)
            ereport(NOTICE, (errmsg("hnsw graph needs about %zu MB, more than maintenance_work_mem (%zu MB)",
                                    estimate >> 20, st->budget >> 20),
                             errdetail("The build continues in memory with compressed construction vectors."),
                             errhint("Raise maintenance_work_mem to build faster and with less memory pressure.")));
        if (storage != core::BuildStorage::Exact)
            elog(DEBUG1, "hnsw build: construction storage %d for %zu vectors", static_cast<int>(storage), n);

        BuilderHolder* holder = static_cast<BuilderHolder*>(palloc0(sizeof(BuilderHolder)));
        MemoryContextCallback* cb = static_cast<MemoryContextCallback*>(palloc0(sizeof(MemoryContextCallback)));
        cb->func = destroy_builder;
        cb->arg = holder;
        MemoryContextRegisterResetCallback(build_ctx, cb);
        const core::Space space = st->g.space();
        core::BuildParams params;
        params.m = st->m;
        params.ef_construction = st->ef_construction;
        guarded([&] { holder->builder = new core::GraphBuilder(space, params, storage, n); });
        core::GraphBuilder* builder = holder->builder;

        // Feed the builder (from memory directly, from the file in chunks).
        if (st->file == nullptr) {
            const char* mem = st->mem;
            const std::size_t vb = st->g.vec_bytes;
            guarded([&] {
                for (std::size_t i = 0; i < n; ++i) builder->add(mem + i * vb);
            });
        } else {
            const std::size_t vb = st->g.vec_bytes;
            const std::size_t chunk = std::max<std::size_t>(1, (std::size_t{8} << 20) / vb);
            char* buf = static_cast<char*>(palloc(chunk * vb));
            BufFileSeek(st->file, 0, 0, SEEK_SET);
            for (std::size_t i = 0; i < n; i += chunk) {
                const std::size_t cnt = std::min(chunk, n - i);
                if (BufFileRead(st->file, buf, cnt * vb) != cnt * vb)
                    ereport(ERROR, (errcode_for_file_access(), errmsg("hnsw build: could not read temporary vector file")));
                guarded([&] {
                    for (std::size_t k = 0; k < cnt; ++k) builder->add(buf + k * vb);
                });
                CHECK_FOR_INTERRUPTS();
            }
            pfree(buf);
        }

        start_phase(kPhaseGraph);
        const int threads = 1 + plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
        elog(DEBUG1, "hnsw build: linking %zu rows with %d thread(s)", n, core::GraphBuilder::threads_for(threads));
        // Postgres signal handlers must run in this thread only: the builder's
        // threads inherit a fully blocked mask, and this thread restores its
        // own at the first poll (which the builder makes after starting them).
        sigset_t all, saved;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        bool restored = false;
        const bool done = guarded([&] {
            return builder->build(
                threads,
                [&] {
                    if (!restored) {
                        pthread_sigmask(SIG_SETMASK, &saved, nullptr);
                        restored = true;
                    }
                    return stop_requested();
                },
                [](std::size_t k) { pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, k); });
        });
        if (!restored) pthread_sigmask(SIG_SETMASK, &saved, nullptr);
        if (!done) {
            CHECK_FOR_INTERRUPTS();
            ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("hnsw index build was interrupted")));
        }

        start_phase(kPhaseWrite);
        Placement pl;
        pl.order = static_cast<NodeId*>(MemoryContextAllocHuge(build_ctx, n * sizeof(NodeId)));
        pl.id_of = static_cast<NodeId*>(MemoryContextAllocHuge(build_ctx, n * sizeof(NodeId)));
        pl.upper_blk = static_cast<BlockNumber*>(MemoryContextAllocHuge(build_ctx, n * sizeof(BlockNumber)));
        pl.upper_off = static_cast<OffsetNumber*>(MemoryContextAllocHuge(build_ctx, n * sizeof(OffsetNumber)));
        NodeId* order = pl.order;
        // Packed pages hold a varying number of slots: group by the average.
        const std::uint32_t spp =
            st->g.packed ? std::max<std::uint32_t>(1, (kAreaBytes - st->g.vec_offset) / st->g.slot_bytes)
                         : st->g.slots_per_page;
        bool order_ok = guarded([&] {
            std::vector<NodeId> o = core::page_packed_order(*builder, spp);
            if (o.size() != n) return false;
            std::copy(o.begin(), o.end(), order);
            return true;
        });
        if (!order_ok) elog(ERROR, "hnsw build: locality order has the wrong size");
        place_nodes(st, builder, &pl);
        write_pages(st, builder, &pl);
    }

    if (RelationNeedsWAL(index))
        log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

    if (st->file) BufFileClose(st->file);
    IndexBuildResult* result = static_cast<IndexBuildResult*>(MemoryContextAlloc(old, sizeof(IndexBuildResult)));
    result->heap_tuples = reltuples;
    result->index_tuples = static_cast<double>(n);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(build_ctx);
    return result;
}

void vecdb_hnsw_buildempty(Relation index) {
    BuildState st;
    init_build_state(&st, nullptr, index);
    write_meta(index, st.g, kNoNode, -1, InvalidBlockNumber, InvalidBlockNumber, 0, INIT_FORKNUM);
}
