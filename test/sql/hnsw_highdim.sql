-- hnsw: dimensions beyond one 8 KB page (slots span several blocks).
SELECT setseed(0.1);
CREATE FUNCTION rndv(n int) RETURNS real[] LANGUAGE sql VOLATILE AS
$$ SELECT array_agg(round(random()::numeric, 3)::real) FROM generate_series(1, n) $$;
CREATE FUNCTION knn_matches(t text, col text, op text, qid int, k int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE a int[]; b int[];
BEGIN
  SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = on; SET LOCAL enable_bitmapscan = off;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %I ORDER BY %I %s (SELECT %I FROM %I WHERE id = %s) LIMIT %s) s',
                 t, col, op, col, t, qid, k) INTO a;
  SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = on;
  EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %I ORDER BY %I %s (SELECT %I FROM %I WHERE id = %s), id LIMIT %s) s',
                 t, col, op, col, t, qid, k) INTO b;
  IF a IS DISTINCT FROM b THEN RAISE NOTICE '%: index % exact %', col, a, b; END IF;
  RETURN a = b;
END $$;

-- 3,072 dimensions: 12 KB per vector, a slot spans 2 blocks.
CREATE TABLE d3k (id int, v vector(3072));
INSERT INTO d3k SELECT i, rndv(3072)::vector FROM generate_series(1, 200) i;
CREATE INDEX ON d3k USING hnsw (v vector_l2_ops);
SELECT knn_matches('d3k', 'v', '<->', 77, 5), knn_matches('d3k', 'v', '<->', 150, 5);
SELECT pg_relation_size('d3k_v_idx') / 8192 >= 2 * 200 AS spans_blocks;

-- 16,000 dimensions (the type's limit), float32 and float16.
CREATE TABLE d16k (id int, v vector(16000), h halfvec(16000));
INSERT INTO d16k SELECT i, rndv(16000)::vector FROM generate_series(1, 50) i;
UPDATE d16k SET h = v::halfvec;
CREATE INDEX ON d16k USING hnsw (v vector_l2_ops);
CREATE INDEX ON d16k USING hnsw (h halfvec_cosine_ops);
SELECT knn_matches('d16k', 'v', '<->', 33, 5), knn_matches('d16k', 'h', '<=>', 34, 5);
-- Inserts, deletes and VACUUM at this size.
INSERT INTO d16k SELECT i, rndv(16000)::vector FROM generate_series(51, 70) i;
UPDATE d16k SET h = v::halfvec WHERE id > 50;
SELECT knn_matches('d16k', 'v', '<->', 63, 5), knn_matches('d16k', 'h', '<=>', 64, 5);
DELETE FROM d16k WHERE id < 30;
VACUUM d16k;
SELECT knn_matches('d16k', 'v', '<->', 63, 5), knn_matches('d16k', 'h', '<=>', 64, 5);
INSERT INTO d16k SELECT i, rndv(16000)::vector FROM generate_series(71, 80) i;
UPDATE d16k SET h = v::halfvec WHERE id > 70;
SELECT knn_matches('d16k', 'v', '<->', 75, 5), knn_matches('d16k', 'h', '<=>', 76, 5);

DROP TABLE d3k, d16k;
DROP FUNCTION rndv, knn_matches;
