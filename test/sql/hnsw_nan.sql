-- Inner products that overflow: finite vectors near the float range whose
-- products sum to +inf and -inf give NaN (and -inf / +inf) distances. The
-- index must still build, insert, merge, vacuum and answer in
-- PostgreSQL's order, where NaN sorts after every number.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vecdb;
RESET client_min_messages;

-- Signs from a hash of the id: reproducible data.
CREATE FUNCTION nan_row(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN i % 10 = 3 THEN ('[1,1,3,' || (i % 17)::text || ']')::vector ELSE
           ('[' || CASE WHEN hashint4(i) % 2 = 0 THEN '3e38' ELSE '-3e38' END || ','
                || CASE WHEN hashint4(i + 7) % 2 = 0 THEN '3e38' ELSE '-3e38' END || ','
                || CASE WHEN hashint4(i + 11) % 3 = 0 THEN '3e38' ELSE '1' END || ','
                || (i % 17)::text || ']')::vector END
$$;
CREATE TABLE nan_t (id int, v vector(4));
INSERT INTO nan_t SELECT i, nan_row(i) FROM generate_series(1, 1500) i;
-- Every kind of distance is there: -inf, +inf, NaN and finite ones.
SELECT CASE WHEN d = 'NaN' THEN 'NaN' WHEN d = '-Infinity' THEN '-inf' WHEN d = 'Infinity' THEN '+inf'
            ELSE 'finite' END AS kind, count(*) > 0 AS present
FROM (SELECT v <#> '[3e38,-3e38,1,1]' AS d FROM nan_t) s GROUP BY 1 ORDER BY 1;

CREATE INDEX nan_t_v ON nan_t USING hnsw (v vector_ip_ops) WITH (m = 4, ef_construction = 8);
-- Direct inserts, then through the pending list and a merge.
SET hnsw.pending_list_limit = 0;
INSERT INTO nan_t SELECT i, nan_row(i) FROM generate_series(1501, 1800) i;
RESET hnsw.pending_list_limit;
INSERT INTO nan_t SELECT i, nan_row(i) FROM generate_series(1801, 2100) i;
SELECT vecdb_hnsw_merge_pending('nan_t_v') >= 0 AS merged;
DELETE FROM nan_t WHERE id % 5 = 0;
VACUUM nan_t;
SELECT count(*) AS problems FROM vecdb_index_check('nan_t_v') WHERE severity <> 'info';

-- The index's stream, position by position, against PostgreSQL's float8
-- order: no row may come after one that sorts later, except that +inf and
-- NaN rows (both +inf inside the index) come in no particular order among
-- themselves.
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
SET hnsw.iterative_scan = strict_order;
CREATE TEMP TABLE stream AS
SELECT row_number() OVER () AS pos, id, d
FROM (SELECT id, v <#> '[3e38,-3e38,1,1]' AS d FROM nan_t ORDER BY v <#> '[3e38,-3e38,1,1]' LIMIT 2000) s;
SELECT count(*) AS returned, count(DISTINCT id) AS distinct_rows,
       count(*) FILTER (WHERE d = 'NaN') > 0 AS nan_rows_returned
FROM stream;
SELECT count(*) AS out_of_order
FROM (SELECT d, max(d) OVER (ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
      FROM stream) s
WHERE d < before AND NOT (d = 'Infinity' AND before = 'NaN');
SELECT count(*) FILTER (WHERE d = 'NaN') > 0 AS nan_rows, count(*) FILTER (WHERE d = 'Infinity') > 0 AS inf_rows,
       min(pos) > (SELECT max(pos) FROM stream WHERE d < 'Infinity') AS after_every_number
FROM stream WHERE d >= 'Infinity';
-- The first rows are the nearest (-inf: the inner product overflowed upwards).
SELECT count(*) AS first_ten_at_minus_inf FROM stream WHERE pos <= 10 AND d = '-Infinity';
EXPLAIN (COSTS OFF) SELECT id FROM nan_t ORDER BY v <#> '[3e38,-3e38,1,1]' LIMIT 10;

DROP TABLE nan_t;
DROP FUNCTION nan_row(int);

-- 784 dimensions: the packed layout, where a vector that straddles two
-- pages is scored in two parts, which can overflow oppositely (-inf + +inf).
-- Rows: finite (components of 1e-30); +3e38 up to a varying dimension and
-- -3e38 after it (NaN or +-inf, depending on how a kernel groups its sums:
-- the index, scoring in two parts, may see another value than <#>, so
-- these rows' places are not checked); all +3e38 (-inf however grouped).
CREATE TABLE wide_t (id int, v vector(784));
INSERT INTO wide_t
SELECT i, (SELECT array_agg(CASE i % 3 WHEN 0 THEN (((j * i) % 7 - 3) * 1e-30)::real
                                       WHEN 1 THEN CASE WHEN j <= 50 + (i * 37) % 700 THEN 3e38 ELSE -3e38 END::real
                                       ELSE 3e38::real END ORDER BY j)
           FROM generate_series(1, 784) j)::vector
FROM generate_series(1, 300) i;
CREATE INDEX wide_t_v ON wide_t USING hnsw (v vector_ip_ops) WITH (m = 4, ef_construction = 8);
SELECT count(*) AS problems FROM vecdb_index_check('wide_t_v') WHERE severity <> 'info';
CREATE TEMP TABLE wide_stream AS
SELECT row_number() OVER () AS pos, id, d
FROM (SELECT id, v <#> array_fill(3e38, ARRAY[784])::real[]::vector AS d FROM wide_t
      ORDER BY v <#> array_fill(3e38, ARRAY[784])::real[]::vector LIMIT 400) s;
SELECT count(*) AS returned, count(DISTINCT id) AS distinct_rows,
       count(*) FILTER (WHERE id % 3 = 2 AND d = '-Infinity') AS minus_inf_rows,
       count(*) FILTER (WHERE id % 3 = 0 AND d > '-Infinity' AND d < 'Infinity') AS finite_rows
FROM wide_stream;
SELECT count(*) AS out_of_order
FROM (SELECT d, max(d) OVER (ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
      FROM wide_stream WHERE id % 3 <> 1) s
WHERE d < before;
DROP TABLE wide_t;

-- A build whose graph outgrows maintenance_work_mem links rows through
-- compressed construction vectors. float16 ones cannot hold components
-- beyond 65,504 (they became infinities, and those rows were linked as if
-- infinitely far from everything): such data is built with int8 ones.
CREATE TABLE big_t (id int, v vector(256));
INSERT INTO big_t
SELECT i, (SELECT array_agg(((hashint4(i * 256 + j) % 1000) * 1000)::real ORDER BY j) FROM generate_series(1, 256) j)::vector
FROM generate_series(1, 1200) i;
SET maintenance_work_mem = '1MB';
SET log_temp_files = -1;  -- its LOG line names a process id
SET client_min_messages = debug1;
CREATE INDEX big_t_v ON big_t USING hnsw (v vector_l2_ops);
RESET client_min_messages;
RESET log_temp_files;
RESET maintenance_work_mem;
SELECT count(*) AS problems FROM vecdb_index_check('big_t_v') WHERE severity <> 'info';
SET hnsw.ef_search = 100;
SET hnsw.iterative_scan = off;
SELECT count(*) <= 6 AS at_most_half_a_percent_missed FROM big_t q
WHERE (SELECT i.id FROM big_t i ORDER BY i.v <-> q.v LIMIT 1) <> q.id;
DROP TABLE big_t;
-- And tiny components (here below 1e-9), which float16 would round to
-- subnormals and zeros.
CREATE TABLE small_t (id int, v vector(256));
INSERT INTO small_t
SELECT i, (SELECT array_agg(((hashint4(i * 256 + j) % 1000) * 1e-12)::real ORDER BY j) FROM generate_series(1, 256) j)::vector
FROM generate_series(1, 1200) i;
SET maintenance_work_mem = '1MB';
SET log_temp_files = -1;
SET client_min_messages = debug1;
CREATE INDEX small_t_v ON small_t USING hnsw (v vector_l2_ops);
RESET client_min_messages;
RESET log_temp_files;
RESET maintenance_work_mem;
SELECT count(*) <= 6 AS at_most_half_a_percent_missed FROM small_t q
WHERE (SELECT i.id FROM small_t i ORDER BY i.v <-> q.v LIMIT 1) <> q.id;
DROP TABLE small_t;
