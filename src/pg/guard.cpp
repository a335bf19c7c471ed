#include "vecdb/pg/guard.h"
#include "vecdb/pg/pg_includes.h"

namespace vecdb::pg {

void raise_failure(FailureKind kind, const char* message) noexcept {
    if (kind == FailureKind::OutOfMemory)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("vecdb: out of memory")));
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("vecdb: internal error: %s", message[0] ? message : "unknown exception")));
    pg_unreachable();
}

}  // namespace vecdb::pg
