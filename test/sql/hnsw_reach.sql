-- Every live row stays reachable from the entry point (so index scans can
-- return it) through inserts, deletes and VACUUM. Inner product on vectors
-- whose norms differ 50-fold is the hard case: a small-norm vector is "far"
-- from everything, so full neighbour lists re-selected by the heuristic
-- drop it, and nodes whose only in-edges ran through deleted ones used to
-- be stranded by vacuum. Counts of 'unreachable' rows of vecdb_index_check
-- must be 0 after every step.
\set VERBOSITY terse
SET hnsw.ef_search = 100;
-- Pseudo-random vector i: components in [-0.5, 0.5), scaled by a norm
-- factor between e^-3 and e^1.
CREATE FUNCTION reach_vec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((x - floor(x) - 0.5) * exp(4 * (sin(i * 3.7) * 0.5 + 0.5) - 3))::real[]::vector
  FROM (SELECT sin(i * 12.9898 + j * 78.233) * 43758.5453 AS x FROM generate_series(1, 16) j) s $$;
CREATE FUNCTION unreachable(idx text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM vecdb_index_check(idx::regclass, raise_error => false) WHERE kind = 'unreachable' $$;
CREATE FUNCTION reach_state(stage text) RETURNS TABLE (stage text, ip_unreachable bigint, l2_unreachable bigint)
LANGUAGE sql AS $$ SELECT stage, unreachable('reach_ip'), unreachable('reach_l2') $$;

-- Indexes built empty: every node arrives through aminsert.
CREATE TABLE reach (id int PRIMARY KEY, v vector(16));
CREATE INDEX reach_ip ON reach USING hnsw (v vector_ip_ops) WITH (m = 4, ef_construction = 16);
CREATE INDEX reach_l2 ON reach USING hnsw (v vector_l2_ops);
INSERT INTO reach SELECT i, reach_vec(i) FROM generate_series(1, 2000) i;
SELECT * FROM reach_state('inserts');
DELETE FROM reach WHERE id % 3 = 0;
VACUUM reach;
SELECT * FROM reach_state('delete + vacuum');
INSERT INTO reach SELECT i, reach_vec(i) FROM generate_series(2001, 3000) i;
SELECT * FROM reach_state('inserts into vacuumed slots');
DELETE FROM reach WHERE id % 5 = 1;
VACUUM reach;
SELECT * FROM reach_state('second delete + vacuum');
DELETE FROM reach WHERE id % 7 IN (2, 3, 4);
VACUUM reach;
SELECT * FROM reach_state('third delete + vacuum');
INSERT INTO reach SELECT i, reach_vec(i) FROM generate_series(3001, 3500) i;
VACUUM reach;  -- nothing died: vacuumcleanup alone walks the graph
SELECT * FROM reach_state('inserts + vacuum');

-- Rows are found by exact-match queries on the L2 index (each vector is
-- its own nearest neighbour). With stranded nodes about 84 % were found
-- here; now about 96 % (the rest are search misses after heavy deletes,
-- not unreachable rows), hence the margin.
SET enable_seqscan = off;
SELECT count(*) > 1000 AS enough_rows,
       count(*) FILTER (WHERE (SELECT r2.id FROM reach r2 ORDER BY r2.v <-> r.v LIMIT 1) = r.id) >= 0.9 * count(*)
         AS exact_matches_found
FROM reach r;
RESET enable_seqscan;

-- A bulk build links every node in itself (it used to leave 50 of these
-- 2,000 rows stranded until a VACUUM), and VACUUM keeps it so.
CREATE TABLE reach_built (id int, v vector(16));
INSERT INTO reach_built SELECT i, reach_vec(i) FROM generate_series(1, 2000) i;
CREATE INDEX reach_built_ip ON reach_built USING hnsw (v vector_ip_ops) WITH (m = 4, ef_construction = 16);
SELECT unreachable('reach_built_ip') AS built_unreachable_after_create;
VACUUM reach_built;
SELECT unreachable('reach_built_ip') AS built_unreachable_after_vacuum;
DELETE FROM reach_built WHERE id % 2 = 0;
VACUUM reach_built;
SELECT unreachable('reach_built_ip') AS built_unreachable_after_delete_vacuum;
SELECT count(*) FROM vecdb_index_check('reach_built_ip') WHERE severity <> 'info';

DROP TABLE reach, reach_built;
DROP FUNCTION reach_state, unreachable, reach_vec;
