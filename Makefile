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
EXTRA_CLEAN = sql/vecdb--$(EXTVERSION).sql $(OBJS:.o=.d) tmp_check results regression.diffs regression.out log \
              tmp_check_iso output_iso

REGRESS      = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=$(CURDIR) --temp-instance=$(CURDIR)/tmp_check \
               --temp-config=$(CURDIR)/test/regress.conf --load-extension=vecdb

# Isolation tests (pg_isolation_regress): specs in test/specs/*.spec,
# expected output in expected/ (test/expected links to it).
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --outputdir=$(CURDIR)/output_iso --temp-instance=$(CURDIR)/tmp_check_iso \
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

# ---- Test targets (testinfra; see docs/testing.md) ---------------------------
# make test-unit      core unit tests (CMake build in build/, ctest)
# make test-regress   pg_regress only (pgTAP tests included); `make installcheck`
#                     runs pg_regress and the TAP tests
# make test-tap       TAP tests only (test/t/*.pl), same as make prove_installcheck
# make check-exports  exported symbols and compiler flags of the built module
# make fuzz           libFuzzer targets, FUZZ_SECONDS each (build-fuzz/)
# make asan           pg_regress + isolation against an ASan+UBSan build (build-asan/)
# make valgrind       pg_regress with the server under valgrind memcheck (build-valgrind/)
# make test-all       everything (.ci/test-all; as root)
FUZZ_SECONDS ?= 60
.PHONY: test-unit test-regress test-tap check-exports fuzz asan valgrind test-all
test-unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j2
	ctest --test-dir build --output-on-failure
test-regress:
	$(MAKE) installcheck TAP_TESTS=
# Makefile.global (included above) empties PROVE_FLAGS: set it again here.
PROVE_FLAGS = -I ./test/perl
# PGXS (PG 15) runs TAP only inside installcheck; these run it alone.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)
test-tap: prove_installcheck
check-exports: $(shlib)
	.ci/check-build $(CURDIR)/$(shlib)
fuzz:
	.ci/fuzz $(FUZZ_SECONDS)
asan:
	PG_CONFIG=$(PG_CONFIG) .ci/asan
valgrind:
	PG_CONFIG=$(PG_CONFIG) .ci/valgrind
test-all:
	PG_CONFIG=$(PG_CONFIG) .ci/test-all
