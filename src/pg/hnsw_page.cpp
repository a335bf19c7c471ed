// hnsw page layout: geometry, page initialisation, metapage access, reading
// slots and neighbour lists (the page-side half of the beam search).
#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "vecdb/core/half.h"
#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"
#include "vecdb/pg/vector.h"

extern "C" {
#include "access/genam.h"
#include "fmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
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
    g.packed = false;
    if (g.slot_bytes <= kAreaBytes) {
        g.slots_per_page = static_cast<std::uint32_t>(kAreaBytes / g.slot_bytes);
        g.blocks_per_slot = 1;
        // Packed when it holds at least 2 % more slots: about one slot start
        // in vec_offset bytes per page boundary is a hole, so a page holds
        // (area - vec_offset) / slot_bytes slots on average. glove-100 (544 B
        // slots, exactly 15 a page) stays classic; fashion-mnist (3,280 B)
        // goes from 2 to ~2.44 a page, 1,000 float32 dims from 1 to ~1.93.
        const double packed_per_page = static_cast<double>(kAreaBytes - g.vec_offset) / g.slot_bytes;
        if (g.slot_bytes + g.vec_offset <= kAreaBytes && packed_per_page >= 1.02 * g.slots_per_page) {
            g.packed = true;
            g.slots_per_page = static_cast<std::uint32_t>((kAreaBytes - g.vec_offset) / g.slot_bytes) + 1;
        }
    } else {
        g.slots_per_page = 1;
        g.blocks_per_slot = static_cast<std::uint32_t>((g.slot_bytes + kAreaBytes - 1) / kAreaBytes);
    }
}

void geometry_from_meta(const MetaPage* meta, Geometry& g) {
    compute_geometry(g, meta->dim, static_cast<core::Metric>(meta->metric),
                     static_cast<core::ElemType>(meta->elem_type), meta->m, meta->ef_construction);
    g.float16_storage = meta->float16_storage != 0;
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
    meta->version = g.float16_storage ? kVersionFloat16 : kVersion;
    meta->dim = g.dim;
    meta->metric = static_cast<std::uint8_t>(g.metric);
    meta->elem_type = static_cast<std::uint8_t>(g.type);
    meta->m = static_cast<std::uint16_t>(g.m);
    meta->ef_construction = static_cast<std::uint16_t>(g.ef_construction);
    meta->slots_per_page = static_cast<std::uint16_t>(g.slots_per_page);
    meta->blocks_per_slot = static_cast<std::uint16_t>(g.blocks_per_slot);
    meta->slot_bytes = g.slot_bytes;
    meta->packed = g.packed ? 1 : 0;
    meta->float16_storage = g.float16_storage ? 1 : 0;
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
    if (meta->version != kVersion && meta->version != kVersionFloat16)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("hnsw index \"%s\" has page format version %u, expected %u",
                               RelationGetRelationName(index), meta->version, kVersion),
                        errhint("REINDEX the index.")));
    std::memcpy(out, meta, sizeof(MetaPage));
    clear_fields_beyond_version(out);
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

static void check_dims(const Vector* v, const Geometry& g) {
    if (static_cast<std::uint32_t>(v->dim) != g.dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %u dimensions, not %d", g.dim, static_cast<int>(v->dim))));
}

std::uint32_t query_bytes(const Geometry& g) { return g.float16_storage ? g.dim * 4u : g.vec_bytes; }

bool prepare_query(Datum value, const Geometry& g, void* dst, double* sumsq) {
    const Vector* v = DatumGetVector(value);
    if (sumsq != nullptr && g.float16_storage) {  // a float32 query
        double ss = 0;
        for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(v->dim); ++i) ss += static_cast<double>(v->x[i]) * v->x[i];
        *sumsq = ss;
    }
    if (!g.float16_storage) return prepare_vector(value, g, dst);
    check_dims(v, g);
    std::memcpy(dst, v->x, g.dim * sizeof(float));
    if (g.metric == core::Metric::Cosine) return core::normalize(core::ElemType::F32, dst, g.dim);
    return true;
}

// The float16 copy of a float32 row (normalised first under cosine), with
// its rounding error in the metric's norm and its 2-norm, in double.
static bool prepare_float16_copy(const Vector* v, const Geometry& g, std::uint16_t* dst, double* round_err,
                                 double* copy_norm) {
    const float* x = v->x;
    float* unit = nullptr;
    if (g.metric == core::Metric::Cosine) {
        double ss = 0;
        for (std::uint32_t i = 0; i < g.dim; ++i) ss += static_cast<double>(x[i]) * x[i];
        if (ss != 0 && (ss < kCosineSumsqMin || ss > kCosineSumsqMax))
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                            errmsg("vector norm %g is out of range for a cosine hnsw index with storage = float16",
                                   std::sqrt(ss)),
                            errdetail("PostgreSQL's float32 cosine distance is exact to its bound only for norms "
                                      "between about 1e-15 and 1e18."),
                            errhint("Build the index with storage = float32.")));
        unit = static_cast<float*>(palloc(g.dim * sizeof(float)));
        std::memcpy(unit, v->x, g.dim * sizeof(float));
        if (!core::normalize(core::ElemType::F32, unit, g.dim)) {
            pfree(unit);
            return false;
        }
        x = unit;
    }
    double err = 0, norm = 0;
    for (std::uint32_t i = 0; i < g.dim; ++i) {
        if (std::fabs(x[i]) > vecdb::core::kHalfMax)
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                            errmsg("value %g is out of range for an hnsw index with storage = float16",
                                   static_cast<double>(x[i])),
                            errdetail("float16 holds values up to 65504 in magnitude."),
                            errhint("Build the index with storage = float32.")));
        dst[i] = vecdb::core::float_to_half(x[i]);
        const double c = vecdb::core::half_to_float(dst[i]);
        const double e = static_cast<double>(x[i]) - c;
        err += g.metric == core::Metric::L1 ? std::fabs(e) : e * e;
        norm += c * c;
    }
    if (unit != nullptr) pfree(unit);
    if (round_err != nullptr) *round_err = g.metric == core::Metric::L1 ? err : std::sqrt(err);
    if (copy_norm != nullptr) *copy_norm = std::sqrt(norm);
    return true;
}

bool prepare_vector(Datum value, const Geometry& g, void* dst, double* round_err, double* copy_norm) {
    const Vector* v = DatumGetVector(value);
    check_dims(v, g);
    if (g.float16_storage) return prepare_float16_copy(v, g, static_cast<std::uint16_t*>(dst), round_err, copy_norm);
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
    const std::uint64_t cap =
        g.packed ? (static_cast<std::uint64_t>(nblocks) * kAreaBytes + g.slot_bytes - 1) / g.slot_bytes
                 : static_cast<std::uint64_t>(nblocks) * g.slots_per_page;
    if (cap >= kNoNode)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("hnsw index \"%s\" has too many slots", RelationGetRelationName(index))));
    return static_cast<NodeId>(cap);
}

// ---- page graph ---------------------------------------------------------------

const void* PageGraph::slot_vector(Page page, char* slot, NodeId id) {
    if (g_.packed) {
        if (!g_.straddles(id)) return slot + g_.vec_offset;
        // The vector continues on the next block: gather it. Read without
        // the content lock like every single-page vector (score_unlocked).
        char* out = ws_->scratch.data();
        const std::uint32_t head = g_.head_vec_bytes(id);
        std::memcpy(out, slot + g_.vec_offset, head);
        Buffer buf = read_block(g_.block_of(id) + 1);
        std::memcpy(out + head, reinterpret_cast<const char*>(BufferGetPage(buf)) + kAreaStart, g_.vec_bytes - head);
        ReleaseBuffer(buf);
        return out;
    }
    if (g_.blocks_per_slot == 1) return slot + g_.vec_offset;
    // The slot continues on the following blocks: gather the vector. The head
    // page stays share-locked (lock order head -> continuation; inserts write
    // continuation pages without holding the head).
    const BlockNumber headblk = g_.block_of(id);
    char* out = ws_->scratch.data();
    std::size_t done = std::min<std::size_t>(g_.vec_bytes, kAreaBytes - g_.vec_offset);
    std::memcpy(out, slot + g_.vec_offset, done);
    (void)page;
    for (BlockNumber b = 1; done < g_.vec_bytes; ++b) {
        Buffer buf = read_block(headblk + b);
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
    char* slot = slot_ptr_id(page, g_, id);
    const SlotHeader* h = slot_header(slot);
    if (h->state == kSlotFree) return false;
    if (h->state == kSlotDeleted) ws_->excluded.test_and_set(id);
    if (g_.blocks_per_slot > 1) {
        *dist = dist_(query_, slot_vector(page, slot, id), g_.dim);
    } else {
        *dist = score_pinned(slot, id);
    }
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
// docs/hnsw.md, "Reading vectors without the content lock". A packed slot
// that straddles two blocks is the same: both parts are written before the
// node is linked.
bool PageGraph::score_unlocked(Page page, NodeId id, float* dist) {
    char* slot = slot_ptr_id(page, g_, id);
    const std::uint8_t state = *reinterpret_cast<volatile std::uint8_t*>(&slot_header(slot)->state);
    if (state == kSlotFree) return false;
    if (state == kSlotDeleted) ws_->excluded.test_and_set(id);
    *dist = score_pinned(slot, id);
    ++stats_->distances;
    ++stats_->visited;
    return true;
}

// Every metric is a sum over elements (cosine: 1 - dot of normalised
// vectors), so a vector split over two blocks is scored in two parts, in
// place: no copy.
float PageGraph::slot_distance(const char* slot, NodeId id, const char* tail) const {
    const std::uint32_t head = g_.straddles(id) ? g_.head_vec_bytes(id) : g_.vec_bytes;
    const std::uint32_t esize = g_.type == core::ElemType::F32 ? 4 : 2;
    const std::uint32_t nh = head / esize;
    if (nh == g_.dim) return dist_(query_, slot + g_.vec_offset, g_.dim);  // only padding straddles
    float d = dist_(static_cast<const char*>(query_) + nh * query_esize_, tail, g_.dim - nh);
    if (nh > 0) {
        d += dist_(query_, slot + g_.vec_offset, nh);
        if (g_.metric == core::Metric::Cosine) d -= 1.0f;
    }
    return core::ordered_distance(d);  // the parts can overflow oppositely: -inf + +inf
}

// A single-block slot under a pin of its head block; one whose vector
// continues on the next block pins that block too.
float PageGraph::score_pinned(const char* slot, NodeId id) {
    if (!g_.straddles(id) || g_.head_vec_bytes(id) / (g_.type == core::ElemType::F32 ? 4u : 2u) == g_.dim)
        return slot_distance(slot, id, nullptr);
    Buffer buf = read_block(g_.block_of(id) + 1);
    const float d = slot_distance(slot, id, reinterpret_cast<const char*>(BufferGetPage(buf)) + kAreaStart);
    ReleaseBuffer(buf);
    return d;
}

bool PageGraph::score(NodeId id, float* dist) {
    if (id >= capacity_ || g_.is_hole(id)) return false;
    Buffer buf = read_block(g_.block_of(id));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const bool ok = score_on_page(BufferGetPage(buf), id, dist);
    UnlockReleaseBuffer(buf);
    return ok;
}

bool PageGraph::live_tid(NodeId id, ItemPointerData* tid, float* dist) {
    Buffer buf = read_block(g_.block_of(id));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    char* slot = slot_ptr_id(BufferGetPage(buf), g_, id);
    const SlotHeader* h = slot_header(slot);
    const bool live = h->state == kSlotLive;
    if (live) *tid = h->tid;
    if (live && dist != nullptr) *dist = score_pinned(slot, id);
    UnlockReleaseBuffer(buf);
    return live;
}

int PageGraph::copy_level0(Page page, NodeId node, NodeId* out) {
    char* slot = slot_ptr_id(page, g_, node);
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
    const SlotHeader* h = slot_header(slot_ptr_id(page, g_, node));
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
    if (blk == kMetaBlock || id == kNoNode || g.is_hole(id)) return false;
    return read_slot_pinned(index, g, id, ReadBuffer(index, blk), hdr, nbrs, vec);
}

bool read_slot_pinned(Relation index, const Geometry& g, NodeId id, Buffer buf, SlotHeader* hdr, NodeId* nbrs,
                      void* vec) {
    const BlockNumber blk = g.block_of(id);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (page_opaque(page)->kind != kPageElement) {
        UnlockReleaseBuffer(buf);
        return false;
    }
    char* slot = slot_ptr_id(page, g, id);
    std::memcpy(hdr, slot, sizeof(SlotHeader));
    if (nbrs) std::memcpy(nbrs, slot_neighbors(slot), std::min<int>(hdr->n0, 2 * g.m) * sizeof(NodeId));
    if (vec && g.packed) {
        // Head part, then (straddling slot) the tail from the next block,
        // share-locked after the head (lock order: ascending blocks). A free
        // straddling slot may have no next block yet: nothing to read.
        const std::uint32_t head = g.head_vec_bytes(id);
        std::memcpy(vec, slot + g.vec_offset, head);
        if (head < g.vec_bytes && hdr->state != kSlotFree) {
            Buffer cbuf = ReadBuffer(index, blk + 1);
            LockBuffer(cbuf, BUFFER_LOCK_SHARE);
            const char* area = reinterpret_cast<const char*>(BufferGetPage(cbuf)) + kAreaStart;
            std::memcpy(static_cast<char*>(vec) + head, area, g.vec_bytes - head);
            UnlockReleaseBuffer(cbuf);
        } else if (head < g.vec_bytes) {
            std::memset(static_cast<char*>(vec) + head, 0, g.vec_bytes - head);
        }
    } else if (vec) {
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

// ---- packed slot allocation (inserts) ------------------------------------------

namespace {

// A usable free slot on the locked element page blk: one that does not
// straddle, else the straddling one when blk + 1 is an element page (then
// locked into t->tail). Lock order: ascending blocks.
bool take_free_slot(Relation index, const Geometry& g, Buffer buf, SlotTarget* t) {
    const BlockNumber blk = BufferGetBlockNumber(buf);
    Page page = BufferGetPage(buf);
    if (page_opaque(page)->kind != kPageElement) return false;
    const std::uint32_t n = g.slots_on(blk);
    std::uint32_t straddler = n;
    for (std::uint32_t s = 0; s < n; ++s) {
        if (slot_header(slot_ptr(page, g, blk, s))->state != kSlotFree) continue;
        if (!g.straddles(g.id_of(blk, s))) {
            t->slot = s;
            return true;
        }
        straddler = s;
    }
    if (straddler == n || blk + 1 >= RelationGetNumberOfBlocks(index)) return false;
    Buffer next = lock_element_page(index, blk + 1, BUFFER_LOCK_EXCLUSIVE);
    if (!BufferIsValid(next)) return false;
    t->slot = straddler;
    t->tail = next;
    return true;
}

Buffer new_block(Relation index) {
    return ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);  // pinned, not locked
}

}  // namespace

Buffer lock_element_page(Relation index, BlockNumber blk, int mode) {
    Buffer b = ReadBuffer(index, blk);
    LockBuffer(b, mode);
    if (is_element_page(BufferGetPage(b))) return b;
    UnlockReleaseBuffer(b);
    return InvalidBuffer;
}

Buffer fsm_element_block(Relation index, bool* empty) {
    const BlockNumber blk = GetPageWithFreeSpace(index, kFsmElementFree);
    *empty = blk == InvalidBlockNumber;
    if (*empty) return InvalidBuffer;
    Buffer b = ReadBuffer(index, blk);
    LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
    const Page page = BufferGetPage(b);
    if (is_element_page(page)) return b;
    const bool for_list = !PageIsNew(page) && page_opaque(page)->kind == kPagePendingFree;
    UnlockReleaseBuffer(b);
    if (!for_list) RecordPageWithFreeSpace(index, blk, 0);
    return InvalidBuffer;
}

void choose_packed_slot(Relation index, const Geometry& g, const MetaPage* meta, SlotTarget* t) {
    for (int i = static_cast<int>(meta->n_free_blocks) - 1; i >= 0; --i) {
        Buffer b = ReadBuffer(index, meta->free_blocks[i]);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        if (take_free_slot(index, g, b, t)) {
            t->head = b;
            return;  // the entry stays: a later insert pops it when it has nothing left
        }
        UnlockReleaseBuffer(b);
        ++t->pops;
    }
    // Blocks vacuum recorded in the free space map (the metapage's list was
    // full), as for the classic layout. The map is a hint: a block with
    // nothing usable left is set to zero.
    for (int tries = 0; tries < 8; ++tries) {
        bool empty;
        Buffer b = fsm_element_block(index, &empty);
        if (empty) break;
        if (!BufferIsValid(b)) continue;
        if (take_free_slot(index, g, b, t)) {
            t->head = b;
            return;  // the map entry stays: a later pick zeroes it when nothing is left
        }
        RecordPageWithFreeSpace(index, BufferGetBlockNumber(b), 0);
        UnlockReleaseBuffer(b);
    }
    const BlockNumber last = meta->insert_block;
    if (last != InvalidBlockNumber) {
        Buffer b = ReadBuffer(index, last);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        if (take_free_slot(index, g, b, t)) {
            t->head = b;
            return;
        }
        UnlockReleaseBuffer(b);
    }
    // Extend. When the last element block's straddling slot is free, the new
    // block becomes its tail (else that slot would be lost at every page).
    // Locking `last` under the extension lock cannot deadlock: the other
    // order (a page held while waiting for the extension lock: write_node's
    // upper record, append's next list page) happens only under the
    // metapage's exclusive lock, which our callers hold too; VACUUM updates
    // the free space map with no buffer locked.
    LockRelationForExtension(index, ExclusiveLock);
    Buffer nb = new_block(index);
    const BlockNumber nblk = BufferGetBlockNumber(nb);
    if (last != InvalidBlockNumber && last + 1 == nblk) {
        Buffer b = ReadBuffer(index, last);
        LockBuffer(b, BUFFER_LOCK_EXCLUSIVE);
        const std::uint32_t s = g.slots_on(last) - 1;
        if (g.straddles(g.id_of(last, s)) &&
            slot_header(slot_ptr(BufferGetPage(b), g, last, s))->state == kSlotFree) {
            LockBuffer(nb, BUFFER_LOCK_EXCLUSIVE);
            UnlockRelationForExtension(index, ExclusiveLock);
            t->head = b;
            t->slot = s;
            t->tail = nb;
            t->tail_fresh = true;
            t->insert_block = nblk;
            return;
        }
        UnlockReleaseBuffer(b);
    }
    LockBuffer(nb, BUFFER_LOCK_EXCLUSIVE);
    t->head = nb;
    t->head_fresh = true;
    t->slot = 0;
    t->insert_block = nblk;
    if (g.straddles(g.id_of(nblk, 0))) {
        // The new block's only slot straddles: its tail is one more block.
        t->tail = new_block(index);
        LockBuffer(t->tail, BUFFER_LOCK_EXCLUSIVE);
        t->tail_fresh = true;
        t->insert_block = BufferGetBlockNumber(t->tail);
    }
    UnlockRelationForExtension(index, ExclusiveLock);
}

void put_packed_slot(Page head, Page tail, const Geometry& g, NodeId id, const char* image) {
    const std::uint32_t off = g.offset_of(id);
    const std::uint32_t on_head = std::min<std::uint32_t>(g.slot_bytes, static_cast<std::uint32_t>(kAreaBytes) - off);
    std::memcpy(reinterpret_cast<char*>(head) + kAreaStart + off, image, on_head);
    if (on_head < g.slot_bytes) {
        Assert(tail != nullptr);
        std::memcpy(reinterpret_cast<char*>(tail) + kAreaStart, image + on_head, g.slot_bytes - on_head);
    }
}

}  // namespace vecdb::pg::hnsw
