// Planner cost of an hnsw scan, grounded in what a search does: it scores
// some number of nodes (distance computations) and makes buffer accesses to
// read them. Both grow with hnsw.ef_search and m, slowly with the index size;
// a distance costs more the longer the vector. See docs/hnsw.md ("Planner
// cost") for the measurements behind the constants.
//
// Units. The planner prices a sequential scan + top-N sort per row (tuple,
// operator call, sort comparison, page share) the same whatever the vector
// length, and knows nothing of the TOAST fetch each long vector costs; in
// time such a row costs ~0.1 us at 16 dimensions, ~2.5 us at 784 (toasted).
// So the search is priced by its estimated time *in rows of that sequential
// scan*: cost = search time / time of one seq-scan row x the planner's cost
// of one seq-scan row. The index then wins exactly where its search takes
// less time than scanning the table (fashion-mnist, 784 dims, ef_search 640:
// 2 ms vs 150 ms, which the former page-touch model priced above the
// sequential scan), and a tiny table still goes to the sequential scan.
// All of the search is startup cost: the first row needs it all.
// Without ORDER BY an hnsw scan is useless: infinite cost.
#include <algorithm>
#include <cmath>

#include "vecdb/pg/hnsw.h"

extern "C" {
#include "access/relation.h"
#include "optimizer/cost.h"
#include "optimizer/plancat.h"
#include "optimizer/optimizer.h"
#include "access/heaptoast.h"
#include "catalog/pg_type.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
}

namespace vecdb::pg::hnsw {

// Scored nodes per search ~ kScoredPerEf * ef * m / 16 + m * log2(N), from
// vecdb_last_scan_stats() on glove-100 (850 at ef 40, 2,461 at ef 160, 4,337
// at ef 320); an upper bound for easier data (fashion-mnist: 383 at ef 40,
// 1,710 at ef 640).
constexpr double kScoredPerEf = 13.0;
// Measured times (docs/hnsw.md "Planner cost"; backend CPU time, cached data):
// an index buffer access (pin through the block hint, descriptor and slot
// misses); a distance, fixed part and per KB of vector (memory traffic and
// kernel); a sequential-scan row besides its distance (deform, top-N insert);
// a TOAST fetch of an out-of-line vector, fixed part and per chunk.
constexpr double kAccessNs = 100.0;
constexpr double kDistanceNs = 20.0;
constexpr double kDistancePerKbNs = 200.0;
constexpr double kSeqRowNs = 90.0;
constexpr double kToastFetchNs = 800.0;
constexpr double kToastChunkNs = 500.0;

// Geometry from the column's declared dimension (none declared: priced as
// short vectors; the metapage is not read at planning time).
// pages: the geometry of the index pages (storage = float16 on a float32
// column: float16 slots), else of the column's values.
void cost_geometry(Relation index, Geometry* g, bool pages) {
    core::Metric metric;
    core::ElemType type;
    opclass_metric(index, &metric, &type);
    if (pages && type == core::ElemType::F32 && option_storage(index) == kStorageFloat16) type = core::ElemType::F16;
    const int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
    const std::uint32_t dim = typmod > 0 ? static_cast<std::uint32_t>(typmod) : 1;
    compute_geometry(*g, dim, metric, type, option_m(index), option_ef_construction(index));
}

// Time of one row of a sequential scan + top-N sort on this column.
double seq_row_ns(Relation index, const Geometry& g) {
    double ns = kSeqRowNs + kDistanceNs + kDistancePerKbNs * g.vec_bytes / 1024.0;
    const std::size_t datum = g.vec_bytes + 8;  // varlena header, dim, unused
    const char storage = TupleDescAttr(RelationGetDescr(index), 0)->attstorage;
    if (datum > TOAST_TUPLE_THRESHOLD && (storage == TYPSTORAGE_EXTERNAL || storage == TYPSTORAGE_EXTENDED))
        ns += kToastFetchNs + kToastChunkNs * std::ceil(static_cast<double>(datum) / TOAST_MAX_CHUNK_SIZE);
    return ns;
}

}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;

void vecdb_hnsw_costestimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup, Cost* total,
                             Selectivity* selectivity, double* correlation, double* pages) {
    if (path->indexorderbys == NIL) {
        *startup = get_float8_infinity();
        *total = get_float8_infinity();
        *selectivity = 0;
        *correlation = 0;
        *pages = 0;
        return;
    }
    GenericCosts costs;
    std::memset(&costs, 0, sizeof(costs));
    genericcostestimate(root, path, loop_count, &costs);

    IndexOptInfo* info = path->indexinfo;
    Relation index = index_open(info->indexoid, NoLock);
    Geometry g, column;
    cost_geometry(index, &g, true);
    cost_geometry(index, &column, false);
    const double row_ns = seq_row_ns(index, column);
    const int ef_search = scan_ef_search(index);
    index_close(index, NoLock);

    const double n = std::max(info->tuples, 1.0);
    const double ef = std::max(ef_search, 1);
    const double scored = std::min(n, kScoredPerEf * ef * g.m / 16.0 + g.m * std::log2(n + 1.0));
    // One access per scored node (measured 0.98 on glove-100), plus the next
    // block for slots that continue there (packed: slot_bytes / area of them;
    // fashion-mnist measured 1.58 in all).
    double extra = g.blocks_per_slot - 1.0;
    if (g.packed) extra = static_cast<double>(g.slot_bytes) / kAreaBytes;
    const double accesses = scored * (1.0 + extra) + 1.0;
    const double search_ns = accesses * kAccessNs + scored * (kDistanceNs + kDistancePerKbNs * g.vec_bytes / 1024.0);

    // What the planner charges a sequential scan + top-N sort per row.
    double dist_cost = cpu_operator_cost;
    Node* orderby = static_cast<Node*>(linitial(path->indexorderbys));
    if (IsA(orderby, OpExpr)) {
        const Oid func = get_opcode(reinterpret_cast<OpExpr*>(orderby)->opno);
        if (OidIsValid(func)) {
            QualCost qc = {0, 0};
            add_function_cost(root, func, orderby, &qc);
            dist_cost = qc.per_tuple;
        }
    }
    double spc_random, spc_seq;
    get_tablespace_page_costs(info->rel->reltablespace, &spc_random, &spc_seq);
    const double heap_rows = std::max(info->rel->tuples, 1.0);
    const double limit = root->limit_tuples > 0 ? root->limit_tuples : 10.0;
    const double seq_row_cost = cpu_tuple_cost + dist_cost + 2.0 * cpu_operator_cost * std::log2(2.0 * limit) +
                                spc_seq * static_cast<double>(info->rel->pages) / heap_rows;
    (void)spc_random;
    const Cost search = search_ns / row_ns * seq_row_cost;
    *startup = search;
    // Rows then come out of memory; the heap fetches are costed by the
    // executor node (genericcostestimate's per-tuple part covers the rest).
    *total = search + costs.numIndexTuples * cpu_index_tuple_cost;
    *selectivity = costs.indexSelectivity;
    *correlation = 0;
    *pages = std::min(accesses, std::max(static_cast<double>(info->pages), 1.0));
}
