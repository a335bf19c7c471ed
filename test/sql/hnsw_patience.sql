-- hnsw.search_patience ends a scan's search once its 10 nearest rows have not
-- changed for that many expansions. A LIMIT 10 query then scores fewer nodes
-- and keeps most of its exact top 10; a query that wants more rows (a larger
-- LIMIT, a filter) runs the search to its usual end first, and the stream stays
-- in distance order; iterative scans ignore the setting.
SELECT setseed(0.17);
CREATE TABLE p (id int, cat int, v vector(16));
INSERT INTO p
SELECT i, i % 10, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 16) WHERE i > 0)::vector
FROM generate_series(1, 5000) i;
CREATE INDEX ON p USING hnsw (v) WITH (m = 8);
CREATE TABLE pq (qid int, v vector(16));
INSERT INTO pq
SELECT i, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 16) WHERE i > 0)::vector
FROM generate_series(1, 20) i;
ANALYZE p;

SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
SELECT pq.qid, e.id, e.k FROM pq CROSS JOIN LATERAL
  (SELECT id, row_number() OVER (ORDER BY v <-> pq.v) AS k FROM p ORDER BY v <-> pq.v LIMIT 50) e;
RESET enable_indexscan;
SET enable_seqscan = off;
SET enable_bitmapscan = off;

-- One query: rows, in order?, rows of the exact top `lim`, nodes scored.
CREATE FUNCTION probe(q int, lim int, OUT n int, OUT ordered boolean, OUT hits int, OUT scored bigint)
LANGUAGE plpgsql AS $$
DECLARE ds float8[]; ids int[]; qv vector;
BEGIN
  SELECT pq.v INTO qv FROM pq WHERE pq.qid = q;
  SELECT array_agg(x.id ORDER BY x.k), array_agg(x.d ORDER BY x.k) INTO ids, ds FROM
    (SELECT row_number() OVER () AS k, y.id, y.d FROM
      (SELECT p.id, p.v <-> qv AS d FROM p ORDER BY p.v <-> qv LIMIT lim) y) x;
  SELECT s.distances INTO scored FROM vecdb_last_scan_stats() s;
  n := coalesce(cardinality(ids), 0);
  ordered := coalesce((SELECT bool_and(ds[i] <= ds[i + 1]) FROM generate_series(1, n - 1) i), true);
  SELECT count(*) INTO hits FROM exact e WHERE e.qid = q AND e.k <= lim AND e.id = ANY (ids);
END $$;

SET hnsw.ef_search = 200;
CREATE TEMP TABLE plain AS SELECT qid, (probe(qid, 10)).* FROM pq;
SET hnsw.search_patience = 20;
CREATE TEMP TABLE patient AS SELECT qid, (probe(qid, 10)).* FROM pq;
CREATE TEMP TABLE patient50 AS SELECT qid, (probe(qid, 50)).* FROM pq;
RESET hnsw.search_patience;
CREATE TEMP TABLE plain50 AS SELECT qid, (probe(qid, 50)).* FROM pq;

-- LIMIT 10: every query gets 10 rows in order; patience scores fewer nodes
-- than the plain search in most queries and keeps most of the top 10.
SELECT count(*) FILTER (WHERE a.n = 10 AND a.ordered) AS full_and_ordered,
       count(*) FILTER (WHERE a.scored < b.scored) AS fewer_scored,
       sum(a.scored) < 0.8 * sum(b.scored) AS saves_a_fifth,
       sum(a.hits) >= 0.9 * sum(b.hits) AS keeps_recall
FROM patient a JOIN plain b USING (qid);

-- LIMIT 50: the search ran to its usual end, so it scored what the plain
-- search scores; 50 rows in order, about as many of the exact 50.
SELECT count(*) FILTER (WHERE a.n = 50 AND a.ordered) AS full_and_ordered,
       count(*) FILTER (WHERE a.scored = b.scored) AS same_scored,
       sum(a.hits) >= sum(b.hits) - 20 AS keeps_recall
FROM patient50 a JOIN plain50 b USING (qid);

-- A filter that rejects 90 % of the rows also asks past the 10th row.
SET hnsw.search_patience = 20;
SELECT count(*) AS rows FROM (SELECT id FROM p WHERE cat = 3 ORDER BY v <-> (SELECT v FROM pq WHERE qid = 1) LIMIT 5) s;

-- Iterative scans ignore it: same nodes scored with and without.
SET hnsw.iterative_scan = strict_order;
SELECT scored AS iterative_patient FROM probe(1, 10) \gset
RESET hnsw.search_patience;
SELECT scored = :iterative_patient AS iterative_unchanged FROM probe(1, 10);
RESET hnsw.iterative_scan;

-- storage = float16: the scan reports lower bounds and the executor asks a
-- row or two past the LIMIT to confirm the exact order; those rows come from
-- the patient search too, so patience still scores fewer nodes (it ran the
-- search to its usual end before).
DROP INDEX p_v_idx;
CREATE INDEX p_v16 ON p USING hnsw (v) WITH (m = 8, storage = float16);
CREATE TEMP TABLE plain16 AS SELECT qid, (probe(qid, 10)).* FROM pq;
SET hnsw.search_patience = 20;
CREATE TEMP TABLE patient16 AS SELECT qid, (probe(qid, 10)).* FROM pq;
CREATE TEMP TABLE patient16_50 AS SELECT qid, (probe(qid, 50)).* FROM pq;
RESET hnsw.search_patience;
SELECT count(*) FILTER (WHERE a.n = 10 AND a.ordered) AS full_and_ordered,
       count(*) FILTER (WHERE a.scored < b.scored) AS fewer_scored,
       sum(a.scored) < 0.8 * sum(b.scored) AS saves_a_fifth,
       sum(a.hits) >= 0.9 * sum(b.hits) AS keeps_recall
FROM patient16 a JOIN plain16 b USING (qid);
SELECT count(*) FILTER (WHERE n = 50 AND ordered) AS full_and_ordered_50 FROM patient16_50;

-- Settings errors.
SET hnsw.search_patience = -1;
SET hnsw.search_patience = 100001;
SHOW hnsw.search_patience;
DROP TABLE p, pq;
DROP FUNCTION probe;
