// Planner cost of an hnsw scan, grounded in what a search does: it scores
// some number of nodes (distance computations) and makes buffer accesses to
// read them, a fraction of which are distinct pages. Both grow with
// hnsw.ef_search and m, slowly with the index size; see docs/hnsw.md for the
// measured constants.
//
// Units: the index is meant to be cached. A buffer access (pin + lock of a
// cached page) costs a few cpu_operator_costs, the first touch of a page a
// quarter of seq_page_cost (a memory miss, cheaper than the page a sequential
// scan reads and whose every row it evaluates), a distance what the SQL
// operator's function costs, as a sequential scan pays that per row. (A high
// ef_search must not price the index above a sequential scan that is 3x
// slower: docs/lessons-from-existing-indexes.md.) All of the search is startup cost: the first row needs it all.
// Without ORDER BY an hnsw scan is useless: infinite cost.
#include <algorithm>
#include <cmath>

#include "vecdb/pg/hnsw.h"

extern "C" {
#include "access/relation.h"
#include "optimizer/cost.h"
#include "optimizer/plancat.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
}

namespace vecdb::pg::hnsw {

// Measured with vecdb_last_scan_stats() on glove-100 (m = 16, docs/hnsw.md):
// scored nodes per search ~ kScoredPerEf * ef * m / 16 + a descent term
// (850 at ef 40, 2,461 at ef 160, 4,337 at ef 320), buffer accesses ~
// kAccessPerScored * scored (0.98).
constexpr double kScoredPerEf = 13.0;
constexpr double kAccessPerScored = 1.0;
// Per buffer access (pin + lock of a cached page, the slot's memory misses),
// in cpu_operator_costs: calibrated so that at ef_search 640 on a 20K-row
// table, where index and sequential scan take about the same time (12 vs
// 9-15 ms, docs/hnsw.md), the two costs are about equal.
constexpr double kAccessCpu = 32.0;
constexpr double kFirstTouch = 0.25;   // seq_page_costs for the first touch of a page (a memory miss)

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
    const int m = option_m(index);
    index_close(index, NoLock);

    const double n = std::max(info->tuples, 1.0);
    const double ef = std::max(ef_search_setting, 1);
    const double scored = std::min(n, kScoredPerEf * ef * m / 16.0 + m * std::log2(n + 1.0));
    const double accesses = scored * kAccessPerScored + 1.0;
    const double distinct = std::min(accesses, std::max(static_cast<double>(info->pages), 1.0));

    // The ORDER BY operator's function cost, as a sequential scan pays it.
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
    get_tablespace_page_costs(info->reltablespace, &spc_random, &spc_seq);

    const Cost search =
        distinct * kFirstTouch * spc_seq + accesses * kAccessCpu * cpu_operator_cost + scored * dist_cost;
    *startup = search;
    // Rows then come out of memory; the heap fetches are costed by the
    // executor node (genericcostestimate's per-tuple part covers the rest).
    *total = search + costs.numIndexTuples * cpu_index_tuple_cost;
    *selectivity = costs.indexSelectivity;
    *correlation = 0;
    *pages = distinct;
    (void)spc_random;
}
