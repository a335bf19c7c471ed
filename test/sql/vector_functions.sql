-- vector: functions, arithmetic, concatenation, comparison and ordering.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

SELECT vector_dims('[1,2,3]'::vector), vector_dims('[1]'::vector);
SELECT vector_norm('[3,4]'), vector_norm('[0,0]'), vector_norm('[3e38,3e38]') AS no_float32_overflow;
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector) AS zero_stays_zero,
       l2_normalize('[-2]'::vector);
SELECT round(vector_norm(l2_normalize('[1,2,3,4,5]'::vector))::numeric, 6);

-- subvector(v, start, count) is 1-based and clipped like substring().
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3), subvector('[1,2,3,4,5]'::vector, 1, 5),
       subvector('[1,2,3,4,5]'::vector, 4, 10), subvector('[1,2,3,4,5]'::vector, 0, 2),
       subvector('[1,2,3,4,5]'::vector, -1, 4);
SELECT subvector('[1,2,3]'::vector, -2147483647, 2147483647);
SELECT subvector('[1,2,3]'::vector, 4, 1);
SELECT subvector('[1,2,3]'::vector, 1, 0);
SELECT subvector('[1,2,3]'::vector, 2, -1);
SELECT subvector('[1,2,3]'::vector, 2147483647, 2147483647);

-- Arithmetic.
SELECT '[1,2,3]'::vector + '[4,5,6]', '[1,2,3]'::vector - '[4,5,6]', '[1,2,3]'::vector * '[4,5,6]';
SELECT vector_add('[1]', '[2]'), vector_sub('[1]', '[2]'), vector_mul('[1.5]', '[2]');
-- Overflow and underflow are 22003, different dimensions 22000.
SELECT '[3e38]'::vector + '[3e38]';
SELECT '[-3e38]'::vector - '[3e38]';
SELECT '[1e20]'::vector * '[1e20]';
SELECT '[1e-30]'::vector * '[1e-30]';
\set VERBOSITY default
SELECT '[3e38,1]'::vector + '[3e38,1]';
SELECT '[1,2]'::vector + '[1,2,3]';
\set VERBOSITY sqlstate
SELECT '[1,2]'::vector - '[1,2,3]';
SELECT '[1,2]'::vector * '[1,2,3]';
-- 0 * large and values at the float32 edge are fine.
SELECT '[0,3.4028235e38]'::vector * '[3e38,1]';

-- Concatenation up to the limit, 54000 past it.
SELECT '[1,2]'::vector || '[3]', vector_concat('[1]', '[2]');
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[8000]), ',') || ']')::vector
                || ('[' || array_to_string(array_fill(2, ARRAY[8000]), ',') || ']')::vector);
SELECT ('[' || array_to_string(array_fill(1, ARRAY[8000]), ',') || ']')::vector
    || ('[' || array_to_string(array_fill(2, ARRAY[8001]), ',') || ']')::vector;

-- Comparison: lexicographic by element, then by dimension.
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector < '[1,2,0]', '[2]'::vector > '[1,9,9]',
       '[1,2]'::vector = '[1,2]', '[1,2]'::vector <> '[1,2,0]', '[-0]'::vector = '[0]',
       '[1,2]'::vector <= '[1,2]', '[1,2]'::vector >= '[1,2]';
SELECT vector_cmp('[1,2]', '[1,3]'), vector_cmp('[1,3]', '[1,2]'), vector_cmp('[1,2]', '[1,2]'),
       vector_cmp('[1]', '[1,0]'), vector_cmp('[1,0]', '[1]');
-- Equal vectors hash equally (-0 = 0).
SELECT vector_hash('[-0,1]') = vector_hash('[0,1]') AS same_hash, vector_hash('[1,2]') = vector_hash('[2,1]') AS collide;

CREATE TABLE vcmp (id serial, v vector);
INSERT INTO vcmp (v) VALUES ('[3]'), ('[1,2]'), ('[1]'), ('[1,2,3]'), ('[-1,5]'), ('[1,2]'), ('[0]'), ('[-0]');
SELECT v FROM vcmp ORDER BY v, id;
SELECT v FROM vcmp ORDER BY v DESC, id;
SELECT DISTINCT v FROM vcmp ORDER BY v;
SELECT v, count(*) FROM vcmp GROUP BY v ORDER BY v;
-- Hash aggregation and hash joins use vector_hash.
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT v, count(*) FROM vcmp GROUP BY v;
SELECT v, count(*) FROM vcmp GROUP BY v ORDER BY 2 DESC, 1 LIMIT 2;
RESET enable_sort;
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM vcmp a JOIN vcmp b ON a.v = b.v;
SELECT count(*) FROM vcmp a JOIN vcmp b ON a.v = b.v;
RESET enable_mergejoin;
RESET enable_nestloop;
-- btree index: unique constraint and index scans.
CREATE UNIQUE INDEX vcmp_unique ON vcmp (v) WHERE id <> 6 AND id <> 8;
INSERT INTO vcmp (v) VALUES ('[1,2]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM vcmp WHERE v = '[1,2]' AND id <> 6 AND id <> 8;
SELECT v FROM vcmp WHERE v = '[1,2]' AND id <> 6 AND id <> 8;
SELECT v FROM vcmp WHERE v > '[1]' AND id <> 6 AND id <> 8 ORDER BY v;
RESET enable_seqscan;
CREATE INDEX vcmp_hash ON vcmp USING hash (v);
DROP TABLE vcmp;

-- binary_quantize: one bit per element, 1 where the element is > 0.
SELECT binary_quantize('[1,-1,0,2,3,-4,5,6,7]'::vector), binary_quantize('[-0.5]'::vector);

-- Every function taking or returning vector/halfvec is IMMUTABLE, PARALLEL
-- SAFE and STRICT (aggregates are not strict themselves; their transition
-- functions are). Violations are listed.
SELECT p.oid::regprocedure, p.provolatile, p.proparallel, p.proisstrict
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vecdb'
WHERE (p.prorettype IN ('vector'::regtype, 'halfvec'::regtype)
       OR p.proargtypes::oid[] && ARRAY['vector'::regtype, 'halfvec'::regtype]::oid[])
  AND (p.provolatile <> 'i' OR p.proparallel <> 's' OR (NOT p.proisstrict AND p.prokind <> 'a'))
ORDER BY 1;
-- Operators have commutators where the operation commutes.
SELECT o.oprname, o.oprleft::regtype, count(*) FILTER (WHERE o.oprcom = 0) AS without_commutator
FROM pg_operator o WHERE o.oprleft IN ('vector'::regtype, 'halfvec'::regtype)
  AND o.oprname IN ('<->', '<#>', '<=>', '<+>', '+', '*', '=', '<>', '<', '>', '<=', '>=')
GROUP BY 1, 2 ORDER BY 2, 1;
