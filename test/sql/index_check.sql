-- vecdb_index_check on sound indexes of every shape: it must report no
-- error (warnings such as unreachable nodes depend on random levels and are
-- not shown). (Corruption it must find: test/t/020_index_check_corruption.pl.)
-- check_summary merges the pending list first, so that the counts of graph
-- nodes do not depend on how far the background merger got (pending pages
-- are checked in hnsw_pending).
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET hnsw.ef_search = 100;
CREATE FUNCTION check_summary(idx regclass) RETURNS TABLE (errors bigint, live bigint, deleted bigint, heap_rows bigint)
LANGUAGE sql AS $$
    SELECT vecdb_hnsw_merge_pending(idx);
    SELECT (SELECT count(*) FROM vecdb_index_check(idx) WHERE severity = 'error'),
           (regexp_match(detail, 'live (\d+)'))[1]::bigint,
           (regexp_match(detail, 'deleted (\d+)'))[1]::bigint,
           (regexp_match(detail, 'heap rows checked (\d+)'))[1]::bigint
    FROM vecdb_index_check(idx) WHERE kind = 'summary'
$$;

CREATE TABLE chk (id int PRIMARY KEY, v vector(16), h halfvec(16));
INSERT INTO chk SELECT i, (SELECT array_agg(sin(i * 7 + j))::real[] FROM generate_series(1, 16) j),
                          (SELECT array_agg(cos(i * 5 + j))::real[] FROM generate_series(1, 16) j)
FROM generate_series(1, 3000) i;
-- Rows the indexes skip: NULLs, and a zero vector under cosine.
INSERT INTO chk VALUES (3001, NULL, NULL), (3002, array_fill(0, ARRAY[16])::real[], array_fill(0, ARRAY[16])::real[]);
CREATE INDEX chk_v_l2 ON chk USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
CREATE INDEX chk_v_ip ON chk USING hnsw (v vector_ip_ops);
CREATE INDEX chk_v_cos ON chk USING hnsw (v vector_cosine_ops);
CREATE INDEX chk_v_l1 ON chk USING hnsw (v vector_l1_ops);
CREATE INDEX chk_h_l2 ON chk USING hnsw (h halfvec_l2_ops);
CREATE INDEX chk_h_cos ON chk USING hnsw (h halfvec_cosine_ops);
SELECT 'chk_v_l2' AS idx, * FROM check_summary('chk_v_l2')
UNION ALL SELECT 'chk_v_ip', * FROM check_summary('chk_v_ip')
UNION ALL SELECT 'chk_v_cos', * FROM check_summary('chk_v_cos')
UNION ALL SELECT 'chk_v_l1', * FROM check_summary('chk_v_l1')
UNION ALL SELECT 'chk_h_l2', * FROM check_summary('chk_h_l2')
UNION ALL SELECT 'chk_h_cos', * FROM check_summary('chk_h_cos');

-- Inserts after the build, updates (new versions and HOT ones), deletes,
-- vacuum, inserts into vacuumed slots.
INSERT INTO chk SELECT i, (SELECT array_agg(sin(i * 7 + j))::real[] FROM generate_series(1, 16) j),
                          (SELECT array_agg(cos(i * 5 + j))::real[] FROM generate_series(1, 16) j)
FROM generate_series(3003, 3600) i;
UPDATE chk SET v = v * '[2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2]' WHERE id % 10 = 1;
DELETE FROM chk WHERE id % 4 = 0;
SELECT 'before vacuum' AS stage, * FROM check_summary('chk_v_l2');
VACUUM chk;
SELECT 'after vacuum' AS stage, * FROM check_summary('chk_v_l2')
UNION ALL SELECT 'after vacuum, halfvec', * FROM check_summary('chk_h_l2');
INSERT INTO chk SELECT i, (SELECT array_agg(sin(i * 7 + j))::real[] FROM generate_series(1, 16) j)
FROM generate_series(4000, 4400) i;
SELECT 'reused slots' AS stage, * FROM check_summary('chk_v_l2')
UNION ALL SELECT 'reused slots, cosine', * FROM check_summary('chk_v_cos');
SELECT count(*) AS rows_with_v FROM chk WHERE v IS NOT NULL;

-- Slots that span blocks (3000 float32 = 12000 bytes), and an empty index
-- that learns its dimension from the first insert.
CREATE TABLE wide (id int, v vector(3000));
INSERT INTO wide SELECT i, (SELECT array_agg(sin(i + j))::real[] FROM generate_series(1, 3000) j)
FROM generate_series(1, 60) i;
CREATE INDEX wide_v ON wide USING hnsw (v);
DELETE FROM wide WHERE id <= 20;
VACUUM wide;
SELECT * FROM check_summary('wide_v');
CREATE TABLE loose (v vector);
CREATE INDEX loose_v ON loose USING hnsw (v);
SELECT * FROM check_summary('loose_v');
INSERT INTO loose VALUES ('[1,2,3]'), ('[3,2,1]');
SELECT * FROM check_summary('loose_v');

-- raise_error on a sound index returns the summary only.
SELECT severity, kind FROM vecdb_index_check('chk_v_ip', heapallindexed => false, raise_error => true);

-- Misuse.
SELECT * FROM vecdb_index_check('chk_pkey');
SELECT * FROM vecdb_index_check('chk');
CREATE ROLE regress_vecdb_check_other;
GRANT SELECT ON chk TO regress_vecdb_check_other;
SET ROLE regress_vecdb_check_other;
SELECT * FROM vecdb_index_check('chk_v_l2');
RESET ROLE;
SELECT proname, provolatile, proisstrict, proparallel FROM pg_proc WHERE proname = 'vecdb_index_check';
DROP TABLE chk, wide, loose;
DROP FUNCTION check_summary;
DROP ROLE regress_vecdb_check_other;
