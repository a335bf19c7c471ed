-- hnsw: inserts after the build, deletes + VACUUM, REINDEX, CREATE INDEX
-- CONCURRENTLY, unlogged and partitioned tables, TRUNCATE.
SELECT setseed(0.17);
CREATE TABLE m (id int PRIMARY KEY, v vector(8), h halfvec(8));
CREATE FUNCTION rnd8() RETURNS vector LANGUAGE sql VOLATILE AS
$$ SELECT array_agg(round((random() - 0.5)::numeric, 4))::vector FROM generate_series(1, 8) $$;
INSERT INTO m SELECT i, rnd8() FROM generate_series(1, 300) i;
UPDATE m SET h = v::halfvec;
CREATE INDEX m_v ON m USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX m_h ON m USING hnsw (h halfvec_cosine_ops) WITH (m = 8, ef_construction = 32);

CREATE FUNCTION knn_matches(col text, op text, q text, k int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[];
BEGIN
  SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; SET LOCAL enable_bitmapscan = off;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY %I %s %L LIMIT %s) s',
                 col, op, q, k) INTO a;
  SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM m ORDER BY %I %s %L, id LIMIT %s) s',
                 col, op, q, k) INTO b;
  IF a IS DISTINCT FROM b THEN RAISE NOTICE '% %: index % exact %', col, op, a, b; END IF;
  RETURN a = b;
END $$;
CREATE FUNCTION check_all() RETURNS TABLE (col text, exact boolean) LANGUAGE sql AS $$
  SELECT 'v', bool_and(knn_matches('v', '<->', q, 15)) FROM (SELECT v::text q FROM m ORDER BY id LIMIT 5) s
  UNION ALL
  SELECT 'h', bool_and(knn_matches('h', '<=>', q, 15)) FROM (SELECT h::text q FROM m ORDER BY id LIMIT 5) s
$$;
CREATE FUNCTION indexed_rows(t regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  SET LOCAL enable_seqscan = off; SET LOCAL hnsw.ef_search = 1000;
  EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s ORDER BY v <-> %L) s', t,
                 '[0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1]') INTO n;
  RETURN n;
END $$;
SET hnsw.ef_search = 200;
SELECT * FROM check_all();

-- Rows inserted after the build are found at once.
INSERT INTO m SELECT i, rnd8() FROM generate_series(301, 600) i;
UPDATE m SET h = v::halfvec WHERE id > 300;
SELECT * FROM check_all();
SELECT indexed_rows('m');
BEGIN;
INSERT INTO m VALUES (1000, '[9,9,9,9,9,9,9,9]');
SET LOCAL enable_seqscan = off;
SELECT id FROM m ORDER BY v <-> '[9,9,9,9,9,9,9,9]' LIMIT 1;
ROLLBACK;
SET enable_seqscan = off;
SELECT id FROM m ORDER BY v <-> '[9,9,9,9,9,9,9,9]' LIMIT 1;
RESET enable_seqscan;

-- Deletes + VACUUM: results stay exact, deleted rows leave, slots are reused.
DELETE FROM m WHERE id % 3 = 0;
VACUUM m;
SELECT * FROM check_all();
SELECT indexed_rows('m');
SELECT pg_relation_size('m_v') AS size_before \gset
INSERT INTO m SELECT i, rnd8() FROM generate_series(601, 750) i;
SELECT pg_relation_size('m_v') = :size_before AS slots_reused;
SELECT * FROM check_all();
DELETE FROM m;
VACUUM m;
SELECT indexed_rows('m');
INSERT INTO m SELECT i, rnd8() FROM generate_series(1, 300) i;
UPDATE m SET h = v::halfvec;
SELECT * FROM check_all();
SELECT indexed_rows('m');

-- REINDEX, CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY.
REINDEX INDEX m_v;
SELECT * FROM check_all();
DROP INDEX m_v;
CREATE INDEX CONCURRENTLY m_v ON m USING hnsw (v vector_l2_ops);
SELECT * FROM check_all();
REINDEX INDEX CONCURRENTLY m_v;
SELECT * FROM check_all();
REINDEX TABLE m;
SELECT * FROM check_all();

-- TRUNCATE empties the index; it fills again.
TRUNCATE m;
SELECT indexed_rows('m');
INSERT INTO m SELECT i, rnd8() FROM generate_series(1, 100) i;
UPDATE m SET h = v::halfvec;
SELECT indexed_rows('m');
SELECT * FROM check_all();

-- Unlogged table (the index gets an init fork).
CREATE UNLOGGED TABLE u (id int, v vector(3));
INSERT INTO u SELECT i, ARRAY[i, i % 7, i % 13]::vector FROM generate_series(1, 200) i;
CREATE INDEX u_v ON u USING hnsw (v);
SELECT relpersistence FROM pg_class WHERE relname = 'u_v';
SELECT pg_relation_filepath('u_v') IS NOT NULL AS has_file;
SET enable_seqscan = off;
SELECT id FROM u ORDER BY v <-> '[50,3,5]', id LIMIT 2;
TRUNCATE u;
SELECT id FROM u ORDER BY v <-> '[50,3,5]' LIMIT 2;
INSERT INTO u SELECT i, ARRAY[i, i % 7, i % 13]::vector FROM generate_series(1, 200) i;
SELECT id FROM u ORDER BY v <-> '[50,3,5]', id LIMIT 2;
RESET enable_seqscan;

-- Partitioned table: one index per partition, merged by distance.
CREATE TABLE p (id int, v vector(3)) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100);
CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (1000);
INSERT INTO p SELECT i, ARRAY[i, i % 7, i % 13]::vector FROM generate_series(1, 200) i;
CREATE INDEX ON p USING hnsw (v vector_l2_ops);
ANALYZE p;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM p ORDER BY v <-> '[99,3,5]' LIMIT 3;
SELECT id FROM p ORDER BY v <-> '[99,3,5]' LIMIT 3;
CREATE TABLE p3 PARTITION OF p FOR VALUES FROM (1000) TO (2000);
INSERT INTO p VALUES (1500, '[99,3,5]');
SELECT id FROM p ORDER BY v <-> '[99,3,5]' LIMIT 2;
RESET enable_seqscan;

DROP TABLE m, u, p;
DROP FUNCTION knn_matches, check_all, indexed_rows, rnd8;
