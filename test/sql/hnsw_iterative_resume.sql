-- hnsw iterative scans continue the search where the last round stopped:
-- a 1 % filter gets exactly LIMIT rows, nearest first in strict mode, the
-- nodes scored stay within hnsw.max_scan_tuples (plus at most one neighbour
-- list), and what was scored before the budget ran out is still returned.
SELECT setseed(0.42);
CREATE TABLE r (id int, cat int, v vector(8));
INSERT INTO r
SELECT i, i % 100, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 4000) i;
CREATE INDEX ON r USING hnsw (v) WITH (m = 8);
CREATE TABLE rq (qid int, v vector(8));
INSERT INTO rq
SELECT i, (SELECT array_agg(round(random()::numeric, 4)) FROM generate_series(1, 8) WHERE i > 0)::vector
FROM generate_series(1, 20) i;
ANALYZE r;

-- The exact filtered top 10 of every query (a sequential scan: an index
-- scan without iterative scans would starve under the filter).
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
SELECT rq.qid, e.id FROM rq CROSS JOIN LATERAL
  (SELECT id FROM r WHERE cat = 7 ORDER BY v <-> rq.v LIMIT 10) e;
RESET enable_indexscan;

SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET hnsw.ef_search = 10;  -- small beam: many rounds
EXPLAIN (COSTS OFF) SELECT id FROM r WHERE cat = 7 ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 10;

-- One filtered query: rows returned, nearest first?, rows of the exact top
-- 10, nodes scored.
CREATE FUNCTION probe(q int, OUT n int, OUT ordered boolean, OUT hits int, OUT visited bigint)
LANGUAGE plpgsql AS $$
DECLARE ds float8[]; ids int[]; qv vector;
BEGIN
  SELECT rq.v INTO qv FROM rq WHERE rq.qid = q;
  SELECT array_agg(s.id ORDER BY s.k), array_agg(s.d ORDER BY s.k) INTO ids, ds FROM
    (SELECT row_number() OVER () AS k, x.id, x.d FROM
      (SELECT r.id, r.v <-> qv AS d FROM r WHERE r.cat = 7 ORDER BY r.v <-> qv LIMIT 10) x) s;
  SELECT s.visited INTO visited FROM vecdb_last_scan_stats() s;
  n := coalesce(cardinality(ids), 0);
  ordered := coalesce((SELECT bool_and(ds[i] <= ds[i + 1]) FROM generate_subscripts(ds, 1) i WHERE i < n), true);
  hits := (SELECT count(*) FROM exact e WHERE e.qid = q AND e.id = ANY (ids));
END $$;

CREATE FUNCTION probe_all(budget int, OUT all_full boolean, OUT all_ordered boolean, OUT recall_ok boolean,
                          OUT within_budget boolean)
LANGUAGE sql AS $$
  SELECT bool_and(p.n = 10), bool_and(p.ordered), round(sum(p.hits)::numeric / (10 * count(*)), 1) >= 0.9,
         bool_and(p.visited <= budget + 2 * 8 + 100)  -- + one level-0 list, + the upper-level descent
  FROM rq, LATERAL probe(rq.qid) p $$;

-- Off: the beam's 10 rows, filtered: starved.
SELECT bool_or(p.n < 10) AS starved FROM rq, LATERAL probe(rq.qid) p;

SET hnsw.iterative_scan = strict_order;
SELECT * FROM probe_all(20000);
SET hnsw.iterative_scan = relaxed_order;
SELECT all_full, recall_ok, within_budget FROM probe_all(20000);

-- A budget of 2,500 of the 4,000 nodes: the rows scored hold about 25 that
-- pass the filter, so every query still gets 10 (the scored pool is returned
-- once the budget is spent), and the budget is kept within one list.
SET hnsw.max_scan_tuples = 2500;
SET hnsw.iterative_scan = strict_order;
SELECT all_full, all_ordered, within_budget FROM probe_all(2500);
SET hnsw.iterative_scan = relaxed_order;
SELECT all_full, within_budget FROM probe_all(2500);

-- A tiny budget stops the scan early, without error.
SET hnsw.max_scan_tuples = 1;
SET hnsw.iterative_scan = strict_order;
SELECT bool_and(p.n < 10) AS stopped_early, bool_and(p.ordered) AS ordered FROM rq, LATERAL probe(rq.qid) p;
SET hnsw.iterative_scan = relaxed_order;
SELECT bool_and(p.n < 10) AS stopped_early FROM rq, LATERAL probe(rq.qid) p;
SELECT count(*) < 10 AS stopped_early FROM (SELECT id FROM r WHERE cat = 7 ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;

RESET hnsw.max_scan_tuples;
RESET hnsw.iterative_scan;
RESET hnsw.ef_search;
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP FUNCTION probe_all;
DROP FUNCTION probe;
DROP TABLE r, rq;
