-- The SQL surface of vecdb, object by object: types, functions (signature,
-- result, volatility, strictness, parallel safety), operators, operator
-- classes, aggregates and casts. Names and signatures follow pgvector's so that
-- clients work unchanged. The set_eq tests also fail on objects that are NOT
-- listed here: adding an SQL object means adding it to this file.
\set ECHO none
\set QUIET on
\pset format unaligned
\pset tuples_only on
\pset pager off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
RESET client_min_messages;
-- Settings appear in pg_settings once the library is loaded.
LOAD 'vecdb';
BEGIN;

-- name, argument types, result; then volatility, strict, parallel ('s' safe).
CREATE TEMP TABLE fn (ord serial, name name, args name[], returns text,
                      volatility text DEFAULT 'immutable', strict bool DEFAULT true,
                      parallel "char" DEFAULT 's', is_agg bool DEFAULT false);
INSERT INTO fn (name, args, returns) VALUES
  ('vector_in', '{cstring,oid,integer}', 'vector'),
  ('vector_out', '{vector}', 'cstring'),
  ('vector_typmod_in', '{cstring[]}', 'integer'),
  ('vector_typmod_out', '{integer}', 'cstring'),
  ('vector_recv', '{internal,oid,integer}', 'vector'),
  ('vector_send', '{vector}', 'bytea'),
  ('vector', '{vector,integer,boolean}', 'vector'),
  ('l2_distance', '{vector,vector}', 'double precision'),
  ('inner_product', '{vector,vector}', 'double precision'),
  ('cosine_distance', '{vector,vector}', 'double precision'),
  ('l1_distance', '{vector,vector}', 'double precision'),
  ('vector_l2_squared_distance', '{vector,vector}', 'double precision'),
  ('vector_negative_inner_product', '{vector,vector}', 'double precision'),
  ('vector_spherical_distance', '{vector,vector}', 'double precision'),
  ('vector_dims', '{vector}', 'integer'),
  ('vector_norm', '{vector}', 'double precision'),
  ('l2_normalize', '{vector}', 'vector'),
  ('binary_quantize', '{vector}', 'bit'),
  ('subvector', '{vector,integer,integer}', 'vector'),
  ('vector_add', '{vector,vector}', 'vector'),
  ('vector_sub', '{vector,vector}', 'vector'),
  ('vector_mul', '{vector,vector}', 'vector'),
  ('vector_concat', '{vector,vector}', 'vector'),
  ('vector_lt', '{vector,vector}', 'boolean'),
  ('vector_le', '{vector,vector}', 'boolean'),
  ('vector_eq', '{vector,vector}', 'boolean'),
  ('vector_ne', '{vector,vector}', 'boolean'),
  ('vector_ge', '{vector,vector}', 'boolean'),
  ('vector_gt', '{vector,vector}', 'boolean'),
  ('vector_cmp', '{vector,vector}', 'integer'),
  ('vector_hash', '{vector}', 'integer'),
  ('halfvec_in', '{cstring,oid,integer}', 'halfvec'),
  ('halfvec_out', '{halfvec}', 'cstring'),
  ('halfvec_typmod_in', '{cstring[]}', 'integer'),
  ('halfvec_typmod_out', '{integer}', 'cstring'),
  ('halfvec_recv', '{internal,oid,integer}', 'halfvec'),
  ('halfvec_send', '{halfvec}', 'bytea'),
  ('halfvec', '{halfvec,integer,boolean}', 'halfvec'),
  ('l2_distance', '{halfvec,halfvec}', 'double precision'),
  ('inner_product', '{halfvec,halfvec}', 'double precision'),
  ('cosine_distance', '{halfvec,halfvec}', 'double precision'),
  ('l1_distance', '{halfvec,halfvec}', 'double precision'),
  ('halfvec_l2_squared_distance', '{halfvec,halfvec}', 'double precision'),
  ('halfvec_negative_inner_product', '{halfvec,halfvec}', 'double precision'),
  ('halfvec_spherical_distance', '{halfvec,halfvec}', 'double precision'),
  ('vector_dims', '{halfvec}', 'integer'),
  ('l2_norm', '{halfvec}', 'double precision'),
  ('l2_normalize', '{halfvec}', 'halfvec'),
  ('binary_quantize', '{halfvec}', 'bit'),
  ('subvector', '{halfvec,integer,integer}', 'halfvec'),
  ('halfvec_add', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_sub', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_mul', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_concat', '{halfvec,halfvec}', 'halfvec'),
  ('halfvec_lt', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_le', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_eq', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_ne', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_ge', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_gt', '{halfvec,halfvec}', 'boolean'),
  ('halfvec_cmp', '{halfvec,halfvec}', 'integer'),
  ('halfvec_hash', '{halfvec}', 'integer'),
  ('array_to_vector', '{integer[],integer,boolean}', 'vector'),
  ('array_to_vector', '{real[],integer,boolean}', 'vector'),
  ('array_to_vector', '{double precision[],integer,boolean}', 'vector'),
  ('array_to_vector', '{numeric[],integer,boolean}', 'vector'),
  ('vector_to_float4', '{vector,integer,boolean}', 'real[]'),
  ('array_to_halfvec', '{integer[],integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{real[],integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{double precision[],integer,boolean}', 'halfvec'),
  ('array_to_halfvec', '{numeric[],integer,boolean}', 'halfvec'),
  ('halfvec_to_float4', '{halfvec,integer,boolean}', 'real[]'),
  ('vector_to_halfvec', '{vector,integer,boolean}', 'halfvec'),
  ('halfvec_to_vector', '{halfvec,integer,boolean}', 'vector'),
  ('vector_accum', '{double precision[],vector}', 'double precision[]'),
  ('halfvec_accum', '{double precision[],halfvec}', 'double precision[]'),
  ('vector_combine', '{double precision[],double precision[]}', 'double precision[]'),
  ('vector_avg', '{double precision[]}', 'vector'),
  ('vector_sum', '{double precision[]}', 'vector'),
  ('halfvec_avg', '{double precision[]}', 'halfvec'),
  ('halfvec_sum', '{double precision[]}', 'halfvec');
-- The SIMD path in use can change with SET vecdb.simd_path: STABLE.
INSERT INTO fn (name, args, returns, volatility) VALUES ('vecdb_simd_path', '{}', 'text', 'stable');
-- hnsw (sql/parts/30_hnsw.sql): the access method's handler, the opclasses'
-- support function 1 (metric code), and the statistics of this backend's last
-- hnsw scan (PARALLEL RESTRICTED: a worker has its own).
INSERT INTO fn (name, args, returns, volatility) VALUES ('hnsw_handler', '{internal}', 'index_am_handler', 'volatile');
INSERT INTO fn (name, args, returns)
SELECT 'hnsw_' || t || '_' || m || '_support', '{internal}', 'integer'
FROM (VALUES ('vector'), ('halfvec')) a(t), (VALUES ('l2'), ('ip'), ('cosine'), ('l1')) b(m);
INSERT INTO fn (name, args, returns, volatility, strict, parallel) VALUES
  ('vecdb_last_scan_stats',
   '{}', 'record', 'volatile', false, 'r');  -- OUT distances, buffer_accesses, visited, returned bigint
-- Index checker (sql/parts/90_check.sql): PARALLEL RESTRICTED, it takes locks
-- and reads the whole index; OUT severity, kind, blkno, node, detail.
INSERT INTO fn (name, args, returns, volatility, parallel) VALUES
  ('vecdb_index_check', '{regclass,boolean,boolean}', 'setof record', 'volatile', 'r');
-- hnsw pending list (sql/parts/31_hnsw_pending.sql): merging writes the index
-- (PARALLEL UNSAFE); counting only reads it.
INSERT INTO fn (name, args, returns, volatility, parallel) VALUES
  ('vecdb_hnsw_merge_pending', '{regclass}', 'bigint', 'volatile', 'u'),
  ('vecdb_hnsw_pending_count', '{regclass}', 'bigint', 'volatile', 's');
-- Aggregates are not strict (their transition functions are).
INSERT INTO fn (name, args, returns, strict, is_agg) VALUES
  ('avg', '{vector}', 'vector', false, true),
  ('sum', '{vector}', 'vector', false, true),
  ('avg', '{halfvec}', 'halfvec', false, true),
  ('sum', '{halfvec}', 'halfvec', false, true);

-- left, operator, right, result, function, commutator, negator.
CREATE TEMP TABLE op (ord serial, lt name, name name, rt name, returns name, func text, com text, neg text);
INSERT INTO op (lt, name, rt, returns, func, com, neg)
SELECT t, o.name, t, o.returns, replace(o.func, '%', t), nullif(o.com, ''), nullif(o.neg, '')
FROM (VALUES ('vector'), ('halfvec')) ty(t),
     (VALUES (1, '<->', 'double precision', 'l2_distance', '<->', ''),
             (2, '<#>', 'double precision', '%_negative_inner_product', '<#>', ''),
             (3, '<=>', 'double precision', 'cosine_distance', '<=>', ''),
             (4, '<+>', 'double precision', 'l1_distance', '<+>', ''),
             (5, '+', '%', '%_add', '+', ''),
             (6, '-', '%', '%_sub', '', ''),
             (7, '*', '%', '%_mul', '*', ''),
             (8, '||', '%', '%_concat', '', ''),
             (9, '<', 'boolean', '%_lt', '>', '>='),
             (10, '<=', 'boolean', '%_le', '>=', '>'),
             (11, '=', 'boolean', '%_eq', '=', '<>'),
             (12, '<>', 'boolean', '%_ne', '<>', '='),
             (13, '>=', 'boolean', '%_ge', '<=', '<'),
             (14, '>', 'boolean', '%_gt', '<', '<=')) o(n, name, returns, func, com, neg)
ORDER BY t DESC, n;
UPDATE op SET returns = lt WHERE returns = '%';

-- source, target, function, context.
CREATE TEMP TABLE cast_ (ord serial, src name, dst name, func name, context text);
INSERT INTO cast_ (src, dst, func, context) VALUES
  ('vector', 'vector', 'vector', 'implicit'),
  ('halfvec', 'halfvec', 'halfvec', 'implicit'),
  ('integer[]', 'vector', 'array_to_vector', 'assignment'),
  ('real[]', 'vector', 'array_to_vector', 'assignment'),
  ('double precision[]', 'vector', 'array_to_vector', 'assignment'),
  ('numeric[]', 'vector', 'array_to_vector', 'assignment'),
  ('vector', 'real[]', 'vector_to_float4', 'implicit'),
  ('integer[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('real[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('double precision[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('numeric[]', 'halfvec', 'array_to_halfvec', 'assignment'),
  ('halfvec', 'real[]', 'halfvec_to_float4', 'assignment'),
  ('vector', 'halfvec', 'vector_to_halfvec', 'implicit'),
  ('halfvec', 'vector', 'halfvec_to_vector', 'assignment');

-- opclass, access method, input type, default for the type.
CREATE TEMP TABLE opc (ord serial, name name, am name, type name, is_default bool);
INSERT INTO opc (name, am, type, is_default) VALUES
  ('vector_ops', 'btree', 'vector', true),
  ('vector_ops', 'hash', 'vector', true),
  ('halfvec_ops', 'btree', 'halfvec', true),
  ('halfvec_ops', 'hash', 'halfvec', true);
INSERT INTO opc (name, am, type, is_default)
SELECT t || '_' || m || '_ops', 'hnsw', t, m = 'l2'
FROM (VALUES ('vector'), ('halfvec')) a(t), (VALUES ('l2'), ('ip'), ('cosine'), ('l1')) b(m);

-- What the extension really owns.
CREATE TEMP VIEW ext_objects AS
SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'vecdb';

SELECT plan(8 + 2 + 10 + 3 * (SELECT count(*)::int FROM fn) + (SELECT count(*)::int FROM fn WHERE is_agg)
            + (SELECT count(*)::int FROM op) + 2 * (SELECT count(*)::int FROM cast_)
            + (SELECT count(DISTINCT name)::int FROM opc));

-- Catalog rows are compared as one formatted text per object (a failure lists
-- the missing and the unexpected objects); catalog names are collation "C",
-- hence COLLATE "default" to match the expected side.

-- Types: variable-length, TOAST-able, with typmods and a binary format.
SELECT has_type('vector');
SELECT has_type('halfvec');
SELECT results_eq(
  $$ SELECT format('%s len=%s storage=%s align=%s typmod=%s/%s io=%s/%s binary=%s/%s', typname, typlen, typstorage,
                   typalign, typmodin, typmodout, typinput, typoutput, typreceive, typsend) COLLATE "default"
     FROM pg_type WHERE typname IN ('vector', 'halfvec') AND typnamespace = 'public'::regnamespace ORDER BY typname DESC $$,
  $$ VALUES ('vector len=-1 storage=e align=i typmod=vector_typmod_in/vector_typmod_out io=vector_in/vector_out binary=vector_recv/vector_send'),
            ('halfvec len=-1 storage=e align=i typmod=halfvec_typmod_in/halfvec_typmod_out io=halfvec_in/halfvec_out binary=halfvec_recv/halfvec_send') $$,
  'vector and halfvec: varlena, extended storage, typmod, text and binary I/O functions');
SELECT is((SELECT count(*)::int FROM ext_objects WHERE classid = 'pg_type'::regclass), 2,
          'the extension owns 2 types (their array types come with them)');

-- Functions: existence, result type, volatility.
SELECT has_function(name, args) FROM fn ORDER BY ord;
SELECT function_returns(name, args, returns) FROM fn ORDER BY ord;
SELECT volatility_is(name, args, volatility) FROM fn ORDER BY ord;
SELECT is_aggregate(name, args) FROM fn WHERE is_agg ORDER BY ord;
-- ... and together: exactly these functions, strictness and parallel safety included.
SELECT set_eq(
  $$ SELECT format('%s(%s) -> %s volatility=%s strict=%s parallel=%s', p.proname,
                   oidvectortypes(p.proargtypes),
                   CASE WHEN p.proretset THEN 'setof ' ELSE '' END || p.prorettype::regtype, p.provolatile, p.proisstrict,
                   p.proparallel) COLLATE "default"
     FROM pg_proc p JOIN ext_objects x ON x.classid = 'pg_proc'::regclass AND x.objid = p.oid $$,
  $$ SELECT format('%s(%s) -> %s volatility=%s strict=%s parallel=%s', name, array_to_string(args, ', '), returns,
                   left(volatility, 1), strict, parallel)
     FROM fn $$,
  'the extension has exactly the listed functions, with their strictness and parallel safety');
SELECT is_empty(
  $$ SELECT p.oid::regprocedure::text FROM pg_proc p JOIN ext_objects x ON x.classid = 'pg_proc'::regclass AND x.objid = p.oid
     WHERE p.proparallel <> 's' AND p.proname NOT IN ('vecdb_last_scan_stats', 'vecdb_index_check',
                                                       'vecdb_hnsw_merge_pending') $$,
  'every function is PARALLEL SAFE (but vecdb_last_scan_stats: backend-local state; vecdb_index_check; vecdb_hnsw_merge_pending)');

-- Operators.
SELECT has_operator(lt, name, rt, returns) FROM op ORDER BY ord;
SELECT set_eq(
  $$ SELECT format('%s %s %s -> %s func=%s commutator=%s negator=%s', o.oprleft::regtype, o.oprname,
                   o.oprright::regtype, o.oprresult::regtype, o.oprcode::regprocedure,
                   (SELECT c.oprname FROM pg_operator c WHERE c.oid = o.oprcom),
                   (SELECT n.oprname FROM pg_operator n WHERE n.oid = o.oprnegate)) COLLATE "default"
     FROM pg_operator o JOIN ext_objects x ON x.classid = 'pg_operator'::regclass AND x.objid = o.oid $$,
  $$ SELECT format('%s %s %s -> %s func=%s(%s,%s) commutator=%s negator=%s', lt, name, rt, returns, func, lt, rt, com, neg)
     FROM op $$,
  'the extension has exactly the listed operators, with their functions, commutators and negators');

-- Operator classes.
SELECT has_opclass(name) FROM (SELECT DISTINCT name FROM opc) c ORDER BY name;
SELECT set_eq(
  $$ SELECT format('%s %s %s default=%s', c.opcname, am.amname, c.opcintype::regtype, c.opcdefault) COLLATE "default"
     FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod
     JOIN ext_objects x ON x.classid = 'pg_opclass'::regclass AND x.objid = c.oid $$,
  $$ SELECT format('%s %s %s default=%s', name, am, type, is_default) FROM opc $$,
  'the extension has exactly the listed operator classes');

-- Casts.
SELECT has_cast(src, dst, func) FROM cast_ ORDER BY ord;
SELECT cast_context_is(src, dst, context) FROM cast_ ORDER BY ord;
SELECT is((SELECT count(*)::int FROM ext_objects WHERE classid = 'pg_cast'::regclass),
          (SELECT count(*)::int FROM cast_), 'the extension has exactly the listed casts');

-- Aggregates run in parallel: they have a combine function.
SELECT set_eq(
  $$ SELECT format('%s combine=%s state=%s', a.aggfnoid::regprocedure, a.aggcombinefn, a.aggtranstype::regtype) COLLATE "default"
     FROM pg_aggregate a JOIN ext_objects x ON x.classid = 'pg_proc'::regclass AND x.objid = a.aggfnoid $$,
  $$ VALUES ('avg(vector) combine=vector_combine state=double precision[]'),
            ('sum(vector) combine=vector_combine state=double precision[]'),
            ('avg(halfvec) combine=vector_combine state=double precision[]'),
            ('sum(halfvec) combine=vector_combine state=double precision[]') $$,
  'avg and sum have a combine function (parallel aggregation)');

-- The hnsw index access method: handler, one ORDER BY operator and one
-- support function per operator class, option and setting ranges.
SELECT is((SELECT format('type=%s handler=%s', amtype, amhandler) FROM pg_am WHERE amname = 'hnsw'),
          'type=i handler=hnsw_handler', 'hnsw is an index access method with handler hnsw_handler');
SELECT set_eq(
  $$ SELECT format('%s: %s(%s,%s) purpose=%s order by %s support 1=%s', c.opcname, o.oprname, ao.amoplefttype::regtype,
                   ao.amoprighttype::regtype, ao.amoppurpose, sf.opfname, ap.amproc) COLLATE "default"
     FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod AND am.amname = 'hnsw'
     JOIN pg_amop ao ON ao.amopfamily = c.opcfamily AND ao.amopstrategy = 1
     JOIN pg_operator o ON o.oid = ao.amopopr
     LEFT JOIN pg_opfamily sf ON sf.oid = ao.amopsortfamily
     LEFT JOIN pg_amproc ap ON ap.amprocfamily = c.opcfamily AND ap.amprocnum = 1 $$,
  $$ SELECT format('%s_%s_ops: %s(%s,%s) purpose=o order by float_ops support 1=hnsw_%s_%s_support', t, m, op, t, t, t, m)
     FROM (VALUES ('vector'), ('halfvec')) a(t),
          (VALUES ('l2', '<->'), ('ip', '<#>'), ('cosine', '<=>'), ('l1', '<+>')) b(m, op) $$,
  'each hnsw opclass orders by its distance operator (float_ops) and names its support function');
SELECT is((SELECT count(*)::int FROM pg_amop ao JOIN pg_opclass c ON c.opcfamily = ao.amopfamily
           JOIN pg_am am ON am.oid = c.opcmethod AND am.amname = 'hnsw'), 8,
          'hnsw opclasses have no other operators (the index only serves ORDER BY)');
SELECT results_eq(
  $$ SELECT format('%s=%s [%s..%s] %s', name, boot_val, min_val, max_val, context) COLLATE "default"
     FROM pg_settings WHERE name IN ('hnsw.ef_search', 'hnsw.max_scan_tuples', 'vecdb.simd_path') ORDER BY name $$,
  $$ VALUES ('hnsw.ef_search=40 [1..1000] user'), ('hnsw.max_scan_tuples=20000 [1..2147483647] user'),
            ('vecdb.simd_path=auto [..] user') $$,
  'settings: defaults, ranges, and any user may SET them');
SELECT is((SELECT enumvals::text FROM pg_settings WHERE name = 'hnsw.iterative_scan'),
          '{off,relaxed_order,strict_order}', 'hnsw.iterative_scan takes off, relaxed_order, strict_order');
CREATE TEMP TABLE opt_check (v vector(3));
SELECT throws_ok($$ CREATE INDEX ON opt_check USING hnsw (v) WITH (m = 1) $$, '22023', NULL, 'hnsw rejects m < 2');
SELECT throws_ok($$ CREATE INDEX ON opt_check USING hnsw (v) WITH (m = 101) $$, '22023', NULL, 'hnsw rejects m > 100');
SELECT throws_ok($$ CREATE INDEX ON opt_check USING hnsw (v) WITH (ef_construction = 1001) $$, '22023', NULL,
                 'hnsw rejects ef_construction > 1000');
SELECT throws_ok($$ CREATE INDEX ON opt_check USING hnsw (v) WITH (m = 16, ef_construction = 20) $$, '22023', NULL,
                 'hnsw rejects ef_construction < 2 * m');
SELECT lives_ok($$ CREATE INDEX ON opt_check USING hnsw (v) WITH (m = 2, ef_construction = 4) $$,
                'hnsw accepts the smallest options');

SELECT * FROM finish();
ROLLBACK;
