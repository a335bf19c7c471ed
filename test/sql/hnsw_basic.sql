-- hnsw: DDL, options and their errors, every opclass against exact ordering,
-- NULLs and zero vectors, plans.
SELECT setseed(0.42);
CREATE TABLE items (id int PRIMARY KEY, v vector(8), h halfvec(8), cat int);
INSERT INTO items
SELECT i, (SELECT array_agg(round((random() - 0.5)::numeric, 4)) FROM generate_series(1, 8) WHERE i > 0)::vector,
       NULL, i % 10
FROM generate_series(1, 500) i;
UPDATE items SET h = v::halfvec;
INSERT INTO items VALUES (501, NULL, NULL, 1), (502, '[0,0,0,0,0,0,0,0]', '[0,0,0,0,0,0,0,0]', 2);

CREATE INDEX i_l2 ON items USING hnsw (v vector_l2_ops);
CREATE INDEX i_ip ON items USING hnsw (v vector_ip_ops);
CREATE INDEX i_cos ON items USING hnsw (v vector_cosine_ops);
CREATE INDEX i_l1 ON items USING hnsw (v vector_l1_ops) WITH (m = 4, ef_construction = 8);
CREATE INDEX h_l2 ON items USING hnsw (h halfvec_l2_ops);
CREATE INDEX h_ip ON items USING hnsw (h halfvec_ip_ops);
CREATE INDEX h_cos ON items USING hnsw (h halfvec_cosine_ops);
CREATE INDEX h_l1 ON items USING hnsw (h halfvec_l1_ops);
-- vector_l2_ops is the default
CREATE INDEX i_default ON items USING hnsw (v);
SELECT opcname FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'hnsw' AND c.opcdefault ORDER BY 1;
DROP INDEX i_default;

-- Index order equals exact order (k nearest, ties broken by id on both sides).
CREATE FUNCTION knn_matches(col text, op text, q text, k int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[];
BEGIN
  SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY %I %s %L LIMIT %s) s',
                 col, op, q, k) INTO a;
  SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on; SET LOCAL enable_bitmapscan = off;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY %I %s %L, id LIMIT %s) s',
                 col, op, q, k) INTO b;
  IF a IS DISTINCT FROM b THEN RAISE NOTICE '% %: index % exact %', col, op, a, b; END IF;
  RETURN a = b;
END $$;
SET hnsw.ef_search = 100;
SELECT c, o, knn_matches(c, o, '[0.1,0.2,-0.3,0.4,0.1,0,0.2,-0.1]', 20) AS exact,
       knn_matches(c, o, '[-0.4,0.25,0.3,-0.1,0.05,0.3,-0.2,0.1]', 20) AS exact2
FROM (VALUES ('v'), ('h')) c(c), (VALUES ('<->'), ('<#>'), ('<=>'), ('<+>')) o(o)
ORDER BY 1, 2;

-- The index returns the SQL distance.
SET enable_seqscan = off;
SELECT bool_and(abs(d - (v <-> '[0.1,0.2,-0.3,0.4,0.1,0,0.2,-0.1]')) < 1e-6)
FROM (SELECT v, v <-> '[0.1,0.2,-0.3,0.4,0.1,0,0.2,-0.1]' AS d FROM items
      ORDER BY v <-> '[0.1,0.2,-0.3,0.4,0.1,0,0.2,-0.1]' LIMIT 10) s;

-- NULL rows are not indexed; under cosine neither is the zero vector.
SET hnsw.ef_search = 1000;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[1,1,1,1,1,1,1,1]') s;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <=> '[1,1,1,1,1,1,1,1]') s;
SELECT count(*) FROM (SELECT id FROM items ORDER BY h <=> '[1,1,1,1,1,1,1,1]') s;
-- A zero query under cosine has no order: every indexed row comes back.
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <=> '[0,0,0,0,0,0,0,0]' LIMIT 1000) s;
-- Wrong dimension in the query.
SELECT id FROM items ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET hnsw.ef_search;

-- Plans (larger tables: hnsw_iterative): the index serves ORDER BY distance,
-- never a plain scan or a WHERE on the distance.
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY h <#> '[1,1,1,1,1,1,1,1]' LIMIT 5;
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE v <-> '[1,1,1,1,1,1,1,1]' < 1;
-- A tiny table is cheaper to scan.
CREATE TABLE tiny (id int, v vector(3));
INSERT INTO tiny VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[7,8,9]');
CREATE INDEX ON tiny USING hnsw (v);
ANALYZE tiny;
EXPLAIN (COSTS OFF) SELECT id FROM tiny ORDER BY v <-> '[1,1,1]' LIMIT 1;
-- A very selective filter served by a btree is cheaper than the graph.
CREATE INDEX ON items (id);
ANALYZE items;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE id < 5 ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 3;

-- Options and their errors.
CREATE INDEX ON items USING hnsw (v) WITH (m = 1);
CREATE INDEX ON items USING hnsw (v) WITH (m = 101);
CREATE INDEX ON items USING hnsw (v) WITH (ef_construction = 3);
CREATE INDEX ON items USING hnsw (v) WITH (ef_construction = 1001);
CREATE INDEX ON items USING hnsw (v) WITH (m = 40);
CREATE INDEX ON items USING hnsw (v) WITH (nope = 1);
CREATE INDEX ON items USING hnsw (v, h);
CREATE INDEX ON items USING hnsw (cat);
CREATE UNIQUE INDEX ON items USING hnsw (v);
ALTER INDEX i_l2 SET (ef_construction = 100);
SELECT reloptions FROM pg_class WHERE relname = 'i_l2';
-- Settings.
SHOW hnsw.ef_search;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.iterative_scan = 'sometimes';
SET hnsw.no_such_setting = 1;
-- Build phase names for pg_stat_progress_create_index.
SELECT n, pg_indexam_progress_phasename(a.oid, n) FROM pg_am a, generate_series(1, 5) n
WHERE amname = 'hnsw' ORDER BY n;

-- An index built on an empty table without a declared dimension learns it
-- from the first row.
CREATE TABLE e (id int, v vector);
CREATE INDEX ON e USING hnsw (v);
SELECT id FROM e ORDER BY v <-> '[1,2]' LIMIT 3;
INSERT INTO e VALUES (1, '[1,2]'), (2, '[3,4]'), (3, NULL);
SET enable_seqscan = off;
SELECT id FROM e ORDER BY v <-> '[3,3]' LIMIT 3;
INSERT INTO e VALUES (4, '[1,2,3]');
RESET enable_seqscan;

SELECT * FROM vecdb_last_scan_stats() WHERE false;
DROP TABLE items, tiny, e;
DROP FUNCTION knn_matches;
