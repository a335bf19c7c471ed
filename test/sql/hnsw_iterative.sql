-- hnsw: filtered queries. Without iterative scans a selective WHERE starves
-- the LIMIT; with them the scan resumes until LIMIT rows pass the filter.
SELECT setseed(0.3);
CREATE TABLE f (id int, cat int, v vector(16));
INSERT INTO f
SELECT i, i % 100, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 16) WHERE i > 0)::vector
FROM generate_series(1, 20000) i;
CREATE INDEX ON f USING hnsw (v);
ANALYZE f;
\set q '''[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]'''
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM f WHERE cat = 7 ORDER BY v <-> :q LIMIT 20;

-- off: the beam's 40 rows, filtered (10%: a few; 1%: none or almost).
SELECT count(*) < 20 AS starved FROM (SELECT id FROM f WHERE cat < 10 ORDER BY v <-> :q LIMIT 20) s;
SELECT count(*) < 20 AS starved FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> :q LIMIT 20) s;

-- The exact answers, for comparison.
SET enable_indexscan = off; SET enable_seqscan = on;
CREATE TEMP TABLE exact10 AS SELECT id FROM f WHERE cat < 10 ORDER BY v <-> :q LIMIT 20;
CREATE TEMP TABLE exact1 AS SELECT id FROM f WHERE cat = 7 ORDER BY v <-> :q LIMIT 20;
RESET enable_indexscan; SET enable_seqscan = off;

CREATE FUNCTION in_order(ds float8[]) RETURNS boolean LANGUAGE sql AS
$$ SELECT coalesce(bool_and(ds[i] <= ds[i + 1]), true) FROM generate_subscripts(ds, 1) i WHERE i < cardinality(ds) $$;

SET hnsw.iterative_scan = strict_order;
SELECT count(*), in_order(array_agg(d)), count(*) FILTER (WHERE id IN (SELECT id FROM exact10)) >= 18 AS good
FROM (SELECT id, v <-> :q AS d FROM f WHERE cat < 10 ORDER BY v <-> :q LIMIT 20) s;
SELECT count(*), in_order(array_agg(d)), count(*) FILTER (WHERE id IN (SELECT id FROM exact1)) >= 18 AS good
FROM (SELECT id, v <-> :q AS d FROM f WHERE cat = 7 ORDER BY v <-> :q LIMIT 20) s;
SELECT visited <= 20000 + 1000 AS bounded FROM vecdb_last_scan_stats();

SET hnsw.iterative_scan = relaxed_order;
SELECT count(*), count(*) FILTER (WHERE id IN (SELECT id FROM exact10)) >= 18 AS good
FROM (SELECT id FROM f WHERE cat < 10 ORDER BY v <-> :q LIMIT 20) s;
SELECT count(*), count(*) FILTER (WHERE id IN (SELECT id FROM exact1)) >= 18 AS good
FROM (SELECT id FROM f WHERE cat = 7 ORDER BY v <-> :q LIMIT 20) s;

-- max_scan_tuples caps the work: a filter nothing passes ends the scan.
SET hnsw.max_scan_tuples = 2000;
SELECT count(*) FROM (SELECT id FROM f WHERE cat = 1000 ORDER BY v <-> :q LIMIT 20) s;
-- (checked between rounds: one round may overshoot)
SELECT visited < 2000 + 1500 AS capped FROM vecdb_last_scan_stats();
RESET hnsw.max_scan_tuples;
RESET hnsw.iterative_scan;

-- Plans at the default settings: the index for ORDER BY distance LIMIT.
RESET enable_seqscan; RESET enable_bitmapscan;
EXPLAIN (COSTS OFF) SELECT id FROM f ORDER BY v <-> :q LIMIT 10;
-- A high ef_search keeps the index while it scores fewer rows than the table
-- has (docs/hnsw.md: at 640 both plans take about the same time here).
SET hnsw.ef_search = 400;
EXPLAIN (COSTS OFF) SELECT id FROM f ORDER BY v <-> :q LIMIT 10;
RESET hnsw.ef_search;

DROP TABLE f;
DROP FUNCTION in_order;
