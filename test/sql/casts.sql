-- Casts between vector, halfvec and arrays; typmods enforced on the target.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

SELECT '{1,2,3}'::real[]::vector, '{1,2,3}'::float8[]::vector, '{1,2,3}'::int[]::vector,
       '{1.5,2.25,3}'::numeric[]::vector;
SELECT '{1,2,3}'::real[]::halfvec, '{0.1,2,3}'::float8[]::halfvec, '{1,2,3}'::int[]::halfvec,
       '{1.5,65504,3}'::numeric[]::halfvec;
SELECT array_to_vector('{1,2}'::int[], -1, true), array_to_halfvec('{1,2}'::real[], 2, false);
SELECT '{1,2,3}'::real[]::vector(3), '{1,2,3}'::real[]::halfvec(3);
SELECT '[1,2,3]'::vector::real[], '[1,2,3]'::halfvec::real[], '[0.1]'::halfvec::real[];
SELECT pg_typeof('[1,2]'::vector::real[]), vector_to_float4('[1]', -1, false), halfvec_to_float4('[1]', -1, false);
SELECT '[1,-2.5,65504]'::vector::halfvec, '[0.1,1e-8]'::vector::halfvec, '[0.1]'::halfvec::vector;
SELECT '[1,2]'::vector::halfvec(2), '[1,2]'::halfvec::vector(2);

-- Assignment casts work in INSERT, implicit vector -> halfvec in expressions.
CREATE TABLE ct (v vector(3), h halfvec(3));
INSERT INTO ct VALUES ('{1,2,3}'::real[], '{1,2,3}'::real[]);
INSERT INTO ct VALUES ('{4,5,6}'::float8[], '{4,5,6}'::float8[]);
INSERT INTO ct VALUES ('{7,8,9}'::int[], '{7,8,9}'::numeric[]);
INSERT INTO ct VALUES ('[1,1,1]'::halfvec, '[2,2,2]'::vector);
INSERT INTO ct (v) VALUES ('{1,2}'::real[]);
INSERT INTO ct (h) VALUES ('{1,2,3,4}'::real[]);
SELECT * FROM ct;
SELECT h <-> '[0,0,0]'::vector AS implicit_to_halfvec FROM ct ORDER BY 1;
SELECT v::real[] FROM ct ORDER BY v;

-- Errors: NULL elements 22004, multi-dimensional 22000, empty 22023, NaN and
-- Infinity 22023, out of range 22003, too many 54000, typmod 22000.
SELECT '{1,NULL,3}'::real[]::vector;
SELECT '{{1,2},{3,4}}'::real[]::vector;
SELECT '{}'::real[]::vector;
SELECT '{1,NaN}'::real[]::vector;
SELECT '{1,Infinity}'::float8[]::vector;
SELECT '{-Infinity}'::float8[]::halfvec;
SELECT '{NaN}'::numeric[]::vector;
SELECT '{1e39}'::float8[]::vector;
SELECT '{1e-50}'::float8[]::vector;
SELECT '{1e400}'::numeric[]::vector;
SELECT '{70000}'::int[]::halfvec;
SELECT '{1,2}'::real[]::vector(3);
SELECT '{1,2}'::real[]::halfvec(3);
SELECT array_fill(1, ARRAY[16001])::real[]::vector;
SELECT '{1,NULL}'::real[]::halfvec;
SELECT '{{1}}'::int[]::halfvec;
SELECT '[1,70000]'::vector::halfvec;
SELECT '[1,2]'::vector::halfvec(3);
SELECT '[1,2]'::halfvec::vector(3);
\set VERBOSITY default
SELECT '{1,NULL,3}'::real[]::vector;
SELECT '{{1,2},{3,4}}'::real[]::vector;
SELECT '[1,-70000]'::vector::halfvec;
SELECT '{1,2,3e39}'::float8[]::vector;
DROP TABLE ct;
