// The one way glue code includes Postgres. C++ and third-party headers come
// before this file; Postgres headers after it, inside extern "C".
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
}

// PG15 leaves PGDLLEXPORT empty on ELF; we build with -fvisibility=hidden, so
// every symbol Postgres looks up must say it wants to be seen.
#undef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))

// Declare an SQL-callable C function. C names all start with vecdb_ (the
// version script exports exactly those).
#define VECDB_FUNCTION(name)                 \
    extern "C" {                             \
    PG_FUNCTION_INFO_V1(name);               \
    }                                        \
    extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS)
