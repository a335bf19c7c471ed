#!/bin/bash
# Interleaved A/B sweeps of hnsw builds on one prewarmed glove table, so that
# versions are compared under the same machine load. For each round and each
# vecdb.so given: install it, restart the cluster, pg_prewarm, run
# test/tools/hnsw_quick_bench.py; then print the best cpu-qps per (so, ef).
#   usage: PG_BIN=… PGDATA=… SOCK=… PORT=… bench/hnsw/ab_sweep.sh ROUNDS EFS NQ vecdb.so…
# The cluster must hold tables glove / glove_q / glove_gt and index glove_idx
# (docs/hnsw.md "Measurements" shows how to load them).
set -euo pipefail
R=$1; EFS=$2; NQ=$3; shift 3
B=${PG_BIN:?directory of pg_ctl/psql}; LIB=$("$B/pg_config" --pkglibdir)
: "${PGDATA:?}" "${SOCK:?}" "${PORT:?}"
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/ab_sweep.XXXXXX)
for r in $(seq "$R"); do for so in "$@"; do
  cp "$so" "$LIB/vecdb.so"
  runuser -u postgres -- "$B/pg_ctl" -D "$PGDATA" -l "$PGDATA/../ab.log" restart -m fast >/dev/null
  runuser -u postgres -- "$B/psql" -h "$SOCK" -p "$PORT" -d postgres -qAtc \
      "SELECT pg_prewarm('glove_idx'), pg_prewarm('glove')" >/dev/null
  runuser -u postgres -- "$here/test/tools/hnsw_quick_bench.py" "host=$SOCK port=$PORT dbname=postgres" \
      glove glove_q glove_gt '<=>' "$EFS" "$NQ" | sed "s|^|$(basename "$so") load=$(cut -d' ' -f1 /proc/loadavg) |"
done; done | tee "$out"
echo "--- best cpu-qps"
awk '{split($0,a,"cpu-qps="); split(a[2],b," "); key=$1" ef="$4; if (b[1]>best[key]) best[key]=b[1]} END {for (k in best) print k, best[k]}' "$out" | sort
