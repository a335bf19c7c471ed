// hnsw index scans: ORDER BY emb <op> query [LIMIT k], with any WHERE.
//
// The first amgettuple runs the search: greedy descent through the upper
// levels, then the shared beam search on level 0 with ef = hnsw.ef_search.
// Results come back nearest first with exact distances (pages hold exact
// vectors), so xs_recheckorderby stays false; except with storage = float16,
// where the pages hold float16 copies of float32 rows: the search runs on
// the copies with the float32 query and reports lower bounds of the exact
// distances, which the executor re-checks and re-orders (hnsw_bound.cpp).
//
// hnsw.iterative_scan: when the beam's results are used up and the executor
// still asks (a WHERE filter rejected rows), the search continues where it
// stopped (core::ResumableSearch: its frontier and its pool of scored rows
// persist, visited marks too), so every round scores only nodes further out
// and returns the next rows in distance order; hnsw.max_scan_tuples bounds
// the nodes the whole scan scores. A later round can still find a node nearer
// than one already returned: relaxed_order returns it anyway (slightly out of
// order), strict_order drops it (never out of order); so does a row whose
// distance, checked when it is returned, turned out nearer than it was scored
// (next_ordered).
//
// A NULL query, or a zero query under cosine (distance undefined), cannot be
// searched: the scan then returns every indexed row in page order with a
// NULL (resp. NaN) distance, as the sort of a sequential scan would.
#include <algorithm>
#include <cmath>
#include <limits>

#include "vecdb/pg/guard.h"
#include "vecdb/pg/hnsw_graph.h"
#include "vecdb/pg/hnsw_pending.h"
#include "vecdb/pg/scan_distance.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_am_d.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace vecdb::pg::hnsw {
namespace {

// Patience watches the k nearest rows (the usual LIMIT; an index scan is not
// told the query's).
constexpr int kPatienceK = 10;
// Where the scan reports lower bounds (storage = float16), the executor asks
// for a row or two past the LIMIT to confirm the order of the exact
// distances (11 per LIMIT 10 on glove-100 and fashion-mnist): those come from
// the patient search too, rather than running it to its usual end first.
constexpr int kPatienceRecheckRows = 2;

enum class QueryKind { None, Vector, Unordered };

struct ScanOpaque {
    Geometry g;
    bool empty_geometry;  // index has no dimension yet: nothing to return
    char* query;          // vec_bytes, index form, 64-byte aligned (query_mem)
    char* query_mem;
    QueryKind kind;
    bool null_query;
    bool started;
    Workspace* ws;
    std::size_t pos;  // next result in ws->result
    int rounds;
    // Iterative scans were on when round 0 ran, so ws->resume holds this
    // scan's search; only then may later rounds continue it (turned on
    // afterwards — SET under an open cursor, or another session's ALTER
    // INDEX ... SET (iterative_scan) — the scan stays a single search).
    bool iterative;
    float last_dist;
    // hnsw.search_patience ended the search early (not iterative): the
    // (k+1)-th row asked for runs it to its usual end first (resumed).
    bool patient_stop;
    bool resumed;
    ScanStats stats;
    DistanceReport report;  // how distances are reported (set by the first gettuple)
    double query_sumsq;     // of the query as given (float16 storage)
    // Unordered walk.
    BlockNumber walk_blk;
    std::uint32_t walk_slot;
    BlockNumber walk_nblocks;
    MemoryContextCallback cb;
    // Pending list entries (hnsw_pending.cpp), loaded by the first gettuple.
    MemoryContext pending_cxt;
    PendingScan* pending;
    bool pending_loaded;
    // Recording returned rows' distances for the SQL distance function
    // (vecdb/pg/scan_distance.h): the heap column (0: not recorded; set by
    // rescan), the query as given (a copy, kept only when recording), and
    // how many returned rows in a row had their vector inline (the table
    // does not TOAST it).
    struct varlena* query_value;
    Size query_value_cap;
    AttrNumber heap_attno;
    int inline_rows;
};

// Below this many bytes a vector is rarely TOASTed (a row goes to TOAST past
// about 2 KB): its scans do not look.
constexpr std::uint32_t kToastableVectorBytes = 1024;
// Rows returned in a row with their vector inline before a scan stops looking.
constexpr int kInlineRowsBeforeGivingUp = 3;

// The heap column whose TOAST pointers this scan records, or 0.
AttrNumber recorded_column(IndexScanDesc scan, const ScanOpaque* so) {
    Relation heap = scan->heapRelation;
    // Heap tables only: the row is read straight from its page.
    if (heap == nullptr || !reuse_scan_distance_setting || heap->rd_rel->relam != HEAP_TABLE_AM_OID) return 0;
    // storage = float16 reports lower bounds, which are not the operator's
    // value; so the pages hold the column's own form from here on, and
    // vec_bytes is the column's size.
    if (so->g.float16_storage) return 0;
    // A halfvec column's cosine index holds rounded normalised copies: its
    // distance is not the operator's to within rounding.
    if (so->g.metric == core::Metric::Cosine && so->g.type == core::ElemType::F16) return 0;
    const AttrNumber attno = scan->indexRelation->rd_index->indkey.values[0];
    if (attno <= 0 || attno > RelationGetDescr(heap)->natts) return 0;  // an expression
    if (TupleDescAttr(RelationGetDescr(heap), attno - 1)->attstorage == TYPSTORAGE_PLAIN) return 0;
    return so->g.vec_bytes >= kToastableVectorBytes ? attno : 0;
}

// The TOAST pointer of column attno of the heap tuple at tid (following a
// HOT redirect to the chain's first live member: a HOT update never changes
// an indexed column, so the chain's values are equal bytes, and any pointer
// found names them); false if that value is not stored out of line.
bool external_value_at(Relation heap, ItemPointer tid, AttrNumber attno, varatt_external* out) {
    const BlockNumber blk = ItemPointerGetBlockNumber(tid);
    OffsetNumber off = ItemPointerGetOffsetNumber(tid);
    Buffer buf = ReadBuffer(heap, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    bool found = false;
    if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page)) {
        ItemId lp = PageGetItemId(page, off);
        if (ItemIdIsRedirected(lp)) {
            off = ItemIdGetRedirect(lp);
            lp = off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) ? PageGetItemId(page, off) : nullptr;
        }
        if (lp != nullptr && ItemIdIsNormal(lp)) {
            HeapTupleData tuple;
            tuple.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, lp));
            tuple.t_len = ItemIdGetLength(lp);
            tuple.t_tableOid = RelationGetRelid(heap);
            ItemPointerSet(&tuple.t_self, blk, off);
            bool isnull;
            const Datum d = heap_getattr(&tuple, attno, RelationGetDescr(heap), &isnull);
            found = !isnull && external_value(d, out);
        }
    }
    UnlockReleaseBuffer(buf);
    return found;
}

// After returning a row with an exact distance: record it for the executor's
// recomputation of the ORDER BY expression (vecdb/pg/scan_distance.h).
void record_returned(IndexScanDesc scan, ScanOpaque* so, float dist, double reported) {
    // +inf also stands for NaN (ordered_distance), which the operator returns as NaN.
    if (so->heap_attno == 0 || !std::isfinite(dist)) return;
    varatt_external value;
    if (!external_value_at(scan->heapRelation, &scan->xs_heaptid, so->heap_attno, &value)) {
        if (++so->inline_rows >= kInlineRowsBeforeGivingUp) so->heap_attno = 0;
        return;
    }
    so->inline_rows = 0;
    remember_scan_distance(so, value, so->g.type == core::ElemType::F16, so->g.metric, so->query_value, reported);
}

// Rows a patient search returns before it is run to its usual end.
std::size_t patient_rows(const ScanOpaque* so) {
    return static_cast<std::size_t>(kPatienceK + (so->report.lower_bound ? kPatienceRecheckRows : 0));
}

void release_on_reset(void* arg) {
    ScanOpaque* so = static_cast<ScanOpaque*>(arg);
    forget_scan_distance(so);
    release_workspace(so->ws);
    so->ws = nullptr;
}

// Greedy descent through the upper levels; returns the level-0 entry with
// fresh level-0 visited marks (nodes seen above must be scored again).
bool descend(PageGraph& graph, Workspace* ws, const MetaPage& meta, core::Candidate* entry) {
    float d;
    if (!graph.score(meta.entry_id, &d)) return false;
    core::Candidate cur{d, meta.entry_id};
    ws->visited.test_and_set(cur.id);
    for (int l = meta.entry_level; l >= 1; --l) {
        core::search_layer(graph, &cur, 1, l, 1, ws->visited, ws->result, nullptr, ws->frontier);
        if (!ws->result.empty()) cur = ws->result.front();
    }
    ws->visited.reset(graph.capacity());
    ws->visited.test_and_set(cur.id);
    *entry = cur;
    return true;
}

// Nodes an iterative round may still score: what hnsw.max_scan_tuples leaves.
std::size_t scan_budget(Relation index, const ScanOpaque* so) {
    const std::int64_t left = static_cast<std::int64_t>(scan_max_tuples(index)) - so->stats.visited;
    return left > 0 ? static_cast<std::size_t>(left) : 0;
}

// Runs the first search (round 0) or one more round of an iterative scan,
// leaving the round's rows in ws->result, nearest first. Returns false when
// there is nothing (more) to return.
//
// Without iterative scans: one search_layer with ef = hnsw.ef_search.
// With them: the level-0 search is a core::ResumableSearch kept in the
// workspace. Each round continues where the last one stopped (its frontier
// of unexpanded nodes and its pool of scored, not yet returned nodes), so it
// scores only nodes further out and returns the next ef nearest it knows.
// hnsw.max_scan_tuples bounds the nodes scored by the whole scan (checked
// before each expansion); once it is spent, rounds return what was already
// scored (no more distance computations) and then the scan ends.
bool search_round(IndexScanDesc scan, ScanOpaque* so) {
    Relation index = scan->indexRelation;
    Geometry& g = so->g;
    const std::size_t ef = static_cast<std::size_t>(scan_ef_search(index));
    const bool iterative = scan_iterative(index) != kIterOff;
    so->pos = 0;

    if (so->rounds == 0) {
        MetaPage meta;
        read_meta(index, &meta);
        if (meta.entry_id == kNoNode) return false;
        BlockNumber nblocks;
        const NodeId capacity = id_capacity(index, g, &nblocks);
        if (so->ws == nullptr) {
            so->ws = acquire_workspace(index, capacity, g.vec_bytes, nblocks);
        } else {
            Workspace* ws = so->ws;
            guarded([&] {
                ws->visited.reset(capacity);
                ws->excluded.reset(capacity);
            });
        }
        Workspace* ws = so->ws;
        PageGraph graph(index, g, so->query, ws, &so->stats, true);
        FilteredPageGraph level0(index, g, so->query, ws, &so->stats, true);
        so->rounds = 1;
        so->iterative = iterative;
        return guarded([&] {
            core::Candidate entry;
            if (!descend(graph, ws, meta, &entry)) return false;
            if (!iterative && search_patience_setting > 0) {
                const core::Patience patience{search_patience_setting, kPatienceK};
                so->patient_stop = core::search_layer_patient(level0, &entry, 1, 0, ef, ws->visited, ws->result,
                                                              ws->frontier, patience);
                return true;
            }
            if (!iterative) {
                core::search_layer(level0, &entry, 1, 0, ef, ws->visited, ws->result, nullptr, ws->frontier);
                return true;
            }
            ws->resume.start(level0, &entry, 1);
            ws->resume.next(level0, 0, ef, ws->visited, scan_budget(index, so), ws->result);
            return true;
        });
    }

    // A further round of an iterative scan.
    Workspace* ws = so->ws;
    if (!so->iterative || ws->resume.exhausted()) return false;
    FilteredPageGraph level0(index, g, so->query, ws, &so->stats, true);
    const std::size_t budget = scan_budget(index, so);
    guarded([&] { ws->resume.next(level0, 0, ef, ws->visited, budget, ws->result); });
    ++so->rounds;
    return !ws->result.empty();
}

// A search that patience ended: past its k nearest, the executor wants more
// (a larger LIMIT, or a WHERE clause rejected rows), so run it to its usual
// end. The rows already returned are excluded (accept() and the returned
// marks), and one found nearer than the last returned is dropped so that the
// stream stays in order (returned, out of order, under relaxed_order).
void resume_patient(IndexScanDesc scan, ScanOpaque* so) {
    Workspace* ws = so->ws;
    FilteredPageGraph level0(scan->indexRelation, so->g, so->query, ws, &so->stats, true);
    const std::size_t ef = static_cast<std::size_t>(scan_ef_search(scan->indexRelation));
    guarded([&] { core::resume_layer(level0, 0, ef, ws->visited, ws->result, ws->frontier); });
    so->patient_stop = false;
    so->resumed = true;
    so->pos = 0;
}

// A row about to be returned (ws->result[so->pos - 1]) scored differently
// under the lock than in the search: the search read it without a pin
// (PageGraph::expand) while its buffer left and came back, or vacuum and an
// insert reused its slot. Move it among the rows still to come, at its true
// distance (no stale copy stays behind for a patience resume, which rebuilds
// from the whole list); false when that is nearer than a row already
// returned: returning it would break the order (the caller drops it unless
// hnsw.iterative_scan is relaxed_order).
bool requeue(Workspace* ws, ScanOpaque* so, core::Candidate c) {
    if (c.dist < so->last_dist) return false;
    std::vector<core::Candidate>& r = ws->result;
    std::size_t at = --so->pos;  // the stale entry
    while (at + 1 < r.size() && r[at + 1].dist <= c.dist) {
        r[at] = r[at + 1];
        ++at;
    }
    r[at] = c;
    return true;
}

bool next_ordered(IndexScanDesc scan, ScanOpaque* so) {
    for (;;) {
        Workspace* ws = so->ws;
        if (ws != nullptr) {
            for (;;) {
                if (so->patient_stop && so->pos >= patient_rows(so)) resume_patient(scan, so);
                if (so->pos >= ws->result.size()) break;
                const core::Candidate c = ws->result[so->pos++];
                // Defensive: a node is returned at most once.
                if (ws->excluded.test(c.id)) continue;
                // Nearer than a row already returned (a later round, or a
                // patience resume): relaxed_order returns it out of order,
                // otherwise it is dropped so that the stream stays in order.
                // A patience resume keeps the order whatever the setting says
                // now (it can only have started with iterative scans off).
                const bool keep_order = so->resumed || scan_iterative(scan->indexRelation) != kIterRelaxed;
                if ((so->resumed || so->rounds > 1) && c.dist < so->last_dist && keep_order) {
                    ws->excluded.test_and_set(c.id);
                    continue;
                }
                PageGraph graph(scan->indexRelation, so->g, so->query, ws, &so->stats, true);
                float now = c.dist;
                const bool single_block = so->g.blocks_per_slot == 1;
                const bool live = graph.live_tid(c.id, &scan->xs_heaptid, single_block ? &now : nullptr);
                // graph distances are never NaN (ordered_distance)
                if (live && now != c.dist && requeue(ws, so, core::Candidate{now, c.id})) continue;
                ws->excluded.test_and_set(c.id);
                // A re-scored row nearer than one already returned: the same
                // rule as above, at its true distance.
                if (!live || (now != c.dist && keep_order)) continue;
                const double reported = report_distance(so->report, now);
                if (scan->numberOfOrderBys > 0) {
                    scan->xs_orderbyvals[0] = Float8GetDatum(reported);
                    scan->xs_orderbynulls[0] = false;
                }
                scan->xs_recheckorderby = so->report.lower_bound;
                record_returned(scan, so, now, reported);
                so->last_dist = std::max(so->last_dist, now);
                ++so->stats.returned;
                return true;
            }
        }
        if (so->rounds > 0 && scan_iterative(scan->indexRelation) == kIterOff) return false;
        if (!search_round(scan, so)) return false;
    }
}

// NULL / zero-cosine query: every live slot, in page order.
bool next_unordered(IndexScanDesc scan, ScanOpaque* so) {
    Relation index = scan->indexRelation;
    const Geometry& g = so->g;
    if (!so->started) {
        so->walk_blk = 1;
        so->walk_slot = 0;
        so->walk_nblocks = RelationGetNumberOfBlocks(index);
        so->started = true;
    }
    while (so->walk_blk < so->walk_nblocks) {
        Buffer buf = ReadBuffer(index, so->walk_blk);
        ++so->stats.buffer_accesses;
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        bool found = false;
        if (page_opaque(page)->kind == kPageElement) {
            while (so->walk_slot < g.slots_on(so->walk_blk)) {
                const SlotHeader* h = slot_header(slot_ptr(page, g, so->walk_blk, so->walk_slot++));
                if (h->state != kSlotLive) continue;
                scan->xs_heaptid = h->tid;
                found = true;
                break;
            }
        }
        UnlockReleaseBuffer(buf);
        if (found) {
            if (scan->numberOfOrderBys > 0) {
                scan->xs_orderbyvals[0] = Float8GetDatum(std::numeric_limits<double>::quiet_NaN());
                scan->xs_orderbynulls[0] = so->null_query;
            }
            scan->xs_recheckorderby = false;
            ++so->stats.returned;
            return true;
        }
        ++so->walk_blk;
        so->walk_slot = 0;
    }
    return false;
}

bool graph_next_ordered(IndexScanDesc scan, void* so) { return next_ordered(scan, static_cast<ScanOpaque*>(so)); }
bool graph_next_unordered(IndexScanDesc scan, void* so) { return next_unordered(scan, static_cast<ScanOpaque*>(so)); }

// Rows still on the pending list are scored exactly and merged into the
// graph's stream (hnsw_pending.cpp).
bool next_with_pending(IndexScanDesc scan, ScanOpaque* so, bool ordered) {
    if (!so->pending_loaded) {
        so->pending_loaded = true;
        so->report = DistanceReport{};
        so->report.metric = so->g.metric;
        if (ordered && so->g.float16_storage) {
            // The bounds need the error of every row this scan can see: all
            // were indexed, raising round_err_max, before its snapshot.
            MetaPage meta;
            read_meta(scan->indexRelation, &meta);
            distance_report_for(so->g, meta, so->query, so->query_sumsq, &so->report);
        }
        MemoryContext old = MemoryContextSwitchTo(so->pending_cxt);
        pending_scan_load(scan->indexRelation, so->g, ordered ? so->query : nullptr, &so->pending);
        MemoryContextSwitchTo(old);
    }
    if (so->pending == nullptr) return ordered ? next_ordered(scan, so) : next_unordered(scan, so);
    return pending_scan_next(scan, so->pending, so->report, ordered ? graph_next_ordered : graph_next_unordered, so,
                             !ordered, so->null_query);
}

// Keeps the query as given (detoasted), in the scan's memory: the distance
// function compares its argument with it.
void keep_query_value(ScanOpaque* so, Datum query) {
    struct varlena* q = PG_DETOAST_DATUM(query);
    const Size n = VARSIZE(q);
    if (so->query_value_cap < n) {
        if (so->query_value != nullptr) pfree(so->query_value);
        so->query_value = static_cast<struct varlena*>(MemoryContextAlloc(GetMemoryChunkContext(so), n));
        so->query_value_cap = n;
    }
    std::memcpy(so->query_value, q, n);
    if (q != reinterpret_cast<struct varlena*>(DatumGetPointer(query))) pfree(q);
}

}  // namespace
}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;
using vecdb::pg::forget_scan_distance;
using vecdb::pg::guarded;

IndexScanDesc vecdb_hnsw_beginscan(Relation index, int nkeys, int norderbys) {
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    // The AM owns the ORDER BY value arrays.
    scan->xs_orderbyvals = static_cast<Datum*>(palloc0(sizeof(Datum) * std::max(norderbys, 1)));
    scan->xs_orderbynulls = static_cast<bool*>(palloc(sizeof(bool) * std::max(norderbys, 1)));
    scan->xs_orderbynulls[0] = true;
    ScanOpaque* so = static_cast<ScanOpaque*>(palloc0(sizeof(ScanOpaque)));
    MetaPage meta;
    read_meta(index, &meta);
    geometry_from_meta(&meta, so->g);
    so->empty_geometry = meta.dim == 0;
    // The kernels start at their first argument's alignment (the query's),
    // so a fixed alignment makes every scan of one query sum in the same
    // order: equal distances, hence the same rows among near-ties, each time.
    so->query_mem = static_cast<char*>(palloc0(std::max<std::size_t>(query_bytes(so->g), 8) + 64));
    so->query = reinterpret_cast<char*>(TYPEALIGN(64, so->query_mem));
    so->kind = QueryKind::None;
    so->pending_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw pending scan", ALLOCSET_DEFAULT_SIZES);
    so->cb.func = release_on_reset;
    so->cb.arg = so;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &so->cb);
    scan->opaque = so;
    return scan;
}

void vecdb_hnsw_rescan(IndexScanDesc scan, ScanKey /*keys*/, int /*nkeys*/, ScanKey orderbys, int norderbys) {
    ScanOpaque* so = static_cast<ScanOpaque*>(scan->opaque);
    so->started = false;
    so->rounds = 0;
    so->iterative = false;
    so->pos = 0;
    so->patient_stop = false;
    so->resumed = false;
    so->last_dist = -std::numeric_limits<float>::infinity();
    so->stats = ScanStats{};
    so->null_query = false;
    so->pending = nullptr;
    so->pending_loaded = false;
    MemoryContextReset(so->pending_cxt);
    forget_scan_distance(so);
    so->heap_attno = 0;
    so->inline_rows = 0;
    if (so->ws != nullptr) so->ws->result.clear();
    if (norderbys == 0 || orderbys == nullptr) {
        // No ORDER BY: the planner never asks (cost is prohibitive), but
        // answer correctly anyway.
        so->kind = QueryKind::Unordered;
        so->null_query = true;
        return;
    }
    if (orderbys[0].sk_flags & SK_ISNULL) {
        so->kind = QueryKind::Unordered;
        so->null_query = true;
        return;
    }
    if (so->empty_geometry) {
        so->kind = QueryKind::None;
        return;
    }
    so->query_sumsq = 0;
    const bool ok = prepare_query(orderbys[0].sk_argument, so->g, so->query, &so->query_sumsq);
    so->kind = ok ? QueryKind::Vector : QueryKind::Unordered;
    if (ok && (so->heap_attno = recorded_column(scan, so)) != 0) keep_query_value(so, orderbys[0].sk_argument);
}

bool vecdb_hnsw_gettuple(IndexScanDesc scan, ScanDirection /*dir*/) {
    ScanOpaque* so = static_cast<ScanOpaque*>(scan->opaque);
    // A record is only for the row just returned: the executor projects that
    // row before asking for the next (or skips it if it is invisible).
    forget_scan_distance(so);
    if (!IsMVCCSnapshot(scan->xs_snapshot))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("hnsw index scans need an MVCC snapshot")));
    bool found = false;
    switch (so->kind) {
        case QueryKind::None:
            break;
        case QueryKind::Vector:
            if (!so->started) {
                so->started = true;
                pgstat_count_index_scan(scan->indexRelation);
            }
            found = next_with_pending(scan, so, true);
            break;
        case QueryKind::Unordered:
            found = next_with_pending(scan, so, false);
            break;
    }
    last_scan_stats = so->stats;
    return found;
}

void vecdb_hnsw_endscan(IndexScanDesc scan) {
    ScanOpaque* so = static_cast<ScanOpaque*>(scan->opaque);
    forget_scan_distance(so);
    last_scan_stats = so->stats;
    release_workspace(so->ws);
    so->ws = nullptr;
    pfree(so->query_mem);
    // so itself stays until its context goes (the reset callback points at it).
}
