#!/bin/sh
# Fails if an object built with ISA flags (a path containing /avx2/ or
# /avx512/) defines a weak/unique symbol that another object also defines.
# The linker keeps one copy of such a COMDAT symbol, possibly the AVX-512 one,
# and the scalar or AVX2 path would then execute AVX-512 code.
#   test/unit/check_arch_symbols.sh OBJ...     (CMake runs it as a ctest;
#   for the PGXS build: test/unit/check_arch_symbols.sh src/core/*.o src/core/*/*.o src/pg/*.o)
# DW.ref.__gxx_personality_v0 is a data pointer, identical everywhere: ignored.
set -eu
[ "$#" -gt 0 ] || { echo "usage: $0 OBJ..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/arch_weak"
: > "$tmp/defined"
narch=0
for obj in "$@"; do
    # Every defined symbol, tagged with its object.
    nm --defined-only "$obj" | awk -v o="$obj" 'NF == 3 { print $3 " " o }' >> "$tmp/defined"
    case "$obj" in
        avx2/*|avx512/*|*/avx2/*|*/avx512/*)
            narch=$((narch + 1))
            nm --defined-only "$obj" | awk -v o="$obj" '$2 ~ /^[WVu]$/ && $3 !~ /^DW\.ref\./ { print $3 " " o }' \
                >> "$tmp/arch_weak" ;;
    esac
done
[ "$narch" -gt 0 ] || { echo "no architecture objects among the arguments" >&2; exit 2; }
status=0
while read -r sym obj; do
    others=$(awk -v s="$sym" -v o="$obj" '$1 == s && $2 != o { print $2 }' "$tmp/defined")
    if [ -n "$others" ]; then
        echo "weak symbol $sym in $obj is also defined in: $others"
        status=1
    fi
done < "$tmp/arch_weak"
[ "$status" -eq 0 ] && echo "ok: no weak symbol of the $narch architecture objects is defined elsewhere"
exit "$status"
