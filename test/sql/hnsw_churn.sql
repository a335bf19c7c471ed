-- hnsw under delete / VACUUM / re-insert rounds: the index does not grow
-- (freed slots are reused even when more than the metapage's 64 blocks have
-- some, through the free space map), every live row stays reachable, and the
-- answers stay right.
SELECT setseed(0.17);
CREATE TABLE ch (id int, v vector(8));
INSERT INTO ch
SELECT i, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 6000) i;
CREATE INDEX ch_idx ON ch USING hnsw (v);
-- about 46 slots per page: 131 element pages, far more than 64
SELECT pg_relation_size('ch_idx') / current_setting('block_size')::int > 100 AS many_pages;
CREATE TEMP TABLE size0 AS SELECT pg_relation_size('ch_idx') AS bytes;
CREATE TEMP TABLE saved (LIKE ch);

CREATE FUNCTION churn_round(seed float8) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM setseed(seed);
  TRUNCATE saved;
  WITH gone AS (DELETE FROM ch WHERE random() < 0.2 RETURNING *) INSERT INTO saved SELECT * FROM gone;
END $$;

-- Re-inserted rows go to the pending list first; merging them right away
-- (the background merger may beat us to it: the result is the same) keeps
-- the rounds deterministic.
SELECT churn_round(0.1);
VACUUM ch;
INSERT INTO ch SELECT * FROM saved;
SELECT vecdb_hnsw_merge_pending('ch_idx') >= 0 AS merged;
-- After one round the index holds the pending pages of one batch as well.
CREATE TEMP TABLE size1 AS SELECT pg_relation_size('ch_idx') AS bytes;
SELECT churn_round(0.2);
VACUUM ch;
INSERT INTO ch SELECT * FROM saved;
SELECT vecdb_hnsw_merge_pending('ch_idx') >= 0 AS merged;
SELECT churn_round(0.3);
VACUUM ch;
INSERT INTO ch SELECT * FROM saved;
SELECT vecdb_hnsw_merge_pending('ch_idx') >= 0 AS merged;

SELECT count(*) FROM ch;
-- Re-inserted rows went into freed slots and the pending pages were reused:
-- no growth after the first round (a few pages of slack for upper-level
-- records and rounding), and the first round added little more than one
-- batch's pending pages (1,200 rows of 8 dimensions: about 8 pages).
SELECT pg_relation_size('ch_idx') <= (SELECT bytes FROM size1) + 4 * current_setting('block_size')::int AS no_growth,
       (SELECT bytes FROM size1) <= (SELECT bytes FROM size0) + 16 * current_setting('block_size')::int AS one_batch;
VACUUM ch;
SELECT count(*) AS problems FROM vecdb_index_check('ch_idx') WHERE severity <> 'info';

-- Answers: the index's top 10 against the exact top 10, over 20 queries.
CREATE TEMP TABLE qs AS
SELECT i AS qid, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 8) WHERE i > 0)::vector AS v
FROM generate_series(1, 20) i;
SET enable_seqscan = off;
CREATE TEMP TABLE got AS
SELECT qs.qid, r.id FROM qs CROSS JOIN LATERAL (SELECT id FROM ch ORDER BY v <-> qs.v LIMIT 10) r;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
SELECT qs.qid, r.id FROM qs CROSS JOIN LATERAL (SELECT id FROM ch ORDER BY v <-> qs.v LIMIT 10) r;
RESET enable_indexscan;
SELECT (SELECT count(*) FROM got JOIN exact USING (qid, id))::numeric / 200 >= 0.95 AS recall_ok;

DROP FUNCTION churn_round;
DROP TABLE ch;
