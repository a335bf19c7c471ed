-- Invariants every version of vecdb keeps, whatever objects it defines:
-- trusted and not relocatable, no SECURITY DEFINER, every object in the
-- extension's schema, C functions bound to exported vecdb_* symbols,
-- IMMUTABLE functions PARALLEL SAFE, the vecdb.simd_path setting.
\set ECHO none
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
RESET client_min_messages;
LOAD 'vecdb';
BEGIN;
SELECT plan(14);

SELECT has_extension('vecdb');
SELECT is((SELECT trusted FROM pg_available_extension_versions WHERE name = 'vecdb' AND version = '0.1.0'),
          true, 'vecdb 0.1.0 is a trusted extension');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'vecdb'),
          false, 'vecdb is not relocatable');

-- Every function, type, operator, opclass the extension owns.
CREATE TEMP VIEW vecdb_members AS
SELECT d.classid, d.objid, e.extnamespace
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'vecdb';

SELECT is_empty($$ SELECT p.oid::regprocedure::text FROM pg_proc p JOIN vecdb_members m
                   ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid WHERE p.prosecdef $$,
                'no vecdb function is SECURITY DEFINER');
SELECT is_empty($$ SELECT p.oid::regprocedure::text FROM pg_proc p JOIN vecdb_members m
                   ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
                   WHERE p.pronamespace <> m.extnamespace $$,
                'every vecdb function lives in the extension schema');
SELECT is_empty($$ SELECT t.oid::regtype::text FROM pg_type t JOIN vecdb_members m
                   ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
                   WHERE t.typnamespace <> m.extnamespace $$,
                'every vecdb type lives in the extension schema');
SELECT is_empty($$ SELECT o.oid::regoperator::text FROM pg_operator o JOIN vecdb_members m
                   ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid
                   WHERE o.oprnamespace <> m.extnamespace $$,
                'every vecdb operator lives in the extension schema');
SELECT is_empty($$ SELECT p.oid::regprocedure::text || ' -> ' || p.prosrc FROM pg_proc p
                   JOIN vecdb_members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
                   JOIN pg_language l ON l.oid = p.prolang
                   WHERE l.lanname = 'c' AND (p.prosrc !~ '^vecdb_' OR p.probin <> '$libdir/vecdb') $$,
                'C functions call exported vecdb_* symbols in $libdir/vecdb');
SELECT is_empty($$ SELECT p.oid::regprocedure::text FROM pg_proc p JOIN vecdb_members m
                   ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
                   WHERE p.provolatile = 'i' AND p.proparallel <> 's' $$,
                'every IMMUTABLE vecdb function is PARALLEL SAFE');

SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'vecdb.simd_path'), 'auto',
          'vecdb.simd_path defaults to auto');
SELECT lives_ok($$ SET LOCAL vecdb.simd_path = 'scalar' $$, 'the scalar kernels can always be forced');
SELECT throws_ok($$ SET LOCAL vecdb.simd_path = 'sse9' $$, '22023', NULL,
                 'vecdb.simd_path rejects unknown paths');

-- Trusted: a role that may CREATE in the database installs it without superuser.
CREATE ROLE regress_vecdb_creator;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_vecdb_creator', current_database()); END $$;
DROP EXTENSION vecdb;
SELECT lives_ok($$ SET LOCAL ROLE regress_vecdb_creator; CREATE EXTENSION vecdb; RESET ROLE $$,
                'a non-superuser with CREATE on the database can create vecdb');
SELECT is((SELECT extowner::regrole::text FROM pg_extension WHERE extname = 'vecdb'),
          'regress_vecdb_creator', 'the creating role owns the extension');

SELECT * FROM finish();
ROLLBACK;
