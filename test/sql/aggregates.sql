-- avg() and sum() over vector and halfvec, serial and parallel.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,5,7]'), (NULL)) t(v);
SELECT avg(h), sum(h) FROM (VALUES ('[1,2,3]'::halfvec), ('[3,5,7]'), (NULL)) t(h);
SELECT avg(v), sum(v) FROM (VALUES (NULL::vector)) t(v);
SELECT avg(v), sum(v) FROM (SELECT '[1]'::vector WHERE false) t(v);
SELECT pg_typeof(avg('[1]'::vector)), pg_typeof(sum('[1]'::vector)),
       pg_typeof(avg('[1]'::halfvec)), pg_typeof(sum('[1]'::halfvec));
-- Grouped.
SELECT g, avg(v) FROM (VALUES (1, '[1,1]'::vector), (1, '[3,3]'), (2, '[5,6]')) t(g, v) GROUP BY g ORDER BY g;
-- Sums are accumulated in double: no intermediate float32 overflow.
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]'), ('[-3e38]')) t(v);
SELECT avg(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
SELECT avg(h) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(h);

-- Errors: sum overflow 22003, different dimensions 22000.
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
SELECT sum(h) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(h);
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) t(v);
SELECT sum(h) FROM (VALUES ('[1,2]'::halfvec), ('[1]')) t(h);
\set VERBOSITY default
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) t(v);
\set VERBOSITY sqlstate

-- Direct calls of the support functions never modify their inputs.
SELECT vector_accum('{0}', '[1,2]'), vector_accum('{1,1,2}', '[1,2]'), halfvec_accum('{0}', '[0.5]');
SELECT vector_combine('{0}', '{2,1,1}'), vector_combine('{2,1,1}', '{0}'), vector_combine('{1,1}', '{2,2}');
SELECT vector_avg('{0}'), vector_avg('{2,3,4}'), vector_sum('{2,3,4}'), halfvec_avg('{4,1,2}'), halfvec_sum('{1,2}');
SELECT vector_accum('{{1}}', '[1]');
SELECT vector_accum('{1,NULL}', '[1]');
SELECT vector_accum('{1,1,1}', '[1]');
SELECT vector_combine('{1,1}', '{1,1,1}');

-- Parallel aggregation: partial aggregates in workers, combined in the leader.
CREATE TABLE agg_t (id int, v vector(3), h halfvec(3));
INSERT INTO agg_t SELECT i, ARRAY[i, -i, i % 7]::real[], ARRAY[i % 3 - 1, 1, (i % 5) * 0.25]::real[]
FROM generate_series(1, 30000) i;
ANALYZE agg_t;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v), avg(h), sum(h) FROM agg_t;
SELECT avg(v), sum(v), avg(h), sum(h) FROM agg_t;
SET max_parallel_workers_per_gather = 0;
SELECT avg(v), sum(v), avg(h), sum(h) FROM agg_t;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT p.proname, p.proparallel, p.provolatile, p.proisstrict
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
WHERE a.aggtranstype = 'float8[]'::regtype AND a.aggcombinefn::text LIKE '%vector_combine'
ORDER BY p.oid;
DROP TABLE agg_t;
