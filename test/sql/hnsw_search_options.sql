-- hnsw: index-level defaults of the search settings (WITH (ef_search,
-- iterative_scan, max_scan_tuples)) and their precedence: a value the session
-- set itself wins; else the index's option; else the setting as the server,
-- database and role defaults left it.
--
-- Observable: without iterative scans one search returns at most ef_search
-- rows, so count(*) over ORDER BY ... LIMIT 100 on 300 rows is the ef in use.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT current_user AS su, current_database() AS db \gset
CREATE TABLE so_a (id int, v vector(2));
CREATE TABLE so_b (id int, v vector(2));
INSERT INTO so_a SELECT i, ('[' || i % 17 || ',' || i / 17 || ']')::vector FROM generate_series(1, 300) i;
INSERT INTO so_b SELECT * FROM so_a;
CREATE INDEX so_a_v ON so_a USING hnsw (v vector_l2_ops) WITH (ef_search = 5);
CREATE INDEX so_b_v ON so_b USING hnsw (v vector_l2_ops);
CREATE FUNCTION so_ef(t text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (SELECT id FROM %I ORDER BY v <-> %L LIMIT 100) s', t, '[3,3]') INTO n;
  RETURN n;
END $$;

-- The index's option, the built-in default elsewhere.
SELECT so_ef('so_a') AS index_option, so_ef('so_b') AS builtin;
SELECT indexdef FROM pg_indexes WHERE indexname = 'so_a_v';

-- The session's own value wins over the index's: SET, SET LOCAL, RESET.
SET hnsw.ef_search = 20;
SELECT so_ef('so_a') AS session, so_ef('so_b') AS session;
BEGIN;
SET LOCAL hnsw.ef_search = 12;
SELECT so_ef('so_a') AS set_local;
COMMIT;
SELECT so_ef('so_a') AS after_local;
RESET hnsw.ef_search;
SELECT so_ef('so_a') AS after_reset;
-- SET to the built-in default's value is still the session's choice.
SET hnsw.ef_search = 40;
SELECT so_ef('so_a') AS session_40;
RESET hnsw.ef_search;

-- A function's SET clause is the session's choice too.
CREATE FUNCTION so_ef9(t text) RETURNS bigint LANGUAGE sql SET hnsw.ef_search = 9 AS $$ SELECT so_ef(t) $$;
SELECT so_ef9('so_a') AS function_set, so_ef('so_a') AS after_function;

-- ALTER INDEX takes effect at once; RESET returns to the setting.
ALTER INDEX so_a_v SET (ef_search = 7);
SELECT so_ef('so_a') AS altered;
ALTER INDEX so_a_v RESET (ef_search);
SELECT so_ef('so_a') AS option_reset;
ALTER INDEX so_a_v SET (ef_search = 5);

-- Database default: below the index's option.
ALTER DATABASE :"db" SET hnsw.ef_search = 11;
\c
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT so_ef('so_a') AS index_over_database, so_ef('so_b') AS database;
ALTER DATABASE :"db" RESET hnsw.ef_search;

-- Role default, and a role's default in this database: below the index's
-- option too.
CREATE ROLE regress_vecdb_searcher LOGIN;
GRANT SELECT ON so_a, so_b TO regress_vecdb_searcher;
ALTER ROLE regress_vecdb_searcher SET hnsw.ef_search = 13;
\c - regress_vecdb_searcher
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT so_ef('so_a') AS index_over_role, so_ef('so_b') AS role;
SET hnsw.ef_search = 20;
SELECT so_ef('so_a') AS session_over_both, so_ef('so_b') AS session;
\c - :"su"
ALTER ROLE regress_vecdb_searcher IN DATABASE :"db" SET hnsw.ef_search = 14;
\c - regress_vecdb_searcher
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT so_ef('so_a') AS index_over_role_in_db, so_ef('so_b') AS role_in_db;
\c - :"su"
SET enable_seqscan = off;
SET enable_bitmapscan = off;
DROP OWNED BY regress_vecdb_searcher;
ALTER ROLE regress_vecdb_searcher IN DATABASE :"db" RESET ALL;
DROP ROLE regress_vecdb_searcher;
SELECT so_ef('so_a') AS back, so_ef('so_b') AS back;
-- Connection options are the session's choice.
\c -reuse-previous=on "options=-chnsw.ef_search=15"
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT so_ef('so_a') AS connection_option, so_ef('so_b') AS connection_option;
\c -reuse-previous=on "options=-cwork_mem=4MB"
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT so_ef('so_a') AS back, so_ef('so_b') AS back;

-- iterative_scan as an index option: a filter that one beam of 5 cannot
-- satisfy fills its LIMIT once the index says relaxed_order; a session's off
-- turns it back off.
CREATE FUNCTION so_filtered(t text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (SELECT id FROM %I WHERE id %% 10 = 0 ORDER BY v <-> %L LIMIT 10) s',
                 t, '[3,3]') INTO n;
  RETURN n;
END $$;
SELECT so_filtered('so_a') < 10 AS short_without_iterative;
ALTER INDEX so_a_v SET (iterative_scan = relaxed_order);
SELECT so_filtered('so_a') AS relaxed_by_index;
ALTER INDEX so_a_v SET (iterative_scan = strict_order);
SELECT so_filtered('so_a') AS strict_by_index;
SET hnsw.iterative_scan = off;
SELECT so_filtered('so_a') < 10 AS session_off;
RESET hnsw.iterative_scan;

-- max_scan_tuples as an index option bounds an iterative scan's scoring: a
-- filter nothing matches walks the whole graph unless bounded.
CREATE FUNCTION so_visited() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  PERFORM count(*) FROM (SELECT id FROM so_a WHERE id < 0 ORDER BY v <-> '[3,3]' LIMIT 10) s;
  SELECT visited INTO n FROM vecdb_last_scan_stats();
  RETURN n;
END $$;
SELECT so_visited() >= 290 AS whole_graph;
ALTER INDEX so_a_v SET (max_scan_tuples = 40);
SELECT so_visited() BETWEEN 40 AND 80 AS bounded_by_index;
SET hnsw.max_scan_tuples = 100000;
SELECT so_visited() >= 290 AS session_over_index;
RESET hnsw.max_scan_tuples;

-- The planner costs the scan at the index's ef_search.
CREATE FUNCTION so_cost() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXPLAIN SELECT id FROM so_a ORDER BY v <-> '[3,3]' LIMIT 5 LOOP
    IF line ~ 'Index Scan' THEN RETURN (regexp_match(line, '\.\.([0-9.]+)'))[1]::float8; END IF;
  END LOOP;
  RETURN NULL;
END $$;
ALTER INDEX so_a_v SET (ef_search = 1000);
SELECT so_cost() AS cost_1000 \gset
ALTER INDEX so_a_v SET (ef_search = 5);
SELECT so_cost() < :cost_1000 AS cheaper_at_ef_5;

-- Iterative scans turned on under an open cursor: a scan that began as one
-- search stays one (its first round started no resumable search), whatever
-- an earlier scan of another index left in this backend's workspaces.
ALTER INDEX so_a_v RESET (iterative_scan, max_scan_tuples);
SET hnsw.iterative_scan = relaxed_order;
SELECT so_filtered('so_b') AS other_index_iterative;
RESET hnsw.iterative_scan;
BEGIN;
DECLARE c CURSOR FOR SELECT id, v <-> '[3,3]' AS d FROM so_a ORDER BY v <-> '[3,3]';
FETCH 2 FROM c;
SET LOCAL hnsw.iterative_scan = relaxed_order;
FETCH ALL FROM c;
COMMIT;

-- A session SET made before the library is loaded (a placeholder) is the
-- session's choice too.
\c
SET hnsw.ef_search = 20;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT so_ef('so_a') AS set_before_load;
RESET hnsw.ef_search;

-- Bad values: the settings' ranges.
CREATE INDEX ON so_b USING hnsw (v) WITH (ef_search = 0);
CREATE INDEX ON so_b USING hnsw (v) WITH (ef_search = 1001);
CREATE INDEX ON so_b USING hnsw (v) WITH (iterative_scan = sideways);
CREATE INDEX ON so_b USING hnsw (v) WITH (max_scan_tuples = 0);
ALTER INDEX so_a_v SET (ef_search = -1);
ALTER INDEX so_a_v SET (iterative_scan = 'on');

DROP TABLE so_a, so_b;
DROP FUNCTION so_ef, so_ef9, so_filtered, so_visited, so_cost;
