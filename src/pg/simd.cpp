// SQL view of the kernel dispatch: which SIMD path the distance functions of
// this backend use (the CPU's best, or the one forced by vecdb.simd_path).
#include "vecdb/core/distance.h"
#include "vecdb/pg/pg_includes.h"

VECDB_FUNCTION(vecdb_simd_path) {
    const char* name = vecdb::core::simd_path_name(vecdb::core::kernels().path);
    PG_RETURN_TEXT_P(cstring_to_text(name));
}
