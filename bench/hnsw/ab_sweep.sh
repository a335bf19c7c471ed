#!/bin/bash
# Interleaved A/B sweeps of hnsw builds on one prewarmed dataset table, so that
# versions are compared under the same machine load. For each round and each
# vecdb.so given: install it, restart the cluster, pg_prewarm, run
# test/tools/hnsw_quick_bench.py; then print the best cpu-qps per (so, ef).
#   usage: PG_BIN=… PGDATA=… SOCK=… PORT=… [TABLE=glove] [OP='<=>'] [INDEX=${TABLE}_idx] \
#          bench/hnsw/ab_sweep.sh ROUNDS EFS NQ vecdb.so[:DATABASE]…
# The database (default postgres) must hold tables $TABLE / ${TABLE}_q / ${TABLE}_gt
# and index $INDEX (docs/hnsw.md "Measurements" shows how to load glove; the
# fashion-mnist subsection of docs/benchmarks.md fm / '<->'). Builds with
# different page formats need their own database, each indexed by its build:
#   TABLE=fm OP='<->' bench/hnsw/ab_sweep.sh 3 80,160 1000 /tmp/a.so:fm_a /tmp/b.so:fm_b
set -euo pipefail
R=$1; EFS=$2; NQ=$3; shift 3
B=${PG_BIN:?directory of pg_ctl/psql}; LIB=$("$B/pg_config" --pkglibdir)
: "${PGDATA:?}" "${SOCK:?}" "${PORT:?}"
TABLE=${TABLE:-glove}; OP=${OP:-<=>}; INDEX=${INDEX:-${TABLE}_idx}
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/ab_sweep.XXXXXX)
for r in $(seq "$R"); do for arg in "$@"; do
  so=${arg%%:*}; db=postgres; [[ $arg == *:* ]] && db=${arg#*:}
  cp "$so" "$LIB/vecdb.so"
  runuser -u postgres -- "$B/pg_ctl" -D "$PGDATA" -l "$PGDATA/../ab.log" restart -m fast >/dev/null
  runuser -u postgres -- "$B/psql" -h "$SOCK" -p "$PORT" -d "$db" -qAtc \
      "SELECT pg_prewarm('$INDEX'), pg_prewarm('$TABLE'),
              (SELECT pg_prewarm(reltoastrelid) FROM pg_class WHERE oid = '$TABLE'::regclass AND reltoastrelid <> 0)" \
      >/dev/null
  runuser -u postgres -- "$here/test/tools/hnsw_quick_bench.py" "host=$SOCK port=$PORT dbname=$db" \
      "$TABLE" "${TABLE}_q" "${TABLE}_gt" "$OP" "$EFS" "$NQ" |
      sed "s|^|$(basename "$so"):$db load=$(cut -d' ' -f1 /proc/loadavg) |"
done; done | tee "$out"
echo "--- best cpu-qps"
awk '{split($0,a,"cpu-qps="); split(a[2],b," "); key=$1" ef="$4; if (b[1]>best[key]) best[key]=b[1]} END {for (k in best) print k, best[k]}' "$out" | sort
