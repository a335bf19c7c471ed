-- hnsw: the packed layout, where slots lie back to back over consecutive
-- element pages and a slot's vector may continue on the next page.
-- 784 float32 dims (3,280-byte slots: ~2.44 a page instead of 2), 1,000
-- float32 (4,144 B: ~1.93 instead of 1; a new page's only slot may straddle)
-- and 1,000 float16 (2,144 B: ~3.74 instead of 3).
SELECT setseed(0.3);
CREATE FUNCTION rndv(n int) RETURNS real[] LANGUAGE sql VOLATILE AS
$$ SELECT array_agg(round(random()::numeric, 3)::real) FROM generate_series(1, n) $$;
-- Pseudo-random vectors from a hash of (i, j), not random(): tables added
-- later do not shift the data of the ones after them.
CREATE FUNCTION hashv(i int, n int) RETURNS vector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(round((s - floor(s))::numeric, 3)::real ORDER BY j)::vector
   FROM (SELECT j, sin(i * 12.9898 + j * 78.233) * 43758.5453 AS s FROM generate_series(1, n) j) h $$;
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
-- Exact order for 10 queries, as one row.
CREATE FUNCTION all_match(t text, col text, op text, ids int[]) RETURNS boolean LANGUAGE sql AS
$$ SELECT bool_and(knn_matches(t, col, op, q, 10)) FROM unnest(ids) q $$;
CREATE FUNCTION check_errors(idx text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM vecdb_index_check(idx::regclass, raise_error => false) WHERE severity = 'error' $$;
SET hnsw.ef_search = 100;

-- Built by CREATE INDEX.
CREATE TABLE s784 (id int, v vector(784));
INSERT INTO s784 SELECT i, rndv(784)::vector FROM generate_series(1, 300) i;
CREATE INDEX s784_idx ON s784 USING hnsw (v vector_l2_ops);
-- Linked at insert time first (the pending list's pages would blur the
-- size checks; it comes after).
ALTER INDEX s784_idx SET (pending_list_limit = 0);
SELECT all_match('s784', 'v', '<->', '{1,17,50,99,150,151,200,249,298,300}');
-- 300 slots on 122 element pages (2 a page would need 150) + metapage + upper page.
SELECT pg_relation_size('s784_idx') / 8192 AS blocks;
SELECT check_errors('s784_idx');
-- Inserts, deletes + VACUUM (slots freed and reused, straddling ones too).
INSERT INTO s784 SELECT i, rndv(784)::vector FROM generate_series(301, 400) i;
SELECT all_match('s784', 'v', '<->', '{3,301,333,350,399,400,120,121,122,5}');
CREATE TEMP TABLE sizes AS SELECT pg_relation_size('s784_idx') / 8192 AS before;
DELETE FROM s784 WHERE id % 3 = 0;
VACUUM s784;
SELECT check_errors('s784_idx');
SELECT all_match('s784', 'v', '<->', '{1,2,4,5,301,302,304,400,397,200}');
INSERT INTO s784 SELECT i, rndv(784)::vector FROM generate_series(401, 480) i;
SELECT all_match('s784', 'v', '<->', '{401,402,440,479,480,1,2,4,5,7}');
SELECT check_errors('s784_idx');
-- Freed slots were reused: 133 freed on more blocks than the free list's 64,
-- so at least 64 of the 80 rows went to old blocks (at most 16 new slots).
SELECT pg_relation_size('s784_idx') / 8192 - before <= 8 AS reused FROM sizes;
-- The same through the pending list: mergers reserve the freed slots too.
ALTER INDEX s784_idx RESET (pending_list_limit);
DELETE FROM s784 WHERE id % 5 = 0;
VACUUM s784;
UPDATE sizes SET before = pg_relation_size('s784_idx') / 8192;
SET hnsw.background_merge = off;
INSERT INTO s784 SELECT i, hashv(i, 784) FROM generate_series(481, 540) i;
SELECT vecdb_hnsw_merge_pending('s784_idx') AS merged;
RESET hnsw.background_merge;
SELECT all_match('s784', 'v', '<->', '{481,482,500,539,540,1,2,4,7,401}');
SELECT check_errors('s784_idx');
-- 60 rows: 30 new list pages, and the rows in freed slots (at most 8 new
-- blocks).
SELECT pg_relation_size('s784_idx') / 8192 - before <= 30 + 8 AS reused_by_merges FROM sizes;

-- Slots freed on more blocks than the metapage's list holds (64): the rest
-- are found through the free space map, so re-inserted rows do not grow the
-- index (2 new blocks; without the map 16: the rows the listed blocks could
-- not take were appended).
CREATE TABLE c784 (id int, v vector(784));
INSERT INTO c784 SELECT i, hashv(i, 784) FROM generate_series(1, 480) i;
CREATE INDEX c784_idx ON c784 USING hnsw (v vector_l2_ops) WITH (pending_list_limit = 0);
DELETE FROM c784 WHERE id % 4 = 0;
VACUUM c784;
CREATE TEMP TABLE c784_size AS SELECT pg_relation_size('c784_idx') / 8192 AS blocks;
INSERT INTO c784 SELECT i, hashv(i + 1000, 784) FROM generate_series(1, 480) i WHERE i % 4 = 0;
SELECT all_match('c784', 'v', '<->', '{1,2,4,8,100,240,333,477,479,480}');
SELECT check_errors('c784_idx');
SELECT pg_relation_size('c784_idx') / 8192 - blocks <= 4 AS reused_through_fsm FROM c784_size;
DROP TABLE c784;

-- Built empty, filled by inserts alone (every slot, straddling ones
-- included, is allocated by inserts), linked at insert time.
CREATE TABLE i784 (id int, v vector(784));
CREATE INDEX i784_idx ON i784 USING hnsw (v vector_l2_ops) WITH (pending_list_limit = 0);
INSERT INTO i784 SELECT i, rndv(784)::vector FROM generate_series(1, 250) i;
SELECT all_match('i784', 'v', '<->', '{1,2,50,99,100,101,150,200,249,250}');
SELECT check_errors('i784_idx');
-- About as dense as a build: (8,160 - 144) / 3,280 slots a page on average
-- (holes where a header would cross a page), one slot lost per upper page
-- (the classic layout takes 125 element pages).
SELECT pg_relation_size('i784_idx') / 8192 <= 3 + ceil(250 * 3280 / 8016.0) AS dense;

-- The same through the pending list: rows are found exactly while they
-- wait, mergers reserve packed slots (a straddling one with its tail page
-- written first), and the list's pages are reused by the next batch.
CREATE TABLE p784 (id int, v vector(784));
CREATE INDEX p784_idx ON p784 USING hnsw (v vector_l2_ops);
SET hnsw.background_merge = off;
INSERT INTO p784 SELECT id, v FROM i784;
SELECT vecdb_hnsw_pending_count('p784_idx') AS pending;
SELECT all_match('p784', 'v', '<->', '{1,2,50,99,100,101,150,200,249,250}');
SELECT vecdb_hnsw_merge_pending('p784_idx') AS merged;
SELECT all_match('p784', 'v', '<->', '{1,2,50,99,100,101,150,200,249,250}');
SELECT check_errors('p784_idx');
CREATE TEMP TABLE p784_size AS SELECT pg_relation_size('p784_idx') / 8192 AS blocks;
INSERT INTO p784 SELECT i, hashv(i, 784) FROM generate_series(251, 500) i;
SELECT vecdb_hnsw_merge_pending('p784_idx') AS merged;
RESET hnsw.background_merge;
SELECT all_match('p784', 'v', '<->', '{1,2,250,251,252,300,400,499,500}');
SELECT check_errors('p784_idx');
-- The second batch added its element pages (about 102) and no list pages.
SELECT pg_relation_size('p784_idx') / 8192 - blocks <= 3 + ceil(250 * 3280 / 8016.0) AS list_reused FROM p784_size;

-- 1,000 float32: a new page may hold only one slot start, a straddling one.
CREATE TABLE s1k (id int, v vector(1000), h halfvec(1000));
INSERT INTO s1k SELECT i, rndv(1000)::vector FROM generate_series(1, 150) i;
UPDATE s1k SET h = v::halfvec;
CREATE INDEX s1k_v ON s1k USING hnsw (v vector_l2_ops);
CREATE INDEX s1k_h ON s1k USING hnsw (h halfvec_cosine_ops);
CREATE TABLE e1k (id int, v vector(1000));
CREATE INDEX e1k_v ON e1k USING hnsw (v vector_ip_ops) WITH (pending_list_limit = 0);
INSERT INTO e1k SELECT id, v FROM s1k;
SELECT all_match('s1k', 'v', '<->', '{1,2,3,50,75,76,77,100,149,150}'),
       all_match('s1k', 'h', '<=>', '{1,2,3,50,75,76,77,100,149,150}'),
       all_match('e1k', 'v', '<#>', '{1,2,3,50,75,76,77,100,149,150}');
SELECT pg_relation_size('s1k_v') / 8192 AS v_blocks, pg_relation_size('s1k_h') / 8192 AS h_blocks,
       pg_relation_size('e1k_v') / 8192 <= 3 + ceil(150 * 4144 / 8016.0) AS inserted_dense;
DELETE FROM s1k WHERE id % 2 = 0;
DELETE FROM e1k WHERE id % 2 = 0;
VACUUM s1k;
VACUUM e1k;
INSERT INTO s1k SELECT i, rndv(1000)::vector FROM generate_series(151, 200) i;
UPDATE s1k SET h = v::halfvec WHERE id > 150;
INSERT INTO e1k SELECT id, v FROM s1k WHERE id > 150;
SELECT all_match('s1k', 'v', '<->', '{1,3,5,99,151,152,170,199,200,101}'),
       all_match('s1k', 'h', '<=>', '{1,3,5,99,151,152,170,199,200,101}'),
       all_match('e1k', 'v', '<#>', '{1,3,5,99,151,152,170,199,200,101}');
SELECT check_errors('s1k_v'), check_errors('s1k_h'), check_errors('e1k_v');
-- Filled from empty through the pending list: a merger's reserved slot may
-- be a new page's only, straddling, slot (its tail page is written with the
-- head, before the slot is recorded).
CREATE TABLE e1kp (id int, v vector(1000));
CREATE INDEX e1kp_v ON e1kp USING hnsw (v vector_l2_ops);
SET hnsw.background_merge = off;
INSERT INTO e1kp SELECT id, v FROM s1k;
SELECT vecdb_hnsw_merge_pending('e1kp_v') AS merged;
RESET hnsw.background_merge;
SELECT all_match('e1kp', 'v', '<->', '{1,3,5,99,151,152,170,199,200,101}'), check_errors('e1kp_v');

-- glove-sized slots stay in the classic layout (15 whole slots a page).
CREATE TABLE g100 (id int, v vector(100));
INSERT INTO g100 SELECT i, rndv(100)::vector FROM generate_series(1, 150) i;
CREATE INDEX g100_idx ON g100 USING hnsw (v vector_cosine_ops);
SELECT pg_relation_size('g100_idx') / 8192 AS blocks;

DROP TABLE sizes, s784, i784, p784, s1k, e1k, e1kp, g100;
DROP FUNCTION hashv;
DROP FUNCTION rndv, knn_matches, all_match, check_errors;
