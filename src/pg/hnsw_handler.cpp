// hnsw access method: the handler, index options, settings, opclass
// validation, build phase names, and the per-scan statistics function.
//
// How the AM learns metric and element type: every hnsw opclass has support
// function 1, a tiny C function `(internal) RETURNS int4` that returns
// metric | element_type << 8 (metric: 0 L2, 1 inner product, 2 cosine,
// 3 L1; type: 0 float32 (vector), 1 float16 (halfvec)).
#include <climits>
#include <cstring>

#include "vecdb/pg/hnsw.h"
#include "vecdb/pg/hnsw_pending.h"
#include "vecdb/pg/scan_distance.h"

extern "C" {
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "funcapi.h"
#include "utils/catcache.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/syscache.h"
}

namespace vecdb::pg::hnsw {

int ef_search_setting = 40;
int search_patience_setting = 0;
bool pin_free_reads_setting = true;
int iterative_scan_setting = kIterOff;
int max_scan_tuples_setting = 20000;
int pending_list_limit_setting = 4096;
ScanStats last_scan_stats;

namespace {

relopt_kind hnsw_relopt_kind;

const struct config_enum_entry iterative_scan_options[] = {
    {"off", kIterOff, false},
    {"relaxed_order", kIterRelaxed, false},
    {"strict_order", kIterStrict, false},
    {nullptr, 0, false},
};

relopt_enum_elt_def iterative_scan_reloptions[] = {
    {"off", kIterOff},
    {"relaxed_order", kIterRelaxed},
    {"strict_order", kIterStrict},
    {nullptr, 0},
};

relopt_enum_elt_def storage_options[] = {
    {"float32", kStorageFloat32},
    {"float16", kStorageFloat16},
    {nullptr, 0},
};

constexpr int kDefaultM = 16;
constexpr int kDefaultEfConstruction = 64;

}  // namespace

int option_m(Relation index) {
    const Options* o = reinterpret_cast<const Options*>(index->rd_options);
    return o ? o->m : kDefaultM;
}

int option_pending_list_limit(Relation index) {
    const Options* o = reinterpret_cast<const Options*>(index->rd_options);
    return o && o->pending_list_limit >= 0 ? o->pending_list_limit : pending_list_limit_setting;
}

int option_storage(Relation index) {
    const Options* o = reinterpret_cast<const Options*>(index->rd_options);
    return o ? o->storage : kStorageColumn;
}

int option_ef_construction(Relation index) {
    const Options* o = reinterpret_cast<const Options*>(index->rd_options);
    return o ? o->ef_construction : kDefaultEfConstruction;
}

namespace {

// The GUC records of the settings an index can give defaults for, found once
// at load: their `source` tells a value the session chose (SET, SET LOCAL,
// a function's SET clause, connection options: PGC_S_CLIENT and above) from
// one it inherited (built-in, postgresql.conf / ALTER SYSTEM, ALTER DATABASE
// / ROLE ... SET). Placeholders set before the library loaded keep their
// source when the setting is defined.
const config_generic* ef_search_guc;
const config_generic* iterative_scan_guc;
const config_generic* max_scan_tuples_guc;

bool chosen_by_session(const config_generic* guc) { return guc == nullptr || guc->source >= PGC_S_CLIENT; }

void find_search_gucs() {
#if PG_VERSION_NUM >= 160000
    int n = 0;
    config_generic** vars = get_guc_variables(&n);
#else
    const int n = GetNumConfigOptions();
    config_generic** vars = get_guc_variables();
#endif
    for (int i = 0; i < n; ++i) {
        const char* name = vars[i]->name;
        if (std::strcmp(name, "hnsw.ef_search") == 0) ef_search_guc = vars[i];
        if (std::strcmp(name, "hnsw.iterative_scan") == 0) iterative_scan_guc = vars[i];
        if (std::strcmp(name, "hnsw.max_scan_tuples") == 0) max_scan_tuples_guc = vars[i];
    }
#if PG_VERSION_NUM >= 160000
    pfree(vars);  // a palloc'd copy since PostgreSQL 16
#endif
}

// An option of `index` (negative: not set there) unless the session chose
// the setting itself.
int index_or_setting(Relation index, int Options::*option, const config_generic* guc, int setting) {
    const Options* o = reinterpret_cast<const Options*>(index->rd_options);
    return o && o->*option >= 0 && !chosen_by_session(guc) ? o->*option : setting;
}

}  // namespace

int scan_ef_search(Relation index) {
    return index_or_setting(index, &Options::ef_search, ef_search_guc, ef_search_setting);
}

int scan_iterative(Relation index) {
    return index_or_setting(index, &Options::iterative_scan, iterative_scan_guc, iterative_scan_setting);
}

int scan_max_tuples(Relation index) {
    return index_or_setting(index, &Options::max_scan_tuples, max_scan_tuples_guc, max_scan_tuples_setting);
}

}  // namespace vecdb::pg::hnsw

using namespace vecdb::pg::hnsw;

void vecdb_hnsw_init(void) {
    hnsw_relopt_kind = add_reloption_kind();
    add_int_reloption(hnsw_relopt_kind, "m", "Maximum number of neighbours per node on upper levels (2m on level 0)",
                      kDefaultM, 2, 100, AccessExclusiveLock);
    add_int_reloption(hnsw_relopt_kind, "ef_construction", "Beam width while building the graph",
                      kDefaultEfConstruction, 4, 1000, AccessExclusiveLock);
    add_int_reloption(hnsw_relopt_kind, "pending_list_limit",
                      "Largest pending list (kB) before inserts merge it themselves; 0: no pending list",
                      -1, -1, MAX_KILOBYTES, ShareUpdateExclusiveLock);
    // Read by the build only: the metapage records what the pages hold, so
    // changing it takes effect at the next REINDEX.
    add_enum_reloption(hnsw_relopt_kind, "storage",
                       "Element type of the vectors in the index pages (float16 halves a vector column's index; "
                       "scans re-check exact distances)",
                       storage_options, kStorageColumn, "Valid values are \"float32\" and \"float16\".",
                       AccessExclusiveLock);
    // Index-level defaults of the search settings (scan_ef_search & co.):
    // read by every scan, so a change takes effect at once; -1: not set.
    add_int_reloption(hnsw_relopt_kind, "ef_search", "Default hnsw.ef_search for scans of this index", -1, 1,
                      1000, ShareUpdateExclusiveLock);
    add_enum_reloption(hnsw_relopt_kind, "iterative_scan", "Default hnsw.iterative_scan for scans of this index",
                       iterative_scan_reloptions, -1,
                       "Valid values are \"off\", \"relaxed_order\" and \"strict_order\".",
                       ShareUpdateExclusiveLock);
    add_int_reloption(hnsw_relopt_kind, "max_scan_tuples", "Default hnsw.max_scan_tuples for scans of this index",
                      -1, 1, INT_MAX, ShareUpdateExclusiveLock);

    DefineCustomIntVariable("hnsw.ef_search", "Beam width of hnsw index scans.",
                            "Larger is slower and finds more of the true nearest neighbours.", &ef_search_setting,
                            40, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("hnsw.search_patience",
                            "Ends an hnsw scan's search once its 10 nearest rows have not changed for this many "
                            "expansions; 0: off.",
                            "Fewer distances at a given hnsw.ef_search (raise ef_search to keep recall); rows past "
                            "the 10th come from the search run to its usual end. Not used by iterative scans.",
                            &search_patience_setting, 0, 0, 100000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("hnsw.pin_free_reads",
                             "Lets hnsw searches (scans, and inserts finding neighbours) score neighbour pages in shared "
                             "buffers without pinning them.",
                             "Each read is checked against the buffer's tag before and after; off pins every page "
                             "(slower; for diagnosis).",
                             &pin_free_reads_setting, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("hnsw.reuse_scan_distance",
                             "Lets the distance operator take an hnsw scan's distance for the row it just returned "
                             "instead of reading that row's vector from TOAST again.",
                             "Only for vectors stored out of line, matched by their TOAST pointer and the query; off "
                             "always recomputes.",
                             &vecdb::pg::reuse_scan_distance_setting, true, PGC_USERSET, 0, nullptr, nullptr,
                             nullptr);
    DefineCustomEnumVariable("hnsw.iterative_scan",
                             "Resume hnsw scans when their results run out before the query is satisfied.",
                             "relaxed_order may return rows slightly out of distance order; strict_order never "
                             "does.",
                             &iterative_scan_setting, kIterOff, iterative_scan_options, PGC_USERSET, 0, nullptr,
                             nullptr, nullptr);
    DefineCustomIntVariable("hnsw.max_scan_tuples", "Most index nodes one iterative hnsw scan scores.", nullptr,
                            &max_scan_tuples_setting, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable("hnsw.pending_list_limit",
                            "Largest hnsw pending list before inserts merge it themselves.",
                            "Inserts append to a pending list that scans read exactly and a background worker "
                            "links into the graph; 0 links every row at insert time.",
                            &pending_list_limit_setting, 4096, 0, MAX_KILOBYTES, PGC_USERSET, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
    DefineCustomBoolVariable("hnsw.background_merge",
                             "Let inserts launch a background worker that merges the hnsw pending list.", nullptr,
                             &background_merge_setting, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("hnsw");
    find_search_gucs();
}

static bytea* hnsw_options(Datum reloptions, bool validate) {
    static const relopt_parse_elt table[] = {
        {"m", RELOPT_TYPE_INT, offsetof(Options, m)},
        {"ef_construction", RELOPT_TYPE_INT, offsetof(Options, ef_construction)},
        {"pending_list_limit", RELOPT_TYPE_INT, offsetof(Options, pending_list_limit)},
        {"storage", RELOPT_TYPE_ENUM, offsetof(Options, storage)},
        {"ef_search", RELOPT_TYPE_INT, offsetof(Options, ef_search)},
        {"iterative_scan", RELOPT_TYPE_ENUM, offsetof(Options, iterative_scan)},
        {"max_scan_tuples", RELOPT_TYPE_INT, offsetof(Options, max_scan_tuples)},
    };
    bytea* result = static_cast<bytea*>(
        build_reloptions(reloptions, validate, hnsw_relopt_kind, sizeof(Options), table, lengthof(table)));
    if (result != nullptr && validate) {
        const Options* o = reinterpret_cast<const Options*>(result);
        if (o->ef_construction < 2 * o->m)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("ef_construction must be at least 2 * m"),
                            errdetail("m = %d needs ef_construction >= %d, got %d.", o->m, 2 * o->m,
                                      o->ef_construction)));
    }
    return result;
}

static char* hnsw_buildphasename(int64 phase) {
    switch (phase) {
        case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
            return const_cast<char*>("initializing");
        case kPhaseLoad:
            return const_cast<char*>("loading tuples");
        case kPhaseGraph:
            return const_cast<char*>("building graph");
        case kPhaseWrite:
            return const_cast<char*>("writing pages");
        default:
            return nullptr;
    }
}

// An hnsw opclass needs exactly: support function 1 (the metric code) and
// ordering operator 1 (the distance).
static bool hnsw_validate(Oid opclassoid) {
    HeapTuple classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
    if (!HeapTupleIsValid(classtup)) elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
    Form_pg_opclass classform = reinterpret_cast<Form_pg_opclass>(GETSTRUCT(classtup));
    const Oid opfamily = classform->opcfamily;
    const Oid intype = classform->opcintype;
    char* name = pstrdup(NameStr(classform->opcname));
    ReleaseSysCache(classtup);

    bool ok = true;
    bool has_proc = false;
    bool has_order = false;
    CatCList* procs = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamily));
    for (int i = 0; i < procs->n_members; ++i) {
        Form_pg_amproc p = reinterpret_cast<Form_pg_amproc>(GETSTRUCT(&procs->members[i]->tuple));
        if (p->amproclefttype != intype) continue;
        if (p->amprocnum == 1) {
            has_proc = true;
        } else {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("hnsw operator class \"%s\" has support function number %d; only 1 is used",
                                  name, p->amprocnum)));
            ok = false;
        }
    }
    ReleaseSysCacheList(procs);
    CatCList* ops = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamily));
    for (int i = 0; i < ops->n_members; ++i) {
        Form_pg_amop o = reinterpret_cast<Form_pg_amop>(GETSTRUCT(&ops->members[i]->tuple));
        if (o->amoplefttype != intype) continue;
        if (o->amopstrategy == 1 && o->amoppurpose == AMOP_ORDER) {
            has_order = true;
        } else {
            ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                           errmsg("hnsw operator class \"%s\" has operator strategy %d; only ordering operator 1 "
                                  "is supported",
                                  name, o->amopstrategy)));
            ok = false;
        }
    }
    ReleaseSysCacheList(ops);
    if (!has_proc) {
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("hnsw operator class \"%s\" lacks support function 1", name)));
        ok = false;
    }
    if (!has_order) {
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("hnsw operator class \"%s\" lacks ordering operator 1", name)));
        ok = false;
    }
    return ok;
}

VECDB_FUNCTION(vecdb_hnsw_handler) {
    IndexAmRoutine* am = makeNode(IndexAmRoutine);
    am->amstrategies = 0;
    am->amsupport = 1;
    am->amoptsprocnum = 0;
    am->amcanorder = false;
    am->amcanorderbyop = true;
    am->amcanbackward = false;
    am->amcanunique = false;
    am->amcanmulticol = false;
    am->amoptionalkey = true;
    am->amsearcharray = false;
    am->amsearchnulls = false;
    am->amstorage = false;
    am->amclusterable = false;
    am->ampredlocks = false;
    am->amcanparallel = false;
    am->amcaninclude = false;
    am->amusemaintenanceworkmem = false;
    am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
    am->amkeytype = InvalidOid;

    am->ambuild = vecdb_hnsw_build;
    am->ambuildempty = vecdb_hnsw_buildempty;
    am->aminsert = vecdb_hnsw_insert;
    am->ambulkdelete = vecdb_hnsw_bulkdelete;
    am->amvacuumcleanup = vecdb_hnsw_vacuumcleanup;
    am->amcanreturn = nullptr;
    am->amcostestimate = vecdb_hnsw_costestimate;
    am->amoptions = hnsw_options;
    am->amproperty = nullptr;
    am->ambuildphasename = hnsw_buildphasename;
    am->amvalidate = hnsw_validate;
    am->amadjustmembers = nullptr;
    am->ambeginscan = vecdb_hnsw_beginscan;
    am->amrescan = vecdb_hnsw_rescan;
    am->amgettuple = vecdb_hnsw_gettuple;
    am->amgetbitmap = nullptr;
    am->amendscan = vecdb_hnsw_endscan;
    am->ammarkpos = nullptr;
    am->amrestrpos = nullptr;
    am->amestimateparallelscan = nullptr;
    am->aminitparallelscan = nullptr;
    am->amparallelrescan = nullptr;
    PG_RETURN_POINTER(am);
}

// Opclass support function 1, one per (metric, element type).
#define VECDB_HNSW_CODE(fname, metric, type)        \
    VECDB_FUNCTION(fname) {                         \
        PG_RETURN_INT32((metric) | ((type) << 8));  \
    }
VECDB_HNSW_CODE(vecdb_hnsw_vector_l2, 0, 0)
VECDB_HNSW_CODE(vecdb_hnsw_vector_ip, 1, 0)
VECDB_HNSW_CODE(vecdb_hnsw_vector_cosine, 2, 0)
VECDB_HNSW_CODE(vecdb_hnsw_vector_l1, 3, 0)
VECDB_HNSW_CODE(vecdb_hnsw_halfvec_l2, 0, 1)
VECDB_HNSW_CODE(vecdb_hnsw_halfvec_ip, 1, 1)
VECDB_HNSW_CODE(vecdb_hnsw_halfvec_cosine, 2, 1)
VECDB_HNSW_CODE(vecdb_hnsw_halfvec_l1, 3, 1)

// Counters of the last hnsw scan in this backend (benchmarks).
VECDB_FUNCTION(vecdb_last_scan_stats) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
    desc = BlessTupleDesc(desc);
    Datum values[4];
    bool nulls[4] = {false, false, false, false};
    values[0] = Int64GetDatum(last_scan_stats.distances);
    values[1] = Int64GetDatum(last_scan_stats.buffer_accesses);
    values[2] = Int64GetDatum(last_scan_stats.visited);
    values[3] = Int64GetDatum(last_scan_stats.returned);
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
