-- Security model (docs/security.md): trusted extension, no SECURITY DEFINER,
-- objects bound by OID so a hostile search_path cannot redirect vecdb's own
-- operators, casts, aggregates and opclasses, and only owners change indexes.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- 1. Catalog: nothing runs with its owner's rights, every function is C or
--    internal (no SQL bodies that resolve names at call time), and the
--    control file marks the extension trusted and not relocatable.
SELECT count(*) AS security_definer
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vecdb'
WHERE p.prosecdef;
SELECT l.lanname, count(*) > 0 AS has_functions
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vecdb'
JOIN pg_language l ON l.oid = p.prolang
GROUP BY l.lanname ORDER BY 1;
SELECT trusted, superuser, relocatable FROM pg_available_extension_versions WHERE name = 'vecdb';

-- 2. A hostile schema earlier in search_path shadows vecdb's operators, a
--    distance function and the array -> vector cast function by name.
CREATE TABLE sec_items (id int PRIMARY KEY, v vector(3), h halfvec(3));
INSERT INTO sec_items SELECT i, ARRAY[i, i % 5, -i]::real[], ARRAY[i, i % 5, -i]::real[]
FROM generate_series(1, 200) i;
CREATE INDEX sec_items_v ON sec_items USING hnsw (v vector_l2_ops);
CREATE INDEX sec_items_h ON sec_items USING hnsw (h halfvec_cosine_ops);
CREATE SCHEMA evil;
CREATE FUNCTION evil.l2_distance(vector, vector) RETURNS float8
    LANGUAGE sql IMMUTABLE AS 'SELECT -42::float8';
CREATE FUNCTION evil.evil_dist(vector, vector) RETURNS float8
    LANGUAGE sql IMMUTABLE AS 'SELECT -42::float8';
CREATE OPERATOR evil.<-> (LEFTARG = vector, RIGHTARG = vector, FUNCTION = evil.evil_dist);
CREATE FUNCTION evil.array_to_vector(real[], integer, boolean) RETURNS vector
    LANGUAGE sql IMMUTABLE AS $$SELECT '[6,6,6]'::public.vector$$;
CREATE FUNCTION evil.vector_avg(float8[]) RETURNS vector
    LANGUAGE sql IMMUTABLE AS $$SELECT '[6,6,6]'::public.vector$$;
SET search_path = evil, public, pg_catalog;

-- Casts, aggregates and schema-qualified operators still reach vecdb's C code.
SELECT '{1,2,3}'::real[]::vector AS cast_result;
SELECT avg(v) AS avg_is_real, sum(h) AS sum_is_real FROM sec_items WHERE id <= 3;
SELECT '[1,2,3]'::vector OPERATOR(public.<->) '[1,2,4]' AS qualified_l2;
-- The unqualified operator resolves through search_path, as for any
-- PostgreSQL operator: a caller who puts an untrusted schema first gets its
-- operator. This is why sessions of other roles must not do so
-- (docs/security.md); it does not affect vecdb's own objects.
SELECT '[1,2,3]'::vector <-> '[1,2,4]' AS unqualified_resolves_to_evil;
-- The index's opclass is bound to vecdb's operator by OID: ordering by the
-- qualified operator still uses the index and finds the right rows.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM sec_items ORDER BY v OPERATOR(public.<->) '[10,0,-10]' LIMIT 3;
SELECT id FROM sec_items ORDER BY v OPERATOR(public.<->) '[10,0,-10]' LIMIT 3;
SELECT id FROM sec_items ORDER BY h OPERATOR(public.<=>) '[10,0,-10]'::halfvec, id LIMIT 1;
-- The shadowing operator is not an hnsw ordering operator: no index scan.
EXPLAIN (COSTS OFF)
SELECT id FROM sec_items ORDER BY v <-> '[10,0,-10]' LIMIT 3;
RESET enable_seqscan;
RESET search_path;
DROP SCHEMA evil CASCADE;

-- 3. Ownership: another role can read the table but not change the index.
CREATE ROLE regress_vecdb_other;
GRANT SELECT ON sec_items TO regress_vecdb_other;
SET ROLE regress_vecdb_other;
SELECT count(*) FROM sec_items;
ALTER INDEX sec_items_v SET (ef_construction = 100);
ALTER INDEX sec_items_v RESET (m);
REINDEX INDEX sec_items_v;
DROP INDEX sec_items_v;
RESET ROLE;
SELECT reloptions FROM pg_class WHERE relname = 'sec_items_v';
DROP TABLE sec_items;

-- 4. Trusted: a database owner without superuser rights installs vecdb
--    (and can then use it, indexes included).
SELECT current_database() AS orig_db, current_user AS orig_user \gset
CREATE ROLE regress_vecdb_dbowner LOGIN;
CREATE DATABASE regress_vecdb_sec OWNER regress_vecdb_dbowner;
\c regress_vecdb_sec regress_vecdb_dbowner
SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
CREATE EXTENSION vecdb;
SELECT extname, extowner::regrole FROM pg_extension WHERE extname = 'vecdb';
CREATE TABLE t (v vector(2));
INSERT INTO t SELECT ARRAY[i, -i]::real[] FROM generate_series(1, 50) i;
CREATE INDEX ON t USING hnsw (v);
SET enable_seqscan = off;
SELECT v FROM t ORDER BY v <-> '[7,-7]' LIMIT 1;
-- Objects the extension created belong to the bootstrap superuser, so the
-- installing role cannot redefine them.
CREATE OR REPLACE FUNCTION public.l2_distance(vector, vector) RETURNS float8
    LANGUAGE sql IMMUTABLE AS 'SELECT 0::float8';
\c :orig_db :orig_user
DROP DATABASE regress_vecdb_sec;
DROP ROLE regress_vecdb_dbowner;
DROP ROLE regress_vecdb_other;
