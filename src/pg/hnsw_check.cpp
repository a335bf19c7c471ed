// vecdb_index_check(index, heapallindexed, raise_error): an amcheck-style
// verifier for hnsw indexes. It reads every page of the index and reports
// what it finds wrong as rows (severity, kind, block, node, detail):
//
//   error    the structure is broken: a scan can crash, loop, return a wrong
//            row or miss rows for good (bad page header or magic, metapage
//            geometry that does not match, slot state or counts out of range,
//            links out of range or into non-element pages, upper records that
//            do not fit, vectors with NaN/Inf or (cosine) not unit length,
//            heap TIDs that point past the heap or at unused line pointers,
//            visible heap rows missing from the index or stored with another
//            vector, an entry point on a free slot).
//   warning  legal but unwanted states that the AM repairs or tolerates and
//            that cost recall: live nodes unreachable from the entry point,
//            links to deleted or free slots (left by a crash or a race between
//            an insert and vacuum; the next vacuum repairs them), duplicate
//            links, zeroed pages left by a crash during relation extension.
//   info     one 'summary' row with the counts.
//
// Locks: ShareLock on the table (no concurrent writes or vacuum; reads go
// on) and AccessShareLock on the index, so the walk sees a still graph. On a
// hot standby (which cannot take ShareLock) it takes AccessShareLock and
// replay may change pages under the walk: read warnings there with that in
// mind. Only the table's owner (or a superuser) may run it.
//
// C discipline throughout: every frame calls Postgres functions that can
// raise, so nothing here has a destructor; memory comes from palloc.
#include <algorithm>
#include <cmath>
#include <cstdarg>

#include "vecdb/core/half.h"
#include "vecdb/pg/hnsw.h"
#include "vecdb/pg/hnsw_pending.h"
#include "vecdb/pg/vector.h"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
}

namespace vecdb::pg::hnsw {
namespace {

constexpr std::uint8_t kNotASlot = 0xff;  // state of ids on non-element blocks
constexpr std::int64_t kMaxRowsPerKind = 50;

enum Kind {
    kKindMeta, kKindPage, kKindSlot, kKindLink, kKindUpper, kKindVector, kKindEntry, kKindHeapTid,
    kKindHeapMissing, kKindHeapMismatch, kKindUnreachable, kKindFreeList, kKindDuplicate, kKindPending, kNumKinds
};
const char* const kKindNames[kNumKinds] = {
    "metapage", "page", "slot", "link", "upper record", "vector", "entry point", "heap tid",
    "missing heap row", "vector mismatch", "unreachable", "free list", "duplicate", "pending list",
};

struct TidNode {
    ItemPointerData tid;
    NodeId node;
};

struct Check {
    Relation index;
    Relation heap;
    Tuplestorestate* store;
    TupleDesc desc;
    MetaPage meta;
    Geometry g;
    bool geometry_ok;
    BlockNumber nblocks;
    NodeId capacity;
    std::uint8_t* page_kind;  // by block
    std::uint8_t* state;      // by node id
    std::uint8_t* level;
    std::uint8_t* reached;
    ItemPointerData* tids;
    TidNode* live;  // live nodes sorted by heap tid
    std::int64_t n_live;
    std::int64_t n_deleted;
    std::int64_t n_free;
    std::int64_t n_reached_live;
    std::int64_t n_heap_rows;
    std::int64_t n_errors;
    std::int64_t n_warnings;
    std::int64_t per_kind[kNumKinds];
    char first_error[512];
    // Unmerged pending entries sorted by heap TID (node: the slot a
    // `linking` entry names, else kNoNode), and their vectors by pos.
    TidNode* pending;
    char* pending_vecs;
    std::int64_t n_pending;
    char* vec;   // one vector
    char* vec2;  // another
    MemoryContext row_cxt;  // per heap row (detoasted values)
};

void report(Check* c, bool error, Kind kind, BlockNumber blk, NodeId node, const char* fmt, ...)
    pg_attribute_printf(6, 7);

void report(Check* c, bool error, Kind kind, BlockNumber blk, NodeId node, const char* fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    pg_vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (error) {
        if (c->n_errors == 0)
            ::snprintf(c->first_error, sizeof(c->first_error), "%s at block %u: %s", kKindNames[kind], blk, detail);
        ++c->n_errors;
    } else {
        ++c->n_warnings;
    }
    if (++c->per_kind[kind] > kMaxRowsPerKind) return;  // counted, not listed
    Datum values[5];
    bool nulls[5] = {false, false, false, false, false};
    values[0] = CStringGetTextDatum(error ? "error" : "warning");
    values[1] = CStringGetTextDatum(kKindNames[kind]);
    values[2] = Int64GetDatum(blk);
    nulls[2] = blk == InvalidBlockNumber;
    values[3] = Int64GetDatum(node);
    nulls[3] = node == kNoNode;
    values[4] = CStringGetTextDatum(detail);
    tuplestore_putvalues(c->store, c->desc, values, nulls);
}

// A private copy of block blk (share lock held only while copying).
void copy_block(Check* c, BlockNumber blk, char* out) {
    Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, blk, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    std::memcpy(out, BufferGetPage(buf), BLCKSZ);
    UnlockReleaseBuffer(buf);
}

// Page header and special space: what every vecdb page must have.
bool check_page_header(Check* c, BlockNumber blk, Page page) {
    PageHeader ph = reinterpret_cast<PageHeader>(page);
    if (PageIsNew(page)) {
        // Relation extension is not WAL-logged: a crash after extending and
        // before the first record leaves a zeroed block. Nothing links to it.
        // (pd_upper 0 means all zeros here: reading a block from disk
        // rejects a page whose header says new unless every byte is zero.)
        report(c, false, kKindPage, blk, kNoNode, "page is new (all zeros)");
        return false;
    }
    if (PageGetPageSize(page) != BLCKSZ || ph->pd_special != BLCKSZ - MAXALIGN(sizeof(PageOpaque)) ||
        ph->pd_lower < SizeOfPageHeaderData || ph->pd_lower > ph->pd_upper || ph->pd_upper > ph->pd_special) {
        report(c, true, kKindPage, blk, kNoNode, "bad page header: size %u, lower %u, upper %u, special %u",
               static_cast<unsigned>(PageGetPageSize(page)), ph->pd_lower, ph->pd_upper, ph->pd_special);
        return false;
    }
    const PageOpaque* op = page_opaque(page);
    if (op->magic != kMagic) {
        report(c, true, kKindPage, blk, kNoNode, "bad page magic 0x%08x (expected 0x%08x)", op->magic, kMagic);
        return false;
    }
    if (op->kind < kPageMeta || op->kind > kPagePendingFree || (op->kind == kPageMeta) != (blk == kMetaBlock)) {
        report(c, true, kKindPage, blk, kNoNode, "bad page kind %u", op->kind);
        return false;
    }
    return true;
}

// The metapage; false when the geometry is unusable (nothing else can be read).
bool check_meta(Check* c, char* page) {
    if (!check_page_header(c, kMetaBlock, page)) return false;
    std::memcpy(&c->meta, page_meta(page), sizeof(MetaPage));
    const MetaPage& m = c->meta;
    // Version 2 metapages end before the float16 fields.
    const std::size_t meta_end = (m.version == kVersion ? offsetof(MetaPage, float16_storage) : sizeof(MetaPage)) +
                                 (reinterpret_cast<char*>(page_meta(page)) - page);
    if (reinterpret_cast<PageHeader>(page)->pd_lower < meta_end)
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "pd_lower %u does not cover the metapage (%zu bytes)",
               reinterpret_cast<PageHeader>(page)->pd_lower, meta_end);
    if (m.magic != kMagic || (m.version != kVersion && m.version != kVersionFloat16)) {
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "magic 0x%08x version %u (expected 0x%08x version %u or %u)",
               m.magic, m.version, kMagic, kVersion, kVersionFloat16);
        return false;
    }
    clear_fields_beyond_version(&c->meta);
    const bool float16_fields_ok = m.float16_storage == 1 &&
                                   m.elem_type == static_cast<std::uint8_t>(core::ElemType::F16) &&
                                   m.round_err_max >= 0 && m.round_err_max < HUGE_VAL &&
                                   m.copy_norm_max >= 0 && m.copy_norm_max < HUGE_VAL;
    if (m.version == kVersionFloat16 && !float16_fields_ok) {
        report(c, true, kKindMeta, kMetaBlock, kNoNode,
               "float16 storage fields out of range: flag %u, element type %u, rounding error %g, copy norm %g",
               m.float16_storage, m.elem_type, m.round_err_max, m.copy_norm_max);
        return false;
    }
    if (m.dim > VECDB_MAX_DIM || m.metric > 3 || m.elem_type > 1 || m.m < 2 || m.m > 100 || m.ef_construction < 1) {
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "parameters out of range: dim %u, metric %u, type %u, m %u, "
               "ef_construction %u", m.dim, m.metric, m.elem_type, m.m, m.ef_construction);
        return false;
    }
    core::Metric metric;
    core::ElemType type;
    opclass_metric(c->index, &metric, &type);
    // storage = float16: a float32 opclass over float16 pages.
    if (m.float16_storage != 0 && type == core::ElemType::F16)
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "float16 storage flag set on a halfvec index");
    if (m.float16_storage != 0 && type == core::ElemType::F32) type = core::ElemType::F16;
    if (static_cast<std::uint8_t>(metric) != m.metric || static_cast<std::uint8_t>(type) != m.elem_type)
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "metric %u / element type %u differ from the opclass's %u / %u",
               m.metric, m.elem_type, static_cast<unsigned>(metric), static_cast<unsigned>(type));
    const int32 typmod = TupleDescAttr(RelationGetDescr(c->index), 0)->atttypmod;
    if (m.dim != 0 && typmod > 0 && static_cast<std::uint32_t>(typmod) != m.dim)
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "dimension %u differs from the column's %d", m.dim, typmod);
    if (m.dim == 0) {
        // Built empty without a declared dimension: no element page yet.
        c->geometry_ok = false;
        return true;
    }
    geometry_from_meta(&m, c->g);
    if (c->g.slots_per_page != m.slots_per_page || c->g.blocks_per_slot != m.blocks_per_slot ||
        c->g.slot_bytes != m.slot_bytes || (c->g.packed ? 1 : 0) != m.packed) {
        report(c, true, kKindMeta, kMetaBlock, kNoNode,
               "geometry %u slots/page, %u blocks/slot, %u bytes/slot; dim %u and m %u give %u, %u, %u",
               m.slots_per_page, m.blocks_per_slot, m.slot_bytes, m.dim, m.m, c->g.slots_per_page,
               c->g.blocks_per_slot, c->g.slot_bytes);
        return false;
    }
    c->geometry_ok = true;
    return true;
}

bool vector_sound(Check* c, const char* v, char* why, std::size_t why_len) {
    const Geometry& g = c->g;
    double norm = 0;
    for (std::uint32_t i = 0; i < g.dim; ++i) {
        float x;
        if (g.type == core::ElemType::F32) {
            std::memcpy(&x, v + 4 * i, 4);
        } else {
            std::uint16_t h;
            std::memcpy(&h, v + 2 * i, 2);
            if ((h & 0x7c00) == 0x7c00) {
                ::snprintf(why, why_len, "element %u is float16 Inf or NaN (0x%04x)", i, h);
                return false;
            }
            x = vecdb::core::half_to_float(h);
        }
        if (!std::isfinite(x)) {
            ::snprintf(why, why_len, "element %u is %g", i, static_cast<double>(x));
            return false;
        }
        norm += static_cast<double>(x) * x;
    }
    if (g.metric == core::Metric::Cosine) {
        const double tol = g.type == core::ElemType::F32 ? 1e-4 : 1e-2;
        if (std::fabs(std::sqrt(norm) - 1.0) > tol) {
            ::snprintf(why, why_len, "cosine index vector has norm %g, not 1", std::sqrt(norm));
            return false;
        }
    }
    return true;
}

// Pass 1: every block; collects per-node state, level and heap TID.
void scan_pages(Check* c) {
    const Geometry& g = c->g;
    char* page = static_cast<char*>(palloc(BLCKSZ));
    std::uint32_t cont_expected = 0;  // continuation blocks still owed to a slot
    BlockNumber cont_head = InvalidBlockNumber;
    // An insert of a multi-block slot extends the relation by the whole slot
    // and writes the continuation blocks before the head, in records of
    // their own: a crash in between leaves continuation blocks after an
    // all-zero head, which nothing can reach (leaked space, as any page
    // extended but never written). Blocks of such a run are warnings.
    std::uint32_t orphans_allowed = 0;
    for (BlockNumber blk = 1; blk < c->nblocks; ++blk) {
        CHECK_FOR_INTERRUPTS();
        copy_block(c, blk, page);
        if (!check_page_header(c, blk, page)) {
            if (cont_expected > 0) {
                report(c, true, kKindPage, blk, kNoNode, "block should continue the slot of block %u", cont_head);
                cont_expected = 0;
            }
            if (PageIsNew(page) && g.blocks_per_slot > 1) orphans_allowed = g.blocks_per_slot - 1;
            continue;
        }
        const PageKind kind = static_cast<PageKind>(page_opaque(page)->kind);
        c->page_kind[blk] = static_cast<std::uint8_t>(kind);
        if (cont_expected > 0) {
            if (kind != kPageContinuation) {
                report(c, true, kKindPage, blk, kNoNode, "block of kind %u where a continuation of block %u belongs",
                       kind, cont_head);
                cont_expected = 0;
            } else {
                --cont_expected;
                continue;
            }
        }
        if (kind == kPageContinuation && orphans_allowed > 0) {
            --orphans_allowed;
            report(c, false, kKindPage, blk, kNoNode,
                   "continuation block after an all-zero head (an insert cut off by a crash): unreachable");
            continue;
        }
        orphans_allowed = 0;
        if (kind == kPageContinuation) {
            report(c, true, kKindPage, blk, kNoNode, "continuation block without a head");
            continue;
        }
        if (kind == kPageUpper) continue;  // records are checked from their nodes
        if (kind == kPagePending || kind == kPagePendingFree) continue;  // check_pending
        // Element page.
        if (g.blocks_per_slot > 1) {
            cont_expected = g.blocks_per_slot - 1;
            cont_head = blk;
        }
        for (std::uint32_t s = 0; s < g.slots_on(blk); ++s) {
            const NodeId id = g.id_of(blk, s);
            char* slot = slot_ptr(page, g, blk, s);
            const SlotHeader* h = slot_header(slot);
            c->state[id] = h->state;
            if (h->state == kSlotFree) {
                ++c->n_free;
                continue;
            }
            if (h->state != kSlotLive && h->state != kSlotDeleted) {
                report(c, true, kKindSlot, blk, id, "slot %u has state %u", s, h->state);
                c->state[id] = kNotASlot;
                continue;
            }
            if (h->state == kSlotLive) ++c->n_live; else ++c->n_deleted;
            c->level[id] = h->level;
            c->tids[id] = h->tid;
            if (h->level > core::kMaxLevel)
                report(c, true, kKindSlot, blk, id, "level %u above the maximum %d", h->level, core::kMaxLevel);
            if (h->n0 > 2 * g.m)
                report(c, true, kKindSlot, blk, id, "%u level-0 neighbours, at most %d allowed", h->n0, 2 * g.m);
            if (!ItemPointerIsValid(&h->tid) || ItemPointerGetOffsetNumberNoCheck(&h->tid) == InvalidOffsetNumber ||
                ItemPointerGetOffsetNumberNoCheck(&h->tid) > MaxHeapTuplesPerPage)
                report(c, true, kKindHeapTid, blk, id, "invalid heap tid (%u,%u)",
                       ItemPointerGetBlockNumberNoCheck(&h->tid), ItemPointerGetOffsetNumberNoCheck(&h->tid));
            if (h->level > 0 && (h->upper_blk == InvalidBlockNumber || h->upper_blk == kMetaBlock ||
                                 h->upper_blk >= c->nblocks || h->upper_off == InvalidOffsetNumber))
                report(c, true, kKindUpper, blk, id, "level %u node has upper record at (%u,%u)", h->level,
                       h->upper_blk, h->upper_off);
            // The vector: in this page, or gathered from the continuation blocks.
            const char* v = slot + g.vec_offset;
            if (g.straddles(id) && (blk + 1 >= c->nblocks)) {
                report(c, true, kKindSlot, blk, id, "slot %u continues beyond the last block", s);
                continue;
            }
            if (g.blocks_per_slot > 1 || g.straddles(id)) {
                SlotHeader tmp;
                if (!read_slot(c->index, g, id, &tmp, nullptr, c->vec)) continue;
                v = c->vec;
            }
            char why[200];
            if (!vector_sound(c, v, why, sizeof(why))) report(c, true, kKindVector, blk, id, "%s", why);
        }
    }
    if (cont_expected > 0)
        report(c, true, kKindPage, c->nblocks, kNoNode, "relation ends inside the slot of block %u", cont_head);
    pfree(page);
}

// A link from `from` (at `level`) to `to`.
void check_link(Check* c, BlockNumber blk, NodeId from, int level, NodeId to) {
    if (to >= c->capacity) {
        report(c, true, kKindLink, blk, from, "level-%d link to node %u, beyond the last block", level, to);
        return;
    }
    const std::uint8_t st = c->state[to];
    if (st == kNotASlot || c->page_kind[c->g.block_of(to)] != kPageElement) {
        report(c, true, kKindLink, blk, from, "level-%d link to node %u, not a slot of an element page", level, to);
    } else if (to == from) {
        report(c, false, kKindLink, blk, from, "level-%d link to itself", level);
    } else if (st == kSlotFree) {
        report(c, false, kKindLink, blk, from, "level-%d link to free slot %u", level, to);
    } else if (st == kSlotDeleted) {
        report(c, false, kKindLink, blk, from, "level-%d link to deleted node %u", level, to);
    } else if (level > 0 && c->level[to] < level) {
        report(c, false, kKindLink, blk, from, "level-%d link to node %u of level %u", level, to, c->level[to]);
    }
}

void check_list(Check* c, BlockNumber blk, NodeId from, int level, const NodeId* lst, int n) {
    for (int i = 0; i < n; ++i) {
        check_link(c, blk, from, level, lst[i]);
        for (int j = 0; j < i; ++j)
            if (lst[j] == lst[i]) {
                report(c, false, kKindDuplicate, blk, from, "level-%d list names node %u twice", level, lst[i]);
                break;
            }
    }
}

// The upper record of a node of level > 0, each list checked.
void check_upper(Check* c, BlockNumber blk, NodeId id, const SlotHeader* h, char* page) {
    const Geometry& g = c->g;
    if (h->upper_blk == InvalidBlockNumber || h->upper_blk == kMetaBlock || h->upper_blk >= c->nblocks) return;
    if (c->page_kind[h->upper_blk] != kPageUpper) {
        report(c, true, kKindUpper, blk, id, "upper record block %u is not an upper page", h->upper_blk);
        return;
    }
    copy_block(c, h->upper_blk, page);
    const OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
    if (h->upper_off < FirstOffsetNumber || h->upper_off > maxoff) {
        report(c, true, kKindUpper, blk, id, "upper record (%u,%u) beyond the page's %u items", h->upper_blk,
               h->upper_off, maxoff);
        return;
    }
    ItemId iid = PageGetItemId(page, h->upper_off);
    const std::size_t want = static_cast<std::size_t>(h->level) * g.upper_bytes_per_level;
    if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) != want ||
        ItemIdGetOffset(iid) + ItemIdGetLength(iid) > reinterpret_cast<PageHeader>(page)->pd_special) {
        report(c, true, kKindUpper, blk, id, "upper record (%u,%u) has %u bytes at %u, level %u needs %zu",
               h->upper_blk, h->upper_off, ItemIdGetLength(iid), ItemIdGetOffset(iid), h->level, want);
        return;
    }
    const NodeId* rec = reinterpret_cast<const NodeId*>(PageGetItem(page, iid));
    for (int l = 1; l <= h->level; ++l) {
        const NodeId* lst = rec + (l - 1) * (g.m + 1);
        if (lst[0] > static_cast<NodeId>(g.m)) {
            report(c, true, kKindUpper, blk, id, "level-%d list has %u entries, at most %d allowed", l, lst[0], g.m);
            continue;
        }
        check_list(c, blk, id, l, lst + 1, static_cast<int>(lst[0]));
    }
}

// Pass 2: every list of every node.
void check_links(Check* c) {
    const Geometry& g = c->g;
    char* page = static_cast<char*>(palloc(BLCKSZ));
    char* upage = static_cast<char*>(palloc(BLCKSZ));
    for (BlockNumber blk = 1; blk < c->nblocks; ++blk) {
        CHECK_FOR_INTERRUPTS();
        if (c->page_kind[blk] != kPageElement) continue;
        copy_block(c, blk, page);
        for (std::uint32_t s = 0; s < g.slots_on(blk); ++s) {
            const NodeId id = g.id_of(blk, s);
            if (c->state[id] != kSlotLive && c->state[id] != kSlotDeleted) continue;
            char* slot = slot_ptr(page, g, blk, s);
            const SlotHeader* h = slot_header(slot);
            const int n = h->n0 > 2 * g.m ? 2 * g.m : h->n0;
            if (g.straddles(id) && (blk + 1 >= c->nblocks || c->page_kind[blk + 1] != kPageElement))
                report(c, true, kKindSlot, blk, id, "slot continues on block %u, not an element page", blk + 1);
            check_list(c, blk, id, 0, slot_neighbors(slot), n);
            if (h->level > 0 && h->level <= core::kMaxLevel) check_upper(c, blk, id, h, upage);
        }
    }
    pfree(page);
    pfree(upage);
}

// The metapage's pointers against what the pages hold.
void check_meta_pointers(Check* c) {
    const MetaPage& m = c->meta;
    const std::int64_t nodes = c->n_live + c->n_deleted;
    if (m.entry_id == kNoNode) {
        if (nodes > 0) report(c, true, kKindEntry, kMetaBlock, kNoNode, "no entry point but %lld nodes",
                              static_cast<long long>(nodes));
    } else if (m.entry_id >= c->capacity || c->state[m.entry_id] == kNotASlot) {
        report(c, true, kKindEntry, kMetaBlock, m.entry_id, "entry point %u is not a slot", m.entry_id);
    } else if (c->state[m.entry_id] == kSlotFree) {
        report(c, true, kKindEntry, kMetaBlock, m.entry_id, "entry point %u is a free slot", m.entry_id);
    } else {
        if (c->state[m.entry_id] == kSlotDeleted)
            report(c, false, kKindEntry, kMetaBlock, m.entry_id, "entry point %u is deleted", m.entry_id);
        if (c->level[m.entry_id] != m.entry_level)
            report(c, true, kKindEntry, kMetaBlock, m.entry_id, "entry level %d but node %u has level %u",
                   m.entry_level, m.entry_id, c->level[m.entry_id]);
    }
    int top = -1;
    NodeId top_id = kNoNode;
    for (NodeId id = 0; id < c->capacity; ++id)
        if (c->state[id] == kSlotLive && c->level[id] > top) {
            top = c->level[id];
            top_id = id;
        }
    if (top > m.entry_level)
        report(c, false, kKindEntry, kMetaBlock, top_id, "node %u has level %d, above the entry level %d", top_id, top,
               m.entry_level);
    // Inserts use insert_block only when a slot fits a page; builds of
    // multi-block slots leave it at the last (continuation) block.
    if (m.insert_block != InvalidBlockNumber &&
        (m.insert_block >= c->nblocks ||
         (c->page_kind[m.insert_block] != kPageElement &&
          !(c->g.blocks_per_slot > 1 && c->page_kind[m.insert_block] == kPageContinuation))))
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "insert block %u is not an element page", m.insert_block);
    if (m.upper_block != InvalidBlockNumber &&
        (m.upper_block >= c->nblocks || c->page_kind[m.upper_block] != kPageUpper))
        report(c, true, kKindMeta, kMetaBlock, kNoNode, "upper block %u is not an upper page", m.upper_block);
    if (m.n_free_blocks > kMaxFreeBlocks) {
        report(c, true, kKindFreeList, kMetaBlock, kNoNode, "%u free-list entries, at most %d", m.n_free_blocks,
               kMaxFreeBlocks);
        return;
    }
    for (std::uint32_t i = 0; i < m.n_free_blocks; ++i)
        if (m.free_blocks[i] >= c->nblocks || c->page_kind[m.free_blocks[i]] != kPageElement)
            report(c, true, kKindFreeList, kMetaBlock, kNoNode, "free-list block %u is not an element page",
                   m.free_blocks[i]);
}

// Pass 3: breadth-first from the entry point over the lists of every level
// (a search can descend from any upper-level node), the way a search walks:
// through deleted nodes, never through free slots.
void check_reachability(Check* c) {
    const Geometry& g = c->g;
    const MetaPage& m = c->meta;
    if (m.entry_id == kNoNode || m.entry_id >= c->capacity) return;
    if (c->state[m.entry_id] != kSlotLive && c->state[m.entry_id] != kSlotDeleted) return;
    NodeId* queue = static_cast<NodeId*>(MemoryContextAllocHuge(CurrentMemoryContext, sizeof(NodeId) * c->capacity));
    NodeId lst[2 * 100];
    std::size_t head = 0, tail = 0;
    queue[tail++] = m.entry_id;
    c->reached[m.entry_id] = 1;
    while (head < tail) {
        if ((head & 1023) == 0) CHECK_FOR_INTERRUPTS();
        const NodeId id = queue[head++];
        if (c->state[id] == kSlotLive) ++c->n_reached_live;
        Buffer buf = ReadBuffer(c->index, g.block_of(id));
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        char* slot = slot_ptr_id(BufferGetPage(buf), g, id);
        const SlotHeader* h = slot_header(slot);
        const SlotHeader hdr = *h;
        int n = hdr.n0 > 2 * g.m ? 2 * g.m : hdr.n0;
        std::memcpy(lst, slot_neighbors(slot), n * sizeof(NodeId));
        UnlockReleaseBuffer(buf);
        for (int l = 0; l <= hdr.level && l <= core::kMaxLevel; ++l) {
            if (l > 0) {
                if (c->page_kind[hdr.upper_blk < c->nblocks ? hdr.upper_blk : kMetaBlock] != kPageUpper) break;
                n = read_upper_list(c->index, g, hdr, l, lst);
            }
            for (int i = 0; i < n; ++i) {
                const NodeId to = lst[i];
                if (to >= c->capacity || c->reached[to]) continue;
                if (c->state[to] != kSlotLive && c->state[to] != kSlotDeleted) continue;
                c->reached[to] = 1;
                queue[tail++] = to;
            }
        }
    }
    pfree(queue);
    for (NodeId id = 0; id < c->capacity; ++id)
        if (c->state[id] == kSlotLive && !c->reached[id])
            report(c, false, kKindUnreachable, g.block_of(id), id,
                   "live node %u (heap tid (%u,%u)) cannot be reached from entry point %u", id,
                   ItemPointerGetBlockNumberNoCheck(&c->tids[id]), ItemPointerGetOffsetNumberNoCheck(&c->tids[id]),
                   m.entry_id);
}

int tid_node_cmp(const void* a, const void* b) {
    return ItemPointerCompare(const_cast<ItemPointer>(&static_cast<const TidNode*>(a)->tid),
                              const_cast<ItemPointer>(&static_cast<const TidNode*>(b)->tid));
}

// Pass 4: every live node's heap TID names a line pointer in use.
void check_heap_tids(Check* c) {
    c->live = static_cast<TidNode*>(
        MemoryContextAllocHuge(CurrentMemoryContext, sizeof(TidNode) * (c->n_live > 0 ? c->n_live : 1)));
    std::int64_t n = 0;
    for (NodeId id = 0; id < c->capacity && n < c->n_live; ++id)
        if (c->state[id] == kSlotLive && ItemPointerIsValid(&c->tids[id])) c->live[n++] = TidNode{c->tids[id], id};
    c->n_live = n;
    qsort(c->live, n, sizeof(TidNode), tid_node_cmp);
    const BlockNumber heap_blocks = RelationGetNumberOfBlocks(c->heap);
    Buffer buf = InvalidBuffer;
    BlockNumber cur = InvalidBlockNumber;
    for (std::int64_t i = 0; i < n; ++i) {
        const ItemPointerData tid = c->live[i].tid;
        const NodeId id = c->live[i].node;
        const BlockNumber hblk = ItemPointerGetBlockNumber(&tid);
        const OffsetNumber off = ItemPointerGetOffsetNumber(&tid);
        if (i > 0 && ItemPointerEquals(&c->live[i - 1].tid, const_cast<ItemPointer>(&tid)))
            report(c, false, kKindDuplicate, c->g.block_of(id), id, "heap tid (%u,%u) is also held by node %u", hblk,
                   off, c->live[i - 1].node);
        if (hblk >= heap_blocks) {
            report(c, true, kKindHeapTid, c->g.block_of(id), id, "heap tid (%u,%u) beyond the table's %u blocks", hblk,
                   off, heap_blocks);
            continue;
        }
        if (hblk != cur) {
            if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
            CHECK_FOR_INTERRUPTS();
            buf = ReadBuffer(c->heap, hblk);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            cur = hblk;
        }
        Page page = BufferGetPage(buf);
        if (off > PageGetMaxOffsetNumber(page)) {
            report(c, true, kKindHeapTid, c->g.block_of(id), id, "heap tid (%u,%u) beyond the page's %u line pointers",
                   hblk, off, static_cast<unsigned>(PageGetMaxOffsetNumber(page)));
            continue;
        }
        // Pruning may leave LP_DEAD or LP_REDIRECT behind an indexed TID;
        // LP_UNUSED only after index vacuum, which must have removed us.
        if (!ItemIdIsUsed(PageGetItemId(page, off)))
            report(c, true, kKindHeapTid, c->g.block_of(id), id, "heap tid (%u,%u) is an unused line pointer", hblk,
                   off);
    }
    if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
}

// Pass 4b: the pending list. The chain from the metapage's head ends at its
// tail, every page on it is a pending page, the entries on it add up to the
// metapage's count, entries are sound. An unmerged entry whose heap TID a
// live graph node also holds is legal only half-merged: the entry is
// `linking` and names that node (docs/hnsw.md "Pending list").
void check_pending(Check* c) {
    const Geometry& g = c->g;
    const MetaPage& m = c->meta;
    if (m.pending_head == InvalidBlockNumber) {
        if (m.pending_tail != InvalidBlockNumber || m.pending_count != 0)
            report(c, true, kKindPending, kMetaBlock, kNoNode, "no pending head but tail %u, count %llu",
                   m.pending_tail, static_cast<unsigned long long>(m.pending_count));
        return;
    }
    std::uint8_t* seen = static_cast<std::uint8_t*>(palloc0(c->nblocks));
    char* page = static_cast<char*>(palloc(BLCKSZ));
    std::int64_t cap = 64;
    c->pending = static_cast<TidNode*>(palloc(cap * sizeof(TidNode)));
    c->pending_vecs = static_cast<char*>(MemoryContextAllocHuge(CurrentMemoryContext, cap * g.vec_bytes));
    std::uint64_t entries = 0;
    BlockNumber blk = m.pending_head, last = InvalidBlockNumber;
    const BlockNumber heap_blocks = RelationGetNumberOfBlocks(c->heap);
    while (blk != InvalidBlockNumber) {
        CHECK_FOR_INTERRUPTS();
        if (blk >= c->nblocks || seen[blk]) {
            report(c, true, kKindPending, last, kNoNode, "pending list link to block %u %s", blk,
                   blk >= c->nblocks ? "beyond the last block" : "closes a cycle");
            return;
        }
        seen[blk] = 1;
        if (c->page_kind[blk] != kPagePending) {
            report(c, true, kKindPending, blk, kNoNode, "pending list block of kind %u", c->page_kind[blk]);
            return;
        }
        copy_block(c, blk, page);
        const PendingPageHeader* h = pending_header(page);
        if (h->n_entries > pending_per_page(g)) {
            report(c, true, kKindPending, blk, kNoNode, "%u pending entries, at most %u fit", h->n_entries,
                   pending_per_page(g));
            return;
        }
        entries += h->n_entries;
        for (std::uint32_t i = 0; i < h->n_entries; ++i) {
            PendingEntry* e = pending_entry(page, g, i);
            if (e->state > kPendingMerged) {
                report(c, true, kKindPending, blk, kNoNode, "entry %u has state %u", i, e->state);
                continue;
            }
            if (e->state == kPendingMerged) continue;
            if (!ItemPointerIsValid(&e->tid) || ItemPointerGetBlockNumberNoCheck(&e->tid) >= heap_blocks) {
                report(c, true, kKindHeapTid, blk, kNoNode, "pending entry %u has heap tid (%u,%u) outside the table",
                       i, ItemPointerGetBlockNumberNoCheck(&e->tid), ItemPointerGetOffsetNumberNoCheck(&e->tid));
                continue;
            }
            char why[200];
            if (!vector_sound(c, pending_vector(e), why, sizeof(why)))
                report(c, true, kKindVector, blk, kNoNode, "pending entry %u: %s", i, why);
            if (c->n_pending == cap) {
                cap *= 2;
                c->pending = static_cast<TidNode*>(repalloc(c->pending, cap * sizeof(TidNode)));
                c->pending_vecs = static_cast<char*>(repalloc_huge(c->pending_vecs, cap * g.vec_bytes));
            }
            // The vector goes with the entry's position: keep it in `node`'s
            // stead until sorted (TidNode has no room), so sort a copy below.
            c->pending[c->n_pending].tid = e->tid;
            c->pending[c->n_pending].node = e->state == kPendingLinking ? e->node : kNoNode;
            std::memcpy(c->pending_vecs + c->n_pending * g.vec_bytes, pending_vector(e), g.vec_bytes);
            ++c->n_pending;
        }
        last = blk;
        blk = h->next;
    }
    if (last != m.pending_tail)
        report(c, true, kKindPending, kMetaBlock, kNoNode, "pending list ends at block %u, the metapage says %u", last,
               m.pending_tail);
    if (entries != m.pending_count)
        report(c, true, kKindPending, kMetaBlock, kNoNode, "pending pages hold %llu entries, the metapage counts %llu",
               static_cast<unsigned long long>(entries), static_cast<unsigned long long>(m.pending_count));
    // Sort the entries by TID, their vectors with them.
    int* perm = static_cast<int*>(palloc(sizeof(int) * (c->n_pending + 1)));
    for (std::int64_t i = 0; i < c->n_pending; ++i) perm[i] = static_cast<int>(i);
    TidNode* by_tid = c->pending;
    std::sort(perm, perm + c->n_pending, [by_tid](int a, int b) {
        return ItemPointerCompare(&by_tid[a].tid, &by_tid[b].tid) < 0;
    });
    TidNode* sorted = static_cast<TidNode*>(palloc(sizeof(TidNode) * (c->n_pending + 1)));
    char* vecs = static_cast<char*>(MemoryContextAllocHuge(CurrentMemoryContext, (c->n_pending + 1) * g.vec_bytes));
    for (std::int64_t i = 0; i < c->n_pending; ++i) {
        sorted[i] = c->pending[perm[i]];
        std::memcpy(vecs + i * g.vec_bytes, c->pending_vecs + perm[i] * g.vec_bytes, g.vec_bytes);
    }
    c->pending = sorted;
    c->pending_vecs = vecs;
    for (std::int64_t i = 0; i < c->n_pending; ++i) {
        ItemPointerData tid = sorted[i].tid;
        if (i > 0 && ItemPointerEquals(&sorted[i - 1].tid, &tid))
            report(c, true, kKindPending, InvalidBlockNumber, kNoNode, "heap tid (%u,%u) is pending twice",
                   ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid));
        TidNode key;
        key.tid = tid;
        const TidNode* hit = static_cast<const TidNode*>(bsearch(&key, c->live, c->n_live, sizeof(TidNode), tid_node_cmp));
        if (hit != nullptr && hit->node != sorted[i].node)
            report(c, true, kKindPending, c->g.block_of(hit->node), hit->node,
                   "heap tid (%u,%u) is held by node %u and by a pending entry that is not merging into it",
                   ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid), hit->node);
    }
}

// Pass 5 (heapallindexed): each row the index should hold is there with the
// same vector.
void check_heap_row(Check* c, ItemPointer tid, Datum value);

void heap_row(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg) {
    Check* c = static_cast<Check*>(arg);
    if (isnull[0]) return;
    ++c->n_heap_rows;
    MemoryContextReset(c->row_cxt);
    MemoryContext old = MemoryContextSwitchTo(c->row_cxt);
    check_heap_row(c, tid, values[0]);
    MemoryContextSwitchTo(old);
}

void check_heap_row(Check* c, ItemPointer tid, Datum value) {
    const Geometry& g = c->g;
    const std::uint32_t dim = datum_dim(value, g.type);
    if (!c->geometry_ok || dim != g.dim) {
        report(c, true, kKindHeapMissing, InvalidBlockNumber, kNoNode,
               "heap row (%u,%u) has %u dimensions, the index %u", ItemPointerGetBlockNumber(tid),
               ItemPointerGetOffsetNumber(tid), dim, g.dim);
        return;
    }
    double err = 0, norm = 0;
    if (!prepare_vector(value, g, c->vec, &err, &norm)) return;  // zero vector, cosine: not indexed
    if (g.float16_storage && exceeds_float16_bounds(c->meta, err, norm)) {
        // On a standby, replay may have raised the bounds since the metapage
        // was copied (rows arrive after it): look again before reporting.
        MetaPage now;
        read_meta(c->index, &now);
        c->meta.round_err_max = std::max(c->meta.round_err_max, now.round_err_max);
        c->meta.copy_norm_max = std::max(c->meta.copy_norm_max, now.copy_norm_max);
    }
    if (g.float16_storage && exceeds_float16_bounds(c->meta, err, norm))
        report(c, true, kKindHeapMismatch, InvalidBlockNumber, kNoNode,
               "heap row (%u,%u): float16 rounding error %g / copy norm %g above the metapage's %g / %g (scans "
               "would report distances that are not lower bounds)",
               ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid), err, norm, c->meta.round_err_max,
               c->meta.copy_norm_max);
    TidNode key;
    key.tid = *tid;
    const TidNode* hit = static_cast<const TidNode*>(bsearch(&key, c->live, c->n_live, sizeof(TidNode), tid_node_cmp));
    const TidNode* pend =
        c->n_pending > 0
            ? static_cast<const TidNode*>(bsearch(&key, c->pending, c->n_pending, sizeof(TidNode), tid_node_cmp))
            : nullptr;
    if (pend != nullptr) {
        if (std::memcmp(c->vec, c->pending_vecs + (pend - c->pending) * g.vec_bytes, g.vec_bytes) != 0)
            report(c, true, kKindHeapMismatch, InvalidBlockNumber, kNoNode,
                   "pending entry's vector differs from heap row (%u,%u)", ItemPointerGetBlockNumber(tid),
                   ItemPointerGetOffsetNumber(tid));
        if (hit == nullptr) return;
    }
    if (hit == nullptr) {
        report(c, true, kKindHeapMissing, InvalidBlockNumber, kNoNode, "heap row (%u,%u) is not in the index",
               ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
        return;
    }
    SlotHeader h;
    if (!read_slot(c->index, g, hit->node, &h, nullptr, c->vec2)) return;
    if (std::memcmp(c->vec, c->vec2, g.vec_bytes) != 0)
        report(c, true, kKindHeapMismatch, g.block_of(hit->node), hit->node,
               "node's vector differs from heap row (%u,%u)", ItemPointerGetBlockNumber(tid),
               ItemPointerGetOffsetNumber(tid));
}

void check_heap_rows(Check* c) {
    IndexInfo* info = BuildIndexInfo(c->index);
    // An MVCC snapshot (taken after our ShareLock: no writer is left) makes
    // the build scan hand over the visible rows only, with root TIDs.
    info->ii_Concurrent = true;
    c->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "vecdb_index_check row", ALLOCSET_SMALL_SIZES);
    Snapshot snap = RegisterSnapshot(GetTransactionSnapshot());
    TableScanDesc scan = table_beginscan_strat(c->heap, snap, 0, nullptr, true, false);
    table_index_build_scan(c->heap, c->index, info, true, false, heap_row, c, scan);
    UnregisterSnapshot(snap);
}

void summary(Check* c) {
    char detail[512];
    ::snprintf(detail, sizeof(detail),
               "blocks %u, live %lld, deleted %lld, free %lld, reachable live %lld, heap rows checked %lld, "
               "entry %d (level %d), errors %lld, warnings %lld, pending %lld, m %d, ef_construction %d",
               c->nblocks, static_cast<long long>(c->n_live), static_cast<long long>(c->n_deleted),
               static_cast<long long>(c->n_free), static_cast<long long>(c->n_reached_live),
               static_cast<long long>(c->n_heap_rows),
               c->meta.entry_id == kNoNode ? -1 : static_cast<int>(c->meta.entry_id), c->meta.entry_level,
               static_cast<long long>(c->n_errors), static_cast<long long>(c->n_warnings),
               static_cast<long long>(c->n_pending), static_cast<int>(c->meta.m),
               static_cast<int>(c->meta.ef_construction));
    Datum values[5];
    bool nulls[5] = {false, false, true, true, false};
    values[0] = CStringGetTextDatum("info");
    values[1] = CStringGetTextDatum("summary");
    values[2] = values[3] = 0;
    values[4] = CStringGetTextDatum(detail);
    tuplestore_putvalues(c->store, c->desc, values, nulls);
}

}  // namespace
}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;

VECDB_FUNCTION(vecdb_index_check) {
    const Oid index_oid = PG_GETARG_OID(0);
    const bool heapallindexed = PG_GETARG_BOOL(1);
    const bool raise_error = PG_GETARG_BOOL(2);

    // Lock the table before the index (the order DML uses); re-check the
    // pairing once both are locked, as amcheck does.
    const Oid heap_oid = IndexGetRelation(index_oid, true);
    if (!OidIsValid(heap_oid))
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", get_rel_name(index_oid))));
    const LOCKMODE lockmode = RecoveryInProgress() ? AccessShareLock : ShareLock;
    Relation heap = table_open(heap_oid, lockmode);
    Relation index = index_open(index_oid, AccessShareLock);
    if (IndexGetRelation(index_oid, false) != heap_oid)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("index \"%s\" moved to another table",
                                                                 RelationGetRelationName(index))));
    if (!pg_class_ownercheck(heap_oid, GetUserId()))
        aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, RelationGetRelationName(heap));
    // Identify our access method by its code, not by a name anyone can reuse.
    if (index->rd_indam == nullptr || index->rd_indam->aminsert != vecdb_hnsw_insert)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
    if (RELATION_IS_OTHER_TEMP(index))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot check temporary indexes of other sessions")));
    if (!index->rd_index->indisvalid || !index->rd_index->indisready)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("index \"%s\" is not valid", RelationGetRelationName(index)),
                        errhint("REINDEX it, or drop it.")));

    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Check* c = static_cast<Check*>(palloc0(sizeof(Check)));
    c->index = index;
    c->heap = heap;
    c->store = rsinfo->setResult;
    c->desc = rsinfo->setDesc;
    c->meta.entry_id = kNoNode;
    c->nblocks = RelationGetNumberOfBlocks(index);

    char* page = static_cast<char*>(palloc(BLCKSZ));
    bool ok = c->nblocks > 0;
    if (!ok) report(c, true, kKindMeta, InvalidBlockNumber, kNoNode, "the index has no blocks");
    if (ok) {
        copy_block(c, kMetaBlock, page);
        ok = check_meta(c, page);
    }
    if (ok && !c->geometry_ok) {
        // Empty, dimension not known yet: only the metapage may exist.
        if (c->meta.entry_id != kNoNode || c->nblocks > 1)
            report(c, true, kKindMeta, kMetaBlock, kNoNode, "dimension 0 but %u blocks, entry %u", c->nblocks,
                   c->meta.entry_id);
        if (heapallindexed) check_heap_rows(c);
    } else if (ok) {
        const std::uint64_t cap =
            c->g.packed ? (static_cast<std::uint64_t>(c->nblocks) * kAreaBytes + c->g.slot_bytes - 1) / c->g.slot_bytes
                        : static_cast<std::uint64_t>(c->nblocks) * c->g.slots_per_page;
        if (cap >= kNoNode)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("index has too many slots to check")));
        c->capacity = static_cast<NodeId>(cap);
        MemoryContext mcx = CurrentMemoryContext;
        c->page_kind = static_cast<std::uint8_t*>(MemoryContextAllocHuge(mcx, c->nblocks));
        std::memset(c->page_kind, 0, c->nblocks);
        c->page_kind[kMetaBlock] = kPageMeta;
        c->state = static_cast<std::uint8_t*>(MemoryContextAllocHuge(mcx, c->capacity));
        std::memset(c->state, kNotASlot, c->capacity);
        c->level = static_cast<std::uint8_t*>(MemoryContextAllocHuge(mcx, c->capacity));
        std::memset(c->level, 0, c->capacity);
        c->reached = static_cast<std::uint8_t*>(MemoryContextAllocHuge(mcx, c->capacity));
        std::memset(c->reached, 0, c->capacity);
        c->tids = static_cast<ItemPointerData*>(MemoryContextAllocHuge(mcx, sizeof(ItemPointerData) * c->capacity));
        c->vec = static_cast<char*>(palloc(c->g.vec_bytes));
        c->vec2 = static_cast<char*>(palloc(c->g.vec_bytes));

        scan_pages(c);
        check_meta_pointers(c);
        check_links(c);
        check_reachability(c);
        check_heap_tids(c);
        check_pending(c);
        if (heapallindexed) check_heap_rows(c);
    }
    summary(c);

    index_close(index, AccessShareLock);
    table_close(heap, lockmode);
    if (raise_error && c->n_errors > 0)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("hnsw index \"%s\" is corrupted: %lld problems found", get_rel_name(index_oid),
                               static_cast<long long>(c->n_errors)),
                        errdetail("First: %s.", c->first_error),
                        errhint("REINDEX the index; run vecdb_index_check() for the full list.")));
    return static_cast<Datum>(0);
}
