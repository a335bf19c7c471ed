// Module entry: magic block and settings that belong to the whole extension.
#include "vecdb/core/distance.h"
#include "vecdb/pg/crash_point.h"
#include "vecdb/pg/pg_includes.h"

extern "C" {
#include "utils/guc.h"
}

void vecdb_hnsw_init(void);  // src/pg/hnsw_handler.cpp

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace {

using vecdb::core::SimdPath;

// -1 = auto (best the CPU supports).
int simd_path_setting = -1;

const struct config_enum_entry simd_path_options[] = {
    {"auto", -1, false},
    {"scalar", static_cast<int>(SimdPath::Scalar), false},
    {"avx2", static_cast<int>(SimdPath::Avx2), false},
    {"avx512", static_cast<int>(SimdPath::Avx512), false},
    {nullptr, 0, false},
};

bool check_simd_path(int* newval, void** /*extra*/, GucSource /*source*/) {
    if (*newval < 0) return true;
    if (vecdb::core::kernels_for(static_cast<SimdPath>(*newval)) == nullptr) {
        GUC_check_errdetail("This CPU does not support the %s kernels.",
                            vecdb::core::simd_path_name(static_cast<SimdPath>(*newval)));
        return false;
    }
    return true;
}

void assign_simd_path(int newval, void* /*extra*/) {
    SimdPath p = newval < 0 ? vecdb::core::detect_simd_path() : static_cast<SimdPath>(newval);
    vecdb::core::select_simd_path(p);
}

}  // namespace

void _PG_init(void) {
    DefineCustomEnumVariable("vecdb.simd_path",
                             "Forces the SIMD path of the distance kernels (auto picks the best one).",
                             "SHOW vecdb.simd_path reports the path in use.", &simd_path_setting, -1,
                             simd_path_options, PGC_USERSET, 0, check_simd_path, assign_simd_path,
                             nullptr);
    vecdb::pg::define_crash_point_setting();
    MarkGUCPrefixReserved("vecdb");
    vecdb_hnsw_init();
}
