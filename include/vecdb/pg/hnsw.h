// The hnsw index access method: on-page layout and the declarations its
// files share. docs/hnsw.md explains the design; this header is the contract
// between hnsw_handler.cpp, hnsw_page.cpp, hnsw_build.cpp, hnsw_insert.cpp,
// hnsw_scan.cpp, hnsw_vacuum.cpp and hnsw_cost.cpp.
//
// Block 0 is the metapage. Element pages hold fixed-size slots; a node id is
// its location, in one of three layouts (Geometry):
//  - classic: id = blkno * slots_per_page + slot, slots never cross a page;
//  - packed (a slot fits a page, but whole slots would waste much of it):
//    slots lie back to back over the slot areas of all blocks, id i at byte
//    i * slot_bytes of that stream, so block = i * slot_bytes / kAreaBytes.
//    A slot's header and level-0 list always lie on its head block (ids whose
//    header would cross a page boundary are holes, never used); its vector
//    may continue at the start of the next block's area ("straddles"), which
//    must then be an element page too;
//  - multi-block (a slot larger than a page): blocks_per_slot consecutive
//    blocks and slots_per_page = 1 (id = first block).
// Upper-level neighbour lists of the few nodes with level > 0 are items on
// separate "upper" pages.
//
// Slot (MAXALIGNed, slot_bytes long):
//   SlotHeader (16 B) | level-0 neighbour ids: uint32[2m] | vector
// The vector is float32 (vector opclasses) or float16 bits (halfvec), the
// normalised copy for cosine. Upper record (one item on an upper page):
//   for l in 1..level: uint32 count, uint32 ids[m]
#pragma once
#include <cstdint>
#include <cstring>

#include "vecdb/core/hnsw.h"
#include "vecdb/pg/pg_includes.h"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/relscan.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/rel.h"
}

namespace vecdb::pg::hnsw {

namespace core = vecdb::core::hnsw;
using core::NodeId;
using core::kNoNode;

constexpr std::uint32_t kMagic = 0x56444248;  // "VDBH"
constexpr std::uint32_t kVersion = 2;  // 2: packed layout; pending list (fields at the end of MetaPage)
// storage = float16 indexes say 3, so that builds without it refuse them;
// version 2 metapages end before float16_storage (read as zeros).
constexpr std::uint32_t kVersionFloat16 = 3;
constexpr BlockNumber kMetaBlock = 0;

// Page kinds, in the special space of every page.
// kPageContinuation: the 2nd.. blocks of a slot that spans blocks.
// kPagePending: a page of the pending list (include/vecdb/pg/hnsw_pending.h);
// kPagePendingFree: a pending page taken off the list, for reuse (via FSM).
enum PageKind : std::uint16_t {
    kPageMeta = 1, kPageElement = 2, kPageUpper = 3, kPageContinuation = 4, kPagePending = 5, kPagePendingFree = 6
};

struct PageOpaque {
    std::uint16_t kind;
    std::uint16_t unused;
    std::uint32_t magic;  // kMagic: tells our pages apart in dumps
};

// Slot states. A free slot may be (re)used by an insert; a deleted one still
// carries its links (scans walk through it) until vacuum frees it.
enum SlotState : std::uint8_t { kSlotFree = 0, kSlotLive = 1, kSlotDeleted = 2 };

struct SlotHeader {
    ItemPointerData tid;      // heap tuple
    std::uint8_t level;       // 0..kMaxLevel
    std::uint8_t state;       // SlotState
    std::uint16_t n0;         // level-0 neighbour count
    OffsetNumber upper_off;   // upper record item (level > 0)
    BlockNumber upper_blk;
};
static_assert(sizeof(SlotHeader) == 16, "slot header is 16 bytes");

constexpr int kMaxFreeBlocks = 64;
// Free space map values (the map is a hint, not WAL-logged). Reclaimed
// pending pages are recorded as empty (RecordFreeIndexPage) and found by the
// pending list's GetFreeIndexPage (a BLCKSZ/2 request); element pages with
// free slots beyond the metapage list are recorded as kFsmElementFree, below
// that request, so the list never takes them. Slot allocation asks for
// kFsmElementFree and so finds both kinds.
constexpr Size kFsmElementFree = BLCKSZ / 4;

// Lives at PageGetContents(metapage); pd_lower covers it (full-page images
// keep it).
struct MetaPage {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint32_t dim;  // 0 until the first vector arrives (empty build)
    std::uint8_t metric;
    std::uint8_t elem_type;
    std::uint16_t m;
    std::uint16_t ef_construction;
    std::uint16_t slots_per_page;
    std::uint16_t blocks_per_slot;
    std::uint16_t packed;  // 1: packed layout (slots may straddle two blocks)
    std::uint32_t slot_bytes;
    NodeId entry_id;  // kNoNode when the graph is empty
    std::int32_t entry_level;
    BlockNumber insert_block;  // last element block: append target
    BlockNumber upper_block;   // last upper block: where new records go
    std::uint64_t live_nodes;  // approximate (statistics only)
    std::uint32_t n_free_blocks;
    BlockNumber free_blocks[kMaxFreeBlocks];  // blocks with free slots (vacuum)
    // Pending list (version 2; hnsw_pending.h): rows inserted but not yet
    // linked into the graph. pending_count counts the entries on the list's
    // pages, merged ones included until their page leaves the list.
    BlockNumber pending_head;  // InvalidBlockNumber: no pending page
    BlockNumber pending_tail;
    std::uint64_t pending_count;
    // storage = float16 on a float32 column (zeros in older metapages: not
    // such an index). The pages hold float16 copies; a scan reports lower
    // bounds of the exact distances, which the executor re-checks (docs/hnsw.md
    // "float16 storage"). The bounds need the largest rounding error of any
    // row ever indexed (the metric's norm of float32 row - its float16 copy;
    // cosine: of the normalised row) and the largest 2-norm of a copy. Inserts
    // raise them (WAL-logged) before their row can be seen; nothing lowers them.
    std::uint32_t float16_storage;
    std::uint32_t unused;  // zero
    double round_err_max;
    double copy_norm_max;
};

// Bytes of the slot area of a page (between header and special space).
constexpr std::size_t kAreaStart = MAXALIGN(SizeOfPageHeaderData);
constexpr std::size_t kAreaBytes = BLCKSZ - kAreaStart - MAXALIGN(sizeof(PageOpaque));

// Geometry and metric of one index, read from its metapage.
struct Geometry {
    std::uint32_t dim = 0;
    core::Metric metric = core::Metric::L2;
    core::ElemType type = core::ElemType::F32;
    int m = 16;
    int ef_construction = 64;
    // Classic and multi-block: slots on each page. Packed: the most slot
    // heads a page can hold (array sizing only; slots_on() is exact).
    std::uint32_t slots_per_page = 0;
    std::uint32_t blocks_per_slot = 1;
    std::uint32_t slot_bytes = 0;
    std::uint32_t vec_bytes = 0;
    std::uint32_t vec_offset = 0;    // within the slot
    std::uint32_t upper_bytes_per_level = 0;
    bool packed = false;
    // The column is float32, the pages hold float16 copies (type is F16).
    bool float16_storage = false;

    core::Space space() const {
        core::Space s;
        s.metric = metric;
        s.type = type;
        s.dim = dim;
        return s;
    }
    // Byte of the packed stream where slot id starts.
    std::uint64_t stream_pos(NodeId id) const { return static_cast<std::uint64_t>(id) * slot_bytes; }
    BlockNumber block_of(NodeId id) const {
        return packed ? static_cast<BlockNumber>(stream_pos(id) / kAreaBytes) : id / slots_per_page;
    }
    // Byte offset of slot id within its head block's slot area.
    std::uint32_t offset_of(NodeId id) const {
        return packed ? static_cast<std::uint32_t>(stream_pos(id) % kAreaBytes) : (id % slots_per_page) * slot_bytes;
    }
    // First id whose slot starts on blk (packed: may be a hole, see slots_on).
    NodeId first_id(BlockNumber blk) const {
        if (!packed) return blk * slots_per_page;
        return static_cast<NodeId>((static_cast<std::uint64_t>(blk) * kAreaBytes + slot_bytes - 1) / slot_bytes);
    }
    // Slots whose header and level-0 list lie on blk (s = 0 .. slots_on - 1).
    std::uint32_t slots_on(BlockNumber blk) const {
        if (!packed) return slots_per_page;
        // Heads start in [blk * area, (blk + 1) * area - vec_offset].
        const std::uint64_t last = (static_cast<std::uint64_t>(blk) + 1) * kAreaBytes - vec_offset;
        return static_cast<std::uint32_t>(last / slot_bytes + 1 - first_id(blk));
    }
    std::uint32_t slot_of(NodeId id) const { return id - first_id(block_of(id)); }
    NodeId id_of(BlockNumber blk, std::uint32_t slot) const { return first_id(blk) + slot; }
    // Packed ids whose header would cross a page boundary are never used.
    bool is_hole(NodeId id) const { return packed && offset_of(id) + vec_offset > kAreaBytes; }
    // Vector bytes of slot id on its head block; the rest (straddling slot)
    // starts the next block's slot area.
    std::uint32_t head_vec_bytes(NodeId id) const {
        if (!packed) return vec_bytes;
        const std::uint32_t room = static_cast<std::uint32_t>(kAreaBytes) - offset_of(id) - vec_offset;
        return room < vec_bytes ? room : vec_bytes;
    }
    bool straddles(NodeId id) const { return packed && offset_of(id) + slot_bytes > kAreaBytes; }
};

// Fills geometry for dim/metric/type/m (slots per page, blocks per slot).
void compute_geometry(Geometry& g, std::uint32_t dim, core::Metric metric, core::ElemType type,
                      int m, int ef_construction);

inline PageOpaque* page_opaque(Page page) { return reinterpret_cast<PageOpaque*>(PageGetSpecialPointer(page)); }
inline MetaPage* page_meta(Page page) { return reinterpret_cast<MetaPage*>(PageGetContents(page)); }
inline bool is_element_page(Page page) { return !PageIsNew(page) && page_opaque(page)->kind == kPageElement; }
// Slot s of block blk (s < g.slots_on(blk)), on that block's page.
inline char* slot_ptr(Page page, const Geometry& g, BlockNumber blk, std::uint32_t s) {
    return reinterpret_cast<char*>(page) + kAreaStart + g.offset_of(g.id_of(blk, s));
}
// Slot id on the page of its head block (g.block_of(id)).
inline char* slot_ptr_id(Page page, const Geometry& g, NodeId id) {
    return reinterpret_cast<char*>(page) + kAreaStart + g.offset_of(id);
}
inline SlotHeader* slot_header(char* slot) { return reinterpret_cast<SlotHeader*>(slot); }
inline std::uint32_t* slot_neighbors(char* slot) { return reinterpret_cast<std::uint32_t*>(slot + sizeof(SlotHeader)); }

// Page initialisers (the page is a buffer copy or a palloc'd image).
void init_meta_page(Page page, const Geometry& g);
void init_element_page(Page page, bool continuation = false);
void init_upper_page(Page page);
void geometry_from_meta(const MetaPage* meta, Geometry& g);
// A metapage copy of version 2 ends before the float16 fields: zero them.
inline void clear_fields_beyond_version(MetaPage* m) {
    if (m->version != kVersion) return;
    m->float16_storage = 0;
    m->round_err_max = 0;
    m->copy_norm_max = 0;
}
// A row's rounding error or copy norm (prepare_vector) beyond the metapage's.
inline bool exceeds_float16_bounds(const MetaPage& m, double round_err, double copy_norm) {
    return round_err > m.round_err_max || copy_norm > m.copy_norm_max;
}
// The distance from a query to the index's vectors: a scan's query is
// float32 (float32_query) even where the pages hold float16 copies; inserts
// and vacuum search with a vector in the pages' own form.
inline bool mixed_precision(const Geometry& g, bool float32_query) { return g.float16_storage && float32_query; }
inline core::DistFn query_distance(const Geometry& g, bool float32_query) {
    return mixed_precision(g, float32_query) ? core::resolve_mixed_distance(g.metric)
                                             : core::resolve_distance(g.metric, g.type);
}

// Reads the metapage (share lock, released on return).
void read_meta(Relation index, MetaPage* out);

// Copies a slot's header, level-0 list (if nbrs) and vector (if vec);
// false if the id cannot be a slot or the block is no element page.
bool read_slot(Relation index, const Geometry& g, NodeId id, SlotHeader* hdr, NodeId* nbrs, void* vec);
// The same from a buffer the caller pinned (id's block), which is locked
// here and released on return.
bool read_slot_pinned(Relation index, const Geometry& g, NodeId id, Buffer buf, SlotHeader* hdr, NodeId* nbrs,
                      void* vec);
// Where an insert puts a node in the packed layout: head block (share of the
// slot with header and list) and, for a straddling slot, the tail block,
// both exclusively locked (ascending block order), fresh ones still to be
// initialised. Free-list entries used up: pops; insert_block: the new
// append target (InvalidBlockNumber: unchanged).
struct SlotTarget {
    Buffer head = InvalidBuffer;
    Buffer tail = InvalidBuffer;
    bool head_fresh = false;
    bool tail_fresh = false;
    std::uint32_t slot = 0;
    int pops = 0;
    BlockNumber insert_block = InvalidBlockNumber;
};
// Block blk locked in `mode` if it is an element page, else InvalidBuffer
// (nothing held). blk must exist.
Buffer lock_element_page(Relation index, BlockNumber blk, int mode);
// One lookup in the free space map for slots (kFsmElementFree): the block,
// exclusively locked, when it is an element page; else InvalidBuffer, with
// *empty set when the map had nothing. Reclaimed pending pages, which the
// request also finds, are left to the pending list; other pages are taken
// out of the map.
Buffer fsm_element_block(Relation index, bool* empty);
// Picks a free slot (the metapage's free list, the free space map, its
// insert block, then new blocks); meta is exclusively locked by the caller.
void choose_packed_slot(Relation index, const Geometry& g, const MetaPage* meta, SlotTarget* t);
// Writes a whole slot image over its head page (and tail page).
void put_packed_slot(Page head, Page tail, const Geometry& g, NodeId id, const char* image);

// The list of a node at level >= 1 (hdr from read_slot); returns the count.
int read_upper_list(Relation index, const Geometry& g, const SlotHeader& hdr, int level, NodeId* out);
// Which bytes of the vector block k of a slot holds (k = 0: the head).
inline void vector_part(const Geometry& g, std::uint32_t k, std::size_t* off, std::size_t* len) {
    const std::size_t head = kAreaBytes - g.vec_offset;
    if (k == 0) {
        *off = 0;
        *len = g.vec_bytes < head ? g.vec_bytes : head;
        return;
    }
    *off = head + (k - 1) * kAreaBytes;
    const std::size_t rest = g.vec_bytes > *off ? g.vec_bytes - *off : 0;
    *len = rest < kAreaBytes ? rest : kAreaBytes;
}

// Opclass -> metric and element type (support function 1 returns a code).
void opclass_metric(Relation index, core::Metric* metric, core::ElemType* type);

// Prepares a vector datum for the index: copies it into dst (geometry's
// element type) and normalises it for cosine. Returns false for a vector
// the index cannot hold (zero norm under cosine). Raises on wrong dims.
// Returns the datum's dimension in *dim_out when dst is null (probe).
std::uint32_t datum_dim(Datum value, core::ElemType type);
// With g.float16_storage, dst gets the float16 copy and, when asked for,
// *round_err its rounding error and *copy_norm its 2-norm (see MetaPage);
// components beyond float16's range raise an error.
bool prepare_vector(Datum value, const Geometry& g, void* dst, double* round_err = nullptr,
                    double* copy_norm = nullptr);
// The query of a scan: float32 (the column's type) even for float16 storage.
std::uint32_t query_bytes(const Geometry& g);
bool prepare_query(Datum value, const Geometry& g, void* dst, double* sumsq = nullptr);

// What an ordered scan reports as a row's ORDER BY value, from the graph's
// internal distance d (L2: squared): the exact distance, or with float16
// storage a lower bound of the distance PostgreSQL computes from the heap
// row (xs_recheckorderby; hnsw_bound.cpp has the derivation). Nondecreasing
// in d, so a stream in d order is in order of the reported values.
struct DistanceReport {
    core::Metric metric = core::Metric::L2;
    bool lower_bound = false;
    std::uint32_t dim = 0;
    double err = 0;         // round_err_max
    double norm = 0;        // copy_norm_max
    double query_norm = 0;  // inner product: the query's 2-norm (an upper bound)
    // No useful bound exists for this query (its float32 sums could
    // overflow in PostgreSQL's own distance): every row reports the lowest
    // value the exact distance can take, and the executor sorts them all.
    bool unbounded = false;
};
// Cosine under storage = float16: rows and queries whose sum of squares
// lies outside [kCosineSumsqMin, kCosineSumsqMax] would leave float32's
// normal range inside PostgreSQL's cosine (its accuracy bound then fails).
constexpr double kCosineSumsqMin = 0x1p-100;
constexpr double kCosineSumsqMax = 0x1p+120;
// query_sumsq: the sum of squares of the query as given (before any
// normalisation).
void distance_report_for(const Geometry& g, const MetaPage& meta, const void* query, double query_sumsq,
                         DistanceReport* out);
double report_distance(const DistanceReport& r, float d);

// Options (reloptions) and settings.
struct Options {
    int32 vl_len_;
    int m;
    int ef_construction;
    int pending_list_limit;  // kB; -1: hnsw.pending_list_limit, 0: no pending list
    int storage;             // StorageOption
    // Index-level defaults of search settings; -1: not set on this index.
    int ef_search;
    int iterative_scan;  // IterativeScan
    int max_scan_tuples;
};
enum StorageOption : int { kStorageColumn = 0, kStorageFloat32 = 1, kStorageFloat16 = 2 };
int option_storage(Relation index);
int option_m(Relation index);
int option_ef_construction(Relation index);

extern int ef_search_setting;
extern int search_patience_setting;  // hnsw.search_patience (0: off)
extern bool pin_free_reads_setting;  // hnsw.pin_free_reads
extern int iterative_scan_setting;  // IterativeScan
extern int max_scan_tuples_setting;
extern int pending_list_limit_setting;  // kB, 0: off
int option_pending_list_limit(Relation index);  // kB in effect for this index
enum IterativeScan : int { kIterOff = 0, kIterRelaxed = 1, kIterStrict = 2 };

// The search settings in effect for a scan of `index`, read at each use (a
// cursor sees a SET made while it is open). Precedence: a value the session
// set itself (SET, SET LOCAL, a function's SET clause, connection options);
// else the index's own option (CREATE INDEX ... WITH, ALTER INDEX ... SET);
// else the setting as the server, database or role defaults left it.
int scan_ef_search(Relation index);
int scan_iterative(Relation index);  // IterativeScan
int scan_max_tuples(Relation index);

// Build progress subphases (ambuildphasename).
constexpr int kPhaseLoad = 2;
constexpr int kPhaseGraph = 3;
constexpr int kPhaseWrite = 4;

// Per-scan counters of the last scan in this backend.
struct ScanStats {
    std::int64_t distances = 0;
    std::int64_t buffer_accesses = 0;
    std::int64_t visited = 0;
    std::int64_t returned = 0;
};
extern ScanStats last_scan_stats;

}  // namespace vecdb::pg::hnsw

// Access-method callbacks (C linkage not needed: Postgres reaches them
// through the IndexAmRoutine the handler returns).
IndexBuildResult* vecdb_hnsw_build(Relation heap, Relation index, IndexInfo* info);
void vecdb_hnsw_buildempty(Relation index);
bool vecdb_hnsw_insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
                       IndexUniqueCheck check, bool indexUnchanged, IndexInfo* info);
IndexBulkDeleteResult* vecdb_hnsw_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                             IndexBulkDeleteCallback callback, void* state);
IndexBulkDeleteResult* vecdb_hnsw_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
void vecdb_hnsw_costestimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup, Cost* total,
                             Selectivity* selectivity, double* correlation, double* pages);
IndexScanDesc vecdb_hnsw_beginscan(Relation index, int nkeys, int norderbys);
void vecdb_hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool vecdb_hnsw_gettuple(IndexScanDesc scan, ScanDirection dir);
void vecdb_hnsw_endscan(IndexScanDesc scan);

// Called once from _PG_init: settings and the reloption kind.
void vecdb_hnsw_init(void);
