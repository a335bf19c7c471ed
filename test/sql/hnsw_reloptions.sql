-- Hostile index options and settings: every bad value is refused with a
-- clear error (SQLSTATE shown), nothing crashes, and good values still work.
-- (The AM parses options with PostgreSQL's reloptions code, so there is no
-- pure parse function to fuzz; this is its hostile-input test.)
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE TABLE ro (id int, v vector(3));
INSERT INTO ro SELECT i, ARRAY[i, -i, i % 5]::real[] FROM generate_series(1, 100) i;

CREATE INDEX ON ro USING hnsw (v) WITH (m = -1);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 0);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 1);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 101);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 2147483648);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 99999999999999999999999999);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 'sixteen');
CREATE INDEX ON ro USING hnsw (v) WITH (m = '16abc');
-- PostgreSQL's integer option parser rounds 1.5 and ignores trailing
-- whitespace: these two are accepted (as m = 2 and m = 4).
CREATE INDEX ON ro USING hnsw (v) WITH (m = 1.5);
CREATE INDEX ON ro USING hnsw (v) WITH (m = E'4\n');
CREATE INDEX ON ro USING hnsw (v) WITH (m = '');
CREATE INDEX ON ro USING hnsw (v) WITH (m);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 16, m = 8);
CREATE INDEX ON ro USING hnsw (v) WITH (ef_construction = 3);
CREATE INDEX ON ro USING hnsw (v) WITH (ef_construction = 1001);
CREATE INDEX ON ro USING hnsw (v) WITH (m = 50, ef_construction = 99);
CREATE INDEX ON ro USING hnsw (v) WITH (lists = 100);
CREATE INDEX ON ro USING hnsw (v) WITH (fillfactor = 50);
CREATE INDEX ON ro USING hnsw (v) WITH ("m;DROP TABLE ro" = 4);
SELECT count(*) AS indexes_created FROM pg_indexes WHERE tablename = 'ro';

-- Limits that are allowed.
CREATE INDEX ro_min ON ro USING hnsw (v) WITH (m = 2, ef_construction = 4);
CREATE INDEX ro_max ON ro USING hnsw (v) WITH (m = 100, ef_construction = 1000);
SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relname IN ('ro_min', 'ro_max') ORDER BY 1;
SET enable_seqscan = off;
SELECT id FROM ro ORDER BY v <-> '[50,-50,0]' LIMIT 3;
SELECT severity, kind FROM vecdb_index_check('ro_min') WHERE severity = 'error'
UNION ALL SELECT severity, kind FROM vecdb_index_check('ro_max') WHERE severity = 'error';

-- ALTER INDEX: the same validation; a changed m takes effect at REINDEX.
ALTER INDEX ro_min SET (m = 0);
ALTER INDEX ro_min SET (ef_construction = 2);
ALTER INDEX ro_min SET (m = 8);
ALTER INDEX ro_min SET (m = 8, ef_construction = 16);
REINDEX INDEX ro_min;
ALTER INDEX ro_min RESET (m, ef_construction);
REINDEX INDEX ro_min;
SELECT reloptions FROM pg_class WHERE relname = 'ro_min';
SELECT severity, kind FROM vecdb_index_check('ro_min') WHERE severity = 'error';
-- What the build used (the checker's summary reads the metapage): the
-- defaults m = 16, ef_construction = 64 after RESET; the options when given.
SELECT substring(detail FROM 'm \d+, ef_construction \d+') AS built_with
  FROM vecdb_index_check('ro_min') WHERE kind = 'summary';
CREATE INDEX ro_opts ON ro USING hnsw (v) WITH (m = 5, ef_construction = 12);
SELECT substring(detail FROM 'm \d+, ef_construction \d+') AS built_with
  FROM vecdb_index_check('ro_opts') WHERE kind = 'summary';
DROP INDEX ro_opts;

-- Settings.
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.ef_search = -5;
SET hnsw.ef_search = 'wide';
SET hnsw.iterative_scan = 'sideways';
SET hnsw.max_scan_tuples = 0;
SET hnsw.no_such_setting = 1;
-- As in pgvector, a scan returns at most ef_search rows (iterative scans off).
SET hnsw.ef_search = 1;
SELECT count(*) FROM (SELECT id FROM ro ORDER BY v <-> '[50,-50,0]' LIMIT 3) s;
RESET hnsw.ef_search;

-- Index definitions the AM cannot serve.
CREATE INDEX ON ro USING hnsw (id);
CREATE INDEX ON ro USING hnsw (v, id);
CREATE INDEX ON ro USING hnsw (v) INCLUDE (id);
CREATE UNIQUE INDEX ON ro USING hnsw (v);
CREATE INDEX ON ro USING hnsw (v vector_l2_ops DESC);
CREATE INDEX ON ro USING hnsw ((v::halfvec) halfvec_l2_ops);
SELECT count(*) AS hnsw_indexes FROM pg_indexes WHERE tablename = 'ro';
DROP TABLE ro;
