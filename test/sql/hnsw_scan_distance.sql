-- hnsw.reuse_scan_distance: for a row the scan has just returned, the
-- executor's recomputation of `v <op> query` (the ORDER BY column of the
-- scan's target list) takes the scan's distance instead of fetching the
-- vector from TOAST again. The row is recognised by its TOAST pointer and
-- the query bytes; everything else computes as always.
SELECT setseed(0.42);
-- 600 float32 dimensions (2.4 KB): stored out of line.
CREATE TABLE sd (id int PRIMARY KEY, note text, v vector(600));
ALTER TABLE sd ALTER COLUMN v SET STORAGE EXTERNAL;
INSERT INTO sd
SELECT i, 'n', (SELECT array_agg(round(random()::numeric, 3)) FROM generate_series(1, 600) WHERE i > 0)::vector
FROM generate_series(1, 400) i;
CREATE TABLE sdq (qid int, v vector(600));
INSERT INTO sdq
SELECT i, (SELECT array_agg(round(random()::numeric, 3)) FROM generate_series(1, 600) WHERE i > 0)::vector
FROM generate_series(1, 5) i;
CREATE INDEX sd_l2 ON sd USING hnsw (v vector_l2_ops);
CREATE INDEX sd_ip ON sd USING hnsw (v vector_ip_ops);
CREATE INDEX sd_cos ON sd USING hnsw (v vector_cosine_ops);
CREATE INDEX sd_l1 ON sd USING hnsw (v vector_l1_ops);
VACUUM ANALYZE sd;
SELECT pg_relation_size(reltoastrelid) > 400 * 2400 AS vectors_in_toast FROM pg_class WHERE relname = 'sd';
SET hnsw.ef_search = 400;

-- Rows and distances of one query, by the index or by a sequential scan;
-- `other` is a second operator computed in the same target list.
CREATE FUNCTION top(op text, q vector, by_index boolean, other text DEFAULT NULL)
RETURNS TABLE (k bigint, id int, d float8, e float8) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('enable_seqscan', CASE WHEN by_index THEN 'off' ELSE 'on' END, true);
  PERFORM set_config('enable_indexscan', CASE WHEN by_index THEN 'on' ELSE 'off' END, true);
  RETURN QUERY EXECUTE format(
    'SELECT row_number() OVER (), s.id, s.d, s.e FROM (SELECT id, v %1$s $1 AS d, %2$s AS e FROM sd ORDER BY v %1$s $1 LIMIT 8) s',
    op, CASE WHEN other IS NULL THEN 'NULL::float8' ELSE format('v %s $1', other) END) USING q;
END $$;

-- Same rows, same distances (to rounding) as the sequential scan, for every
-- operator; a second operator in the target list gets its own values.
CREATE FUNCTION compare(op text, other text DEFAULT NULL) RETURNS TABLE (same_rows bigint, same_distances bigint)
LANGUAGE sql AS $$
  SELECT count(*) FILTER (WHERE a.id = b.id),
         count(*) FILTER (WHERE abs(a.d - b.d) <= 1e-5 * greatest(1, abs(b.d))
                            AND (a.e IS NULL OR abs(a.e - b.e) <= 1e-5 * greatest(1, abs(b.e))))
  FROM sdq, LATERAL top(op, sdq.v, true, other) a JOIN LATERAL top(op, sdq.v, false, other) b USING (k)
$$;
SELECT op, c.* FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op, LATERAL compare(op) c;
SELECT c.* FROM compare('<->', '<#>') c;

-- The same operator with another query in the same target list is computed.
SET enable_seqscan = off;
CREATE TEMP TABLE two AS
SELECT id, v <-> (SELECT v FROM sdq WHERE qid = 2) AS d2 FROM sd ORDER BY v <-> (SELECT v FROM sdq WHERE qid = 1) LIMIT 8;
RESET enable_seqscan;
SELECT count(*) FILTER (WHERE abs(t.d2 - (s.v <-> b.v)) <= 1e-5 * t.d2) AS second_query_ok
FROM two t JOIN sd s USING (id), sdq b WHERE b.qid = 2;

-- Another row's vector against the same query (through the primary key, in
-- the same target list) gets its own distance.
SET enable_seqscan = off;
CREATE TEMP TABLE other_row AS
SELECT id, (SELECT s2.v <-> (SELECT v FROM sdq WHERE qid = 1) FROM sd s2 WHERE s2.id = sd.id % 400 + 1) AS dn
FROM sd ORDER BY v <-> (SELECT v FROM sdq WHERE qid = 1) LIMIT 8;
RESET enable_seqscan;
SELECT count(*) FILTER (WHERE abs(o.dn - (s.v <-> q.v)) <= 1e-5 * o.dn) AS other_row_ok
FROM other_row o JOIN sd s ON s.id = o.id % 400 + 1, sdq q WHERE q.qid = 1;

-- The reuse is real: the index scan's plan touches the TOAST relation and
-- its index for each returned row only with the setting off.
CREATE FUNCTION buffers(q vector) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  SET LOCAL enable_seqscan = off;
  EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM sd ORDER BY v <-> $1 LIMIT 8' INTO plan USING q;
  RETURN (plan -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint + (plan -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint;
END $$;
SELECT buffers(v) AS reused FROM sdq WHERE qid = 1 \gset
SET hnsw.reuse_scan_distance = off;
SELECT buffers(v) - :reused >= 8 * 2 AS toast_reads_saved FROM sdq WHERE qid = 1;
SELECT c.* FROM compare('<->') c;
RESET hnsw.reuse_scan_distance;

-- Rows whose vector changed, or that were updated in place of another
-- column (a HOT update keeps the TOAST pointer), still get their own distance.
UPDATE sd SET note = 'hot' WHERE id IN (SELECT id FROM top('<->', (SELECT v FROM sdq WHERE qid = 2), true));
-- The new vectors are merged here, not by a background worker: one still
-- running at the VACUUM below would hold back its horizon, and the HOT
-- chain it should prune would stay.
SET hnsw.background_merge = off;
UPDATE sd SET v = (SELECT v FROM sd WHERE id = 1)
WHERE id IN (SELECT id FROM top('<->', (SELECT v FROM sdq WHERE qid = 3), true) WHERE k <= 2);
SELECT bool_and(vecdb_hnsw_merge_pending(i) >= 0) AS merged FROM unnest('{sd_l2,sd_ip,sd_cos,sd_l1}'::regclass[]) i;
RESET hnsw.background_merge;
SELECT c.* FROM compare('<->') c;

-- A scan inside the target list of another (each row's nearest other row):
-- the inner scans' records never give the outer rows a wrong distance.
SET enable_seqscan = off;
CREATE TEMP TABLE nested AS
SELECT a.id, a.v <-> (SELECT v FROM sdq WHERE qid = 4) AS d,
       (SELECT b.v <-> a.v FROM sd b WHERE b.id <> a.id ORDER BY b.v <-> a.v LIMIT 1) AS nn
FROM sd a ORDER BY a.v <-> (SELECT v FROM sdq WHERE qid = 4) LIMIT 6;
RESET enable_seqscan;
SELECT count(*) FILTER (WHERE abs(n.d - (a.v <-> q.v)) <= 1e-5 * (a.v <-> q.v)) AS outer_ok,
       count(*) FILTER (WHERE abs(n.nn - (SELECT min(b.v <-> a.v) FROM sd b WHERE b.id <> a.id)) <= 1e-5 * n.nn) AS inner_ok
FROM nested n JOIN sd a USING (id), sdq q WHERE q.qid = 4;

-- Where the reuse applies, shown by the blocks of sd's TOAST relation a
-- statement fetches (this transaction's statistics): about one per row whose
-- distance is computed from its vector, none where it is reused.
CREATE FUNCTION toast_fetches() RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_stat_get_xact_blocks_fetched(reltoastrelid) FROM pg_class WHERE relname = 'sd' $$;
CREATE FUNCTION toast_reads(sql text, q vector) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t0 bigint := toast_fetches();
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  EXECUTE sql USING q;
  RETURN toast_fetches() - t0;
END $$;
SELECT toast_reads('SELECT id FROM sd ORDER BY v <-> $1 LIMIT 8', v) AS reused,
       toast_reads('SELECT id, v <#> $1 FROM sd ORDER BY v <-> $1 LIMIT 8', v) >= 8 AS other_operator
FROM sdq WHERE qid = 1;

-- The commuted form `query <-> v` in the target list is the same distance.
SELECT toast_reads('SELECT id, $1 <-> v AS c FROM sd ORDER BY v <-> $1 LIMIT 8', v) AS commuted FROM sdq WHERE qid = 1;
SET enable_seqscan = off;
CREATE TEMP TABLE commuted AS
SELECT id, (SELECT v FROM sdq WHERE qid = 1) <-> v AS c FROM sd ORDER BY v <-> (SELECT v FROM sdq WHERE qid = 1) LIMIT 8;
RESET enable_seqscan;
SELECT count(*) FILTER (WHERE abs(c.c - (s.v <-> q.v)) <= 1e-5 * c.c) AS commuted_ok
FROM commuted c JOIN sd s USING (id), sdq q WHERE q.qid = 1;

-- Both arguments out of line: each query is another table's row (a TOAST
-- pointer too), one index scan per query row.
SET enable_seqscan = off;
CREATE TEMP TABLE lateral_rows AS
SELECT q.qid, s.id, s.d FROM sdq q, LATERAL (SELECT id, v <-> q.v AS d FROM sd ORDER BY v <-> q.v LIMIT 3) s;
RESET enable_seqscan;
SELECT count(*) AS lateral_rows,
       count(*) FILTER (WHERE abs(l.d - (s.v <-> q.v)) <= 1e-5 * l.d) AS lateral_ok
FROM lateral_rows l JOIN sd s USING (id) JOIN sdq q USING (qid);
SELECT toast_reads('SELECT s.id FROM sdq q, LATERAL (SELECT id, v <-> q.v AS d FROM sd ORDER BY v <-> q.v LIMIT 3) s WHERE $1 IS NULL', NULL) AS lateral;

-- The setting is read at each call: switched off while a cursor is open,
-- the rows fetched afterwards are computed from their vectors again.
CREATE FUNCTION cursor_fetches(switch_off boolean)
RETURNS TABLE (before_switch bigint, after_switch bigint, rows_ok bigint) LANGUAGE plpgsql AS $$
DECLARE c refcursor; q vector; t0 bigint; t1 bigint; t2 bigint; ids int[] := '{}'; ds float8[] := '{}'; r record;
BEGIN
  SELECT v INTO q FROM sdq WHERE qid = 3;
  PERFORM set_config('enable_seqscan', 'off', true);
  OPEN c FOR EXECUTE 'SELECT id, v <-> $1 AS d FROM sd ORDER BY v <-> $1' USING q;
  t0 := toast_fetches();
  FOR i IN 1..4 LOOP
    FETCH c INTO r;
    ids := ids || r.id; ds := ds || r.d;
  END LOOP;
  t1 := toast_fetches();
  IF switch_off THEN PERFORM set_config('hnsw.reuse_scan_distance', 'off', true); END IF;
  FOR i IN 1..4 LOOP
    FETCH c INTO r;
    ids := ids || r.id; ds := ds || r.d;
  END LOOP;
  t2 := toast_fetches();
  CLOSE c;
  PERFORM set_config('hnsw.reuse_scan_distance', 'on', true);
  RETURN QUERY SELECT t1 - t0, t2 - t1,
    (SELECT count(*) FROM unnest(ids, ds) u(id, d) JOIN sd s USING (id) WHERE abs(u.d - (s.v <-> q)) <= 1e-5 * u.d);
END $$;
SELECT * FROM cursor_fetches(false);
SELECT before_switch, after_switch >= 4 AS fetched_after_switch, rows_ok FROM cursor_fetches(true);

-- A HOT update that VACUUM then prunes leaves the index pointing at a
-- redirect line pointer; the row's TOAST pointer is read through it.
BEGIN;
UPDATE sd SET note = 'redirected' WHERE id IN (SELECT id FROM top('<->', (SELECT v FROM sdq WHERE qid = 5), true));
SELECT pg_stat_get_xact_tuples_hot_updated('sd'::regclass) >= 4 AS hot_updates;
COMMIT;
VACUUM sd;
-- The redirects are there (else the next check would prove nothing).
CREATE EXTENSION pageinspect;
SELECT count(*) >= 4 AS redirects
FROM generate_series(0, pg_relation_size('sd') / 8192 - 1) b, heap_page_items(get_raw_page('sd', b::int)) i
WHERE i.lp_flags = 2;
DROP EXTENSION pageinspect;
SELECT toast_reads('SELECT id FROM sd ORDER BY v <-> $1 LIMIT 8', v) AS through_redirects FROM sdq WHERE qid = 5;
SET hnsw.reuse_scan_distance = off;
SELECT toast_reads('SELECT id FROM sd ORDER BY v <-> $1 LIMIT 8', v) >= 8 AS without_reuse FROM sdq WHERE qid = 5;
RESET hnsw.reuse_scan_distance;
SELECT c.* FROM compare('<->') c;

-- halfvec (1,200 dimensions: 2.4 KB, out of line), every operator. Its
-- cosine index holds rounded normalised copies, whose distances are off by
-- more than rounding: that one is never reused.
CREATE TABLE sdh (id int, v halfvec(1200));
INSERT INTO sdh SELECT id, (v::real[] || v::real[])::halfvec FROM sd;
CREATE INDEX ON sdh USING hnsw (v halfvec_l2_ops);
CREATE INDEX ON sdh USING hnsw (v halfvec_ip_ops);
CREATE INDEX ON sdh USING hnsw (v halfvec_cosine_ops);
CREATE INDEX ON sdh USING hnsw (v halfvec_l1_ops);
ANALYZE sdh;
CREATE TABLE sdhq AS SELECT qid, (v::real[] || v::real[])::halfvec AS v FROM sdq;
CREATE FUNCTION htop(op text, q halfvec, by_index boolean) RETURNS TABLE (k bigint, id int, d float8)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('enable_seqscan', CASE WHEN by_index THEN 'off' ELSE 'on' END, true);
  PERFORM set_config('enable_indexscan', CASE WHEN by_index THEN 'on' ELSE 'off' END, true);
  RETURN QUERY EXECUTE format('SELECT row_number() OVER (), s.id, s.d FROM (SELECT id, v %1$s $1 AS d FROM sdh ORDER BY v %1$s $1 LIMIT 5) s', op) USING q;
END $$;
SELECT op, count(*) FILTER (WHERE a.id = b.id) AS same_rows,
       count(*) FILTER (WHERE abs(a.d - b.d) <= 1e-6 * greatest(1, abs(b.d))) AS same_distances
FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op, sdhq, LATERAL htop(op, sdhq.v, true) a JOIN LATERAL htop(op, sdhq.v, false) b USING (k)
GROUP BY op ORDER BY op;

DROP INDEX sd_ip, sd_cos, sd_l1;
ALTER INDEX sd_l2 SET (storage = float16);
REINDEX INDEX sd_l2;
SELECT c.* FROM compare('<->') c;

DROP TABLE sd, sdq, sdh, sdhq;
DROP FUNCTION top, compare, buffers, htop, toast_fetches, toast_reads, cursor_fetches;
