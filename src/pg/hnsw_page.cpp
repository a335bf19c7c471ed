// hnsw page layout: geometry, page initialisation, metapage access, reading
// slots and neighbour lists (the page-side half of the beam search).
#include <algorithm>
#include <new>
#include <vector>

#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"
#include "vecdb/pg/vector.h"

extern "C" {
#include "access/genam.h"
#include "fmgr.h"
}

namespace vecdb::pg::hnsw {

void compute_geometry(Geometry& g, std::uint32_t dim, core::Metric metric, core::ElemType type, int m,
                      int ef_construction) {
    g.dim = dim;
    g.metric = metric;
    g.type = type;
    g.m = m;
    g.ef_construction = ef_construction;
    g.vec_bytes = dim * (type == core::ElemType::F32 ? 4u : 2u);
    g.vec_offset = static_cast<std::uint32_t>(sizeof(SlotHeader) + 2u * m * sizeof(NodeId));
    g.slot_bytes = static_cast<std::uint32_t>(MAXALIGN(g.vec_offset + g.vec_bytes));
    g.upper_bytes_per_level = static_cast<std::uint32_t>((m + 1) * sizeof(NodeId));
    if (g.slot_bytes <= kAreaBytes) {
        g.slots_per_page = static_cast<std::uint32_t>(kAreaBytes / g.slot_bytes);
        g.blocks_per_slot = 1;
    } else {
        g.slots_per_page = 1;
        g.blocks_per_slot = static_cast<std::uint32_t>((g.slot_bytes + kAreaBytes - 1) / kAreaBytes);
    }
}

void geometry_from_meta(const MetaPage* meta, Geometry& g) {
    compute_geometry(g, meta->dim, static_cast<core::Metric>(meta->metric),
                     static_cast<core::ElemType>(meta->elem_type), meta->m, meta->ef_construction);
}

static void set_opaque(Page page, PageKind kind) {
    PageOpaque* op = page_opaque(page);
    op->kind = kind;
    op->unused = 0;
    op->magic = kMagic;
}

void init_meta_page(Page page, const Geometry& g) {
    PageInit(page, BLCKSZ, sizeof(PageOpaque));
    set_opaque(page, kPageMeta);
    MetaPage* meta = page_meta(page);
    std::memset(meta, 0, sizeof(MetaPage));
    meta->magic = kMagic;
    meta->version = kVersion;
    meta->dim = g.dim;
    meta->metric = static_cast<std::uint8_t>(g.metric);
    meta->elem_type = static_cast<std::uint8_t>(g.type);
    meta->m = static_cast<std::uint16_t>(g.m);
    meta->ef_construction = static_cast<std::uint16_t>(g.ef_construction);
    meta->slots_per_page = static_cast<std::uint16_t>(g.slots_per_page);
    meta->blocks_per_slot = static_cast<std::uint16_t>(g.blocks_per_slot);
    meta->slot_bytes = g.slot_bytes;
    meta->entry_id = kNoNode;
    meta->entry_level = -1;
    meta->insert_block = InvalidBlockNumber;
    meta->upper_block = InvalidBlockNumber;
    meta->pending_head = InvalidBlockNumber;
    meta->pending_tail = InvalidBlockNumber;
    // Everything up to the end of MetaPage survives full-page images.
    reinterpret_cast<PageHeader>(page)->pd_lower =
        static_cast<LocationIndex>(reinterpret_cast<char*>(meta + 1) - reinterpret_cast<char*>(page));
}

void init_element_page(Page page, bool continuation) {
    PageInit(page, BLCKSZ, sizeof(PageOpaque));
    set_opaque(page, continuation ? kPageContinuation : kPageElement);
    // Slots fill the whole area: no hole for full-page images to drop.
    PageHeader ph = reinterpret_cast<PageHeader>(page);
    ph->pd_lower = ph->pd_upper;
}

void init_upper_page(Page page) {
    PageInit(page, BLCKSZ, sizeof(PageOpaque));
    set_opaque(page, kPageUpper);
}

void read_meta(Relation index, MetaPage* out) {
    Buffer buf = ReadBuffer(index, kMetaBlock);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    const MetaPage* meta = page_meta(page);
    if (page_opaque(page)->kind != kPageMeta || meta->magic != kMagic)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" is not a vecdb hnsw index", RelationGetRelationName(index))));
    if (meta->version != kVersion)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("hnsw index \"%s\" has page format version %u, expected %u",
                               RelationGetRelationName(index), meta->version, kVersion),
                        errhint("REINDEX the index.")));
    std::memcpy(out, meta, sizeof(MetaPage));
    UnlockReleaseBuffer(buf);
}

void opclass_metric(Relation index, core::Metric* metric, core::ElemType* type) {
    FmgrInfo* proc = index_getprocinfo(index, 1, 1);
    const int code = DatumGetInt32(FunctionCall1(proc, PointerGetDatum(nullptr)));
    const int m = code & 0xff;
    const int t = code >> 8;
    if (m > 3 || t > 1) elog(ERROR, "hnsw: bad opclass code %d", code);
    *metric = static_cast<core::Metric>(m);
    *type = static_cast<core::ElemType>(t);
}

// Vector and HalfVector share the header; only the element width differs.
std::uint32_t datum_dim(Datum value, core::ElemType /*type*/) {
    const Vector* v = DatumGetVector(value);
    return static_cast<std::uint32_t>(v->dim);
}

bool prepare_vector(Datum value, const Geometry& g, void* dst) {
    const Vector* v = DatumGetVector(value);
    if (static_cast<std::uint32_t>(v->dim) != g.dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %u dimensions, not %d", g.dim, static_cast<int>(v->dim))));
    std::memcpy(dst, v->x, g.vec_bytes);
    if (g.metric == core::Metric::Cosine) return core::normalize(g.type, dst, g.dim);
    return true;
}

// ---- workspaces -------------------------------------------------------------

namespace {
std::vector<Workspace*>* pool = nullptr;
std::size_t n_workspaces = 0;  // in the pool or in use
constexpr std::size_t kKeepCapacity = std::size_t{16} << 20;  // ids
}

Workspace* acquire_workspace(Relation index, std::size_t capacity, std::size_t vec_bytes, BlockNumber known_nblocks) {
    const RelFileNode rel = index->rd_node;
    const std::size_t nblocks =
        known_nblocks != InvalidBlockNumber ? known_nblocks : RelationGetNumberOfBlocks(index);
    return guarded([&]() -> Workspace* {
        if (pool == nullptr) pool = new std::vector<Workspace*>();
        Workspace* ws;
        if (!pool->empty()) {
            ws = pool->back();
            pool->pop_back();
        } else {
            ws = new Workspace();
            ++n_workspaces;
        }
        // The pool can take back every workspace without allocating.
        pool->reserve(n_workspaces);
        // Leave room for ids that appear while the search runs (concurrent
        // inserts) without resizing; anything beyond is ignored.
        ws->visited.reset(capacity);
        ws->excluded.reset(capacity);
        if (ws->scratch.size() < vec_bytes) ws->scratch.resize(vec_bytes);
        if (ws->query.size() < vec_bytes) ws->query.resize(vec_bytes);
        if (!RelFileNodeEquals(ws->hint_rel, rel)) {
            ws->hints.assign(nblocks, InvalidBuffer);
            ws->hint_rel = rel;
        } else if (ws->hints.size() < nblocks) {
            ws->hints.resize(nblocks, InvalidBuffer);
        }
        ws->result.clear();
        ws->frontier.clear();
        ws->discarded.clear();
        ws->entries.clear();
        return ws;
    });
}

void release_workspace(Workspace* ws) {
    if (ws == nullptr) return;
    // Big one-off workspaces are not worth keeping.
    if (pool == nullptr || ws->visited.capacity() > kKeepCapacity) {
        delete ws;
        --n_workspaces;
        return;
    }
    pool->push_back(ws);  // capacity reserved in acquire: no allocation
}

NodeId id_capacity(Relation index, const Geometry& g, BlockNumber* nblocks_out) {
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    if (nblocks_out != nullptr) *nblocks_out = nblocks;
    const std::uint64_t cap = static_cast<std::uint64_t>(nblocks) * g.slots_per_page;
    if (cap >= kNoNode)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("hnsw index \"%s\" has too many slots", RelationGetRelationName(index))));
    return static_cast<NodeId>(cap);
}

// ---- page graph ---------------------------------------------------------------

const void* PageGraph::slot_vector(Page page, char* slot, BlockNumber head) {
    if (g_.blocks_per_slot == 1) return slot + g_.vec_offset;
    // The slot continues on the following blocks: gather the vector. The head
    // page stays share-locked (lock order head -> continuation; inserts write
    // continuation pages without holding the head).
    char* out = ws_->scratch.data();
    std::size_t done = std::min<std::size_t>(g_.vec_bytes, kAreaBytes - g_.vec_offset);
    std::memcpy(out, slot + g_.vec_offset, done);
    (void)page;
    for (BlockNumber b = 1; done < g_.vec_bytes; ++b) {
        Buffer buf = read_block(head + b);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        const char* area = reinterpret_cast<const char*>(BufferGetPage(buf)) + kAreaStart;
        const std::size_t n = std::min<std::size_t>(g_.vec_bytes - done, kAreaBytes);
        std::memcpy(out + done, area, n);
        done += n;
        UnlockReleaseBuffer(buf);
    }
    return out;
}

bool PageGraph::score_on_page(Page page, NodeId id, float* dist) {
    char* slot = slot_ptr(page, g_, g_.slot_of(id));
    const SlotHeader* h = slot_header(slot);
    if (h->state == kSlotFree) return false;
    if (h->state == kSlotDeleted) ws_->excluded.test_and_set(id);
    const void* vec = slot_vector(page, slot, g_.block_of(id));
    *dist = dist_(query_, vec, g_.dim);
    ++stats_->distances;
    ++stats_->visited;
    return true;
}

// A slot's vector never changes while the slot is live or deleted: it is
// written before the node becomes reachable and rewritten only after vacuum
// freed the slot and an insert reused it. A read that races with such a reuse
// can mix two vectors, but both rows are invisible to this scan's snapshot
// (the old one was dead to everyone when vacuum freed it; the new one's
// transaction commits after the write, which happens during this scan), so a
// torn distance can only misplace an invisible node in the beam; rows
// returned are re-checked under the lock (live_tid). Full argument:
// docs/hnsw.md, "Reading vectors without the content lock".
bool PageGraph::score_unlocked(Page page, NodeId id, float* dist) {
    char* slot = slot_ptr(page, g_, g_.slot_of(id));
    const std::uint8_t state = *reinterpret_cast<volatile std::uint8_t*>(&slot_header(slot)->state);
    if (state == kSlotFree) return false;
    if (state == kSlotDeleted) ws_->excluded.test_and_set(id);
    *dist = dist_(query_, slot + g_.vec_offset, g_.dim);
    ++stats_->distances;
    ++stats_->visited;
    return true;
}

bool PageGraph::score(NodeId id, float* dist) {
    if (id >= capacity_) return false;
    Buffer buf = read_block(g_.block_of(id));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const bool ok = score_on_page(BufferGetPage(buf), id, dist);
    UnlockReleaseBuffer(buf);
    return ok;
}

bool PageGraph::live_tid(NodeId id, ItemPointerData* tid) {
    Buffer buf = read_block(g_.block_of(id));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const SlotHeader* h = slot_header(slot_ptr(BufferGetPage(buf), g_, g_.slot_of(id)));
    const bool live = h->state == kSlotLive;
    if (live) *tid = h->tid;
    UnlockReleaseBuffer(buf);
    return live;
}

int PageGraph::copy_level0(Page page, NodeId node, NodeId* out) {
    char* slot = slot_ptr(page, g_, g_.slot_of(node));
    const SlotHeader* h = slot_header(slot);
    if (h->state == kSlotFree) return 0;
    const int n = std::min<int>(h->n0, 2 * g_.m);
    std::memcpy(out, slot_neighbors(slot), n * sizeof(NodeId));
    return n;
}

int PageGraph::read_neighbors(NodeId node, int level, NodeId* out) {
    Buffer buf = read_block(g_.block_of(node));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (level == 0) {
        const int n = copy_level0(page, node, out);
        UnlockReleaseBuffer(buf);
        return n;
    }
    const SlotHeader* h = slot_header(slot_ptr(page, g_, g_.slot_of(node)));
    const bool has = h->state != kSlotFree && h->level >= level && h->upper_blk != InvalidBlockNumber;
    const BlockNumber ublk = h->upper_blk;
    const OffsetNumber uoff = h->upper_off;
    UnlockReleaseBuffer(buf);
    if (!has) return 0;
    buf = read_block(ublk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    page = BufferGetPage(buf);
    int n = 0;
    if (uoff >= FirstOffsetNumber && uoff <= PageGetMaxOffsetNumber(page)) {
        const char* rec = reinterpret_cast<const char*>(PageGetItem(page, PageGetItemId(page, uoff)));
        const NodeId* lst = reinterpret_cast<const NodeId*>(rec + (level - 1) * g_.upper_bytes_per_level);
        n = std::min<int>(static_cast<int>(lst[0]), g_.m);
        std::memcpy(out, lst + 1, n * sizeof(NodeId));
    }
    UnlockReleaseBuffer(buf);
    return n;
}

}  // namespace vecdb::pg::hnsw

namespace vecdb::pg::hnsw {

bool read_slot(Relation index, const Geometry& g, NodeId id, SlotHeader* hdr, NodeId* nbrs, void* vec) {
    // Ids come from the graph: their blocks exist (a node is written before
    // anything links to it). No nblocks check: it costs a system call.
    const BlockNumber blk = g.block_of(id);
    if (blk == kMetaBlock || id == kNoNode) return false;
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (page_opaque(page)->kind != kPageElement) {
        UnlockReleaseBuffer(buf);
        return false;
    }
    char* slot = slot_ptr(page, g, g.slot_of(id));
    std::memcpy(hdr, slot, sizeof(SlotHeader));
    if (nbrs) std::memcpy(nbrs, slot_neighbors(slot), std::min<int>(hdr->n0, 2 * g.m) * sizeof(NodeId));
    if (vec) {
        std::size_t done = std::min<std::size_t>(g.vec_bytes, kAreaBytes - g.vec_offset);
        std::memcpy(vec, slot + g.vec_offset, done);
        for (BlockNumber b = 1; done < g.vec_bytes; ++b) {
            Buffer cbuf = ReadBuffer(index, blk + b);
            LockBuffer(cbuf, BUFFER_LOCK_SHARE);
            const char* area = reinterpret_cast<const char*>(BufferGetPage(cbuf)) + kAreaStart;
            const std::size_t n = std::min<std::size_t>(g.vec_bytes - done, kAreaBytes);
            std::memcpy(static_cast<char*>(vec) + done, area, n);
            done += n;
            UnlockReleaseBuffer(cbuf);
        }
    }
    UnlockReleaseBuffer(buf);
    return true;
}

int read_upper_list(Relation index, const Geometry& g, const SlotHeader& hdr, int level, NodeId* out) {
    if (hdr.level < level || hdr.upper_blk == InvalidBlockNumber) return 0;
    Buffer buf = ReadBuffer(index, hdr.upper_blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int n = 0;
    if (hdr.upper_off >= FirstOffsetNumber && hdr.upper_off <= PageGetMaxOffsetNumber(page)) {
        const char* rec = reinterpret_cast<const char*>(PageGetItem(page, PageGetItemId(page, hdr.upper_off)));
        const NodeId* lst = reinterpret_cast<const NodeId*>(rec + (level - 1) * g.upper_bytes_per_level);
        n = std::min<int>(static_cast<int>(lst[0]), g.m);
        std::memcpy(out, lst + 1, n * sizeof(NodeId));
    }
    UnlockReleaseBuffer(buf);
    return n;
}

}  // namespace vecdb::pg::hnsw
