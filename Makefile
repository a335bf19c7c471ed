# vecdb — PGXS build. `make && make install`, then `make installcheck` as a
# non-root user (pg_regress starts its own temporary instance).
EXTENSION  = vecdb
EXTVERSION = 0.1.0
MODULE_big = vecdb

CORE_SRCS   = $(sort $(wildcard src/core/*.cpp))
PG_SRCS     = $(sort $(wildcard src/pg/*.cpp))
AVX2_SRCS   = $(sort $(wildcard src/core/avx2/*.cpp))
AVX512_SRCS = $(sort $(wildcard src/core/avx512/*.cpp))
# Baseline objects first: when ISA-specific TUs emit the same inline (COMDAT)
# symbol, the linker keeps the first definition it sees.
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o) $(AVX2_SRCS:.cpp=.o) $(AVX512_SRCS:.cpp=.o)

SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))
DATA_built = sql/vecdb--$(EXTVERSION).sql
EXTRA_CLEAN = sql/vecdb--$(EXTVERSION).sql $(OBJS:.o=.d) tmp_check results regression.diffs regression.out log

REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=$(CURDIR) --temp-instance=$(CURDIR)/tmp_check \
               --temp-config=$(CURDIR)/test/regress.conf --load-extension=vecdb

PROVE_TESTS := $(sort $(wildcard test/t/*.pl))
TAP_TESTS   := $(if $(PROVE_TESTS),1)
PROVE_FLAGS = -I ./test/perl

PG_CPPFLAGS = -I$(CURDIR)/include
PG_CXXFLAGS = -std=c++17 -Wno-register -fvisibility=hidden -fvisibility-inlines-hidden -MMD -MP
SHLIB_LINK  = -lroaring -lstdc++ -Wl,--version-script=$(CURDIR)/src/pg/exports.map -Wl,--no-undefined-version

# Debian's PGXS would compile C++ to LLVM bitcode with clang, ignoring our flags.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Per-file ISA flags (target-specific CXXFLAGS: PG_CXXFLAGS is already expanded).
$(AVX2_SRCS:.cpp=.o):   CXXFLAGS += -mavx2 -mfma -mf16c
$(AVX512_SRCS:.cpp=.o): CXXFLAGS += -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c

sql/vecdb--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

$(shlib): src/pg/exports.map

-include $(OBJS:.o=.d)
