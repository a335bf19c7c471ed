-- hnsw pending list (docs/hnsw.md "Pending list"): rows inserted after the
-- build wait on pending pages until a merger links them into the graph;
-- scans score them exactly, so they are found at once and in exact order.
-- The background merger is off here so that counts are deterministic
-- (test/t/080_hnsw_pending.pl runs it).
\set VERBOSITY terse
SET hnsw.background_merge = off;
SELECT setseed(0.31);
CREATE FUNCTION rnd16() RETURNS vector LANGUAGE sql VOLATILE AS
$$ SELECT array_agg(round((random() - 0.5)::numeric, 4))::vector FROM generate_series(1, 16) $$;
-- k nearest ids through the index and exactly (sequential scan).
CREATE FUNCTION knn(t regclass, q vector, k int, use_index boolean) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE a int[];
BEGIN
  IF use_index THEN
    SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on;
  ELSE
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
  END IF;
  SET LOCAL enable_bitmapscan = off;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> %L%s LIMIT %s) s', t, q,
                 CASE WHEN use_index THEN '' ELSE ', id' END, k) INTO a;
  RETURN a;
END $$;
CREATE FUNCTION errors(idx regclass) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM vecdb_index_check(idx) WHERE severity = 'error' $$;
CREATE FUNCTION summary_pending(idx regclass) RETURNS bigint LANGUAGE sql AS $$
  SELECT (regexp_match(detail, 'pending (\d+)'))[1]::bigint FROM vecdb_index_check(idx) WHERE kind = 'summary' $$;

-- 1. An index built on an empty table: every row is pending, and the index
-- gives exactly the exact scan's order (ties broken alike: no ties here).
CREATE TABLE p (id int PRIMARY KEY, v vector(16));
CREATE INDEX p_v ON p USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
INSERT INTO p SELECT i, rnd16() FROM generate_series(1, 500) i;
SELECT vecdb_hnsw_pending_count('p_v') AS pending;
SELECT count(*) AS queries, count(*) FILTER (WHERE knn('p', v, 50, true) = knn('p', v, 50, false)) AS exact
FROM (SELECT v FROM p ORDER BY id LIMIT 10) q;
-- Distances returned are the operator's.
SET enable_seqscan = off;
SELECT bool_and(abs(d - (v <-> '[0.1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]')) < 1e-6) AS distances_ok
FROM (SELECT v, v <-> '[0.1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' AS d FROM p
      ORDER BY v <-> '[0.1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 20) s;
-- A query that cannot be searched (NULL) returns every row once.
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM p ORDER BY v <-> NULL) s;
RESET enable_seqscan;
SELECT errors('p_v') AS errors, summary_pending('p_v') AS checker_pending;

-- 2. Deletes and updates of pending rows: gone from the index at once.
DELETE FROM p WHERE id % 5 = 0;
UPDATE p SET v = rnd16() WHERE id % 7 = 0;
SELECT count(*) AS queries, count(*) FILTER (WHERE knn('p', v, 30, true) = knn('p', v, 30, false)) AS exact
FROM (SELECT v FROM p ORDER BY id LIMIT 10) q;
SELECT vecdb_hnsw_pending_count('p_v') AS pending_with_dead_versions;
-- Rolled back rows are never returned.
BEGIN;
INSERT INTO p VALUES (9999, '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]');
SELECT knn('p', '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]', 1, true) AS inside_transaction;
ROLLBACK;
SELECT knn('p', '[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]', 1, true) = ARRAY[9999] AS after_rollback;

-- 3. VACUUM merges (dead rows dropped unlinked), the graph then answers alone.
VACUUM p;
SELECT vecdb_hnsw_pending_count('p_v') AS pending_after_vacuum;
SELECT errors('p_v') AS errors, summary_pending('p_v') AS checker_pending;
SET hnsw.ef_search = 200;
SELECT count(*) FILTER (WHERE knn('p', v, 10, true) = knn('p', v, 10, false)) >= 9 AS graph_finds_them
FROM (SELECT v FROM p ORDER BY id LIMIT 10) q;

-- 4. Graph plus pending list: a pending row is its own nearest neighbour;
-- no row is returned twice; vecdb_hnsw_merge_pending links them all.
INSERT INTO p SELECT i, rnd16() FROM generate_series(1001, 1300) i;
SELECT vecdb_hnsw_pending_count('p_v') AS pending;
SELECT count(*) AS queries, count(*) FILTER (WHERE knn('p', v, 1, true) = ARRAY[id]) AS found_first
FROM p WHERE id > 1000;
SET enable_seqscan = off;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows
FROM (SELECT id FROM p ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
-- The whole stream (pending rows come off a heap) in non-decreasing order.
SELECT count(*) AS rows, bool_and(d >= prev) AS nondecreasing
FROM (SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev
      FROM (SELECT row_number() OVER () AS n, d
            FROM (SELECT v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' AS d FROM p
                  ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s) s2) s3;
RESET enable_seqscan;
SELECT errors('p_v') AS errors;
SELECT vecdb_hnsw_merge_pending('p_v') AS merged;
SELECT vecdb_hnsw_pending_count('p_v') AS pending, vecdb_hnsw_merge_pending('p_v') AS merged_again;
SELECT count(*) AS queries, count(*) FILTER (WHERE knn('p', v, 1, true) = ARRAY[id]) AS found_first
FROM p WHERE id > 1000;
SELECT errors('p_v') AS errors;

-- 5. Pending pages are reused once merged (the index does not grow per merge).
SELECT pg_relation_size('p_v') AS size_before \gset
INSERT INTO p SELECT i, rnd16() FROM generate_series(2001, 2300) i;
SELECT vecdb_hnsw_merge_pending('p_v') AS merged;
INSERT INTO p SELECT i, rnd16() FROM generate_series(3001, 3300) i;
SELECT vecdb_hnsw_merge_pending('p_v') AS merged;
SELECT pg_relation_size('p_v') - :size_before <= 16 * 8192 + 300 * 8192 / 8 AS bounded_growth;

-- 6. Back-pressure: with a 64 kB limit the list stays near 64 kB (entries of
-- 16 floats take 80 bytes: about 820 of them).
ALTER INDEX p_v SET (pending_list_limit = 64);
INSERT INTO p SELECT i, rnd16() FROM generate_series(4001, 6000) i;
SELECT vecdb_hnsw_pending_count('p_v') BETWEEN 1 AND 900 AS bounded;
SELECT errors('p_v') AS errors;
-- The setting applies where the reloption is not set.
ALTER INDEX p_v RESET (pending_list_limit);
SET hnsw.pending_list_limit = 64;
INSERT INTO p SELECT i, rnd16() FROM generate_series(6001, 8000) i;
SELECT vecdb_hnsw_pending_count('p_v') BETWEEN 1 AND 900 AS bounded;
RESET hnsw.pending_list_limit;

-- 7. Turning the pending list off: rows go straight into the graph.
SELECT vecdb_hnsw_merge_pending('p_v') > 0 AS merged;
ALTER INDEX p_v SET (pending_list_limit = 0);
INSERT INTO p SELECT i, rnd16() FROM generate_series(9001, 9100) i;
SELECT vecdb_hnsw_pending_count('p_v') AS pending_reloption_off;
ALTER INDEX p_v RESET (pending_list_limit);
SET hnsw.pending_list_limit = 0;
INSERT INTO p SELECT i, rnd16() FROM generate_series(9101, 9200) i;
SELECT vecdb_hnsw_pending_count('p_v') AS pending_setting_off;
RESET hnsw.pending_list_limit;
SELECT count(*) AS queries, count(*) FILTER (WHERE knn('p', v, 1, true) = ARRAY[id]) AS found_first
FROM p WHERE id > 9000;
SELECT errors('p_v') AS errors;

-- 8. Cosine and halfvec, with a zero vector (never indexed under cosine).
CREATE TABLE ph (id int, h halfvec(16));
CREATE INDEX ph_h ON ph USING hnsw (h halfvec_cosine_ops);
INSERT INTO ph SELECT i, rnd16()::halfvec FROM generate_series(1, 300) i;
INSERT INTO ph VALUES (0, array_fill(0, ARRAY[16])::real[]::halfvec);
SELECT vecdb_hnsw_pending_count('ph_h') AS pending;
SET enable_seqscan = off;
SELECT count(*) AS rows FROM (SELECT id FROM ph ORDER BY h <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]') s;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM ph WHERE id > 0 ORDER BY
         (h::vector <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'), id LIMIT 20) e) AS exact_order
FROM (SELECT id FROM ph ORDER BY h <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 20) s;
RESET enable_seqscan;
SELECT errors('ph_h') AS errors;

-- 9. Options and settings.
CREATE INDEX ON p USING hnsw (v) WITH (pending_list_limit = -2);
CREATE INDEX ON p USING hnsw (v) WITH (pending_list_limit = 'big');
SET hnsw.pending_list_limit = -1;
SET hnsw.pending_list_limit = '8MB';
SHOW hnsw.pending_list_limit;
RESET hnsw.pending_list_limit;
SET hnsw.background_merge = maybe;
SELECT vecdb_hnsw_merge_pending('p');
SELECT vecdb_hnsw_pending_count('p');
CREATE ROLE pending_other;
SET ROLE pending_other;
SELECT vecdb_hnsw_merge_pending('p_v');
RESET ROLE;
DROP ROLE pending_other;

DROP TABLE p, ph;
DROP FUNCTION rnd16(), knn(regclass, vector, int, boolean), errors(regclass), summary_pending(regclass);
