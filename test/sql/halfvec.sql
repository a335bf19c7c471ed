-- halfvec: IEEE float16 elements. Text and binary I/O, typmods, distances,
-- functions, arithmetic, comparison, error cases.
\set VERBOSITY sqlstate
\set SHOW_CONTEXT never

-- Input rounds each element once (to nearest even) to float16; output is the
-- shortest decimal that reads back to the same float16.
SELECT '[1,2,3]'::halfvec;
SELECT '  [ 1 , -2.5 ,+3e2 ]  '::halfvec;
SELECT '[0.1, 3.14159, 65504, 65519.99, -65504, 6e-8, 1e-8, -0, 0.000061035156]'::halfvec;
SELECT '[1.0009765625, 1.00048828125, 1.00146484375, 2049, 2051]'::halfvec AS ties_to_even;
SELECT '[0.1]'::halfvec::vector AS exact_half_value;

-- Errors: syntax 22P02, empty/NaN/Inf 22023, out of range 22003, too many 54000.
\set VERBOSITY default
SELECT '[1,2'::halfvec;
SELECT '[1,x]'::halfvec;
SELECT '[65520]'::halfvec;
SELECT '[1,-1e5]'::halfvec;
\set VERBOSITY sqlstate
SELECT '[]'::halfvec;
SELECT '[NaN]'::halfvec;
SELECT '[inf]'::halfvec;
SELECT '[1e400]'::halfvec;
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::halfvec;
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::halfvec);

-- Typmods.
SELECT '[1,2,3]'::halfvec(3);
SELECT '[1,2]'::halfvec(3);
SELECT '[1]'::halfvec(0);
SELECT '[1]'::halfvec(16001);
CREATE TABLE ht (h halfvec(2));
INSERT INTO ht VALUES ('[1,2]'), (NULL);
INSERT INTO ht VALUES ('[1,2,3]');
INSERT INTO ht VALUES ('[1,2,3]'::halfvec);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ht'::regclass AND attname = 'h';
SELECT '[1,2,3]'::halfvec::halfvec(2);

-- Binary format: int16 dim, int16 unused, big-endian float16.
SELECT halfvec_send('[1,-2,0.5,65504,6e-8]');
CREATE TABLE hb (h halfvec);
CREATE FUNCTION pg_temp.try_recv(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    lo oid;
BEGIN
    lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea || '\x0001'::bytea
                           || int4send(length(payload)) || payload || '\xffff'::bytea);
    PERFORM lo_export(lo, '/tmp/vecdb_hostile_half.bin');
    PERFORM lo_unlink(lo);
    TRUNCATE hb;
    COPY hb FROM '/tmp/vecdb_hostile_half.bin' (FORMAT binary);
    SELECT h::text INTO r FROM hb;
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.try_recv('\x000200003c004000');      -- good: [1,2]
SELECT pg_temp.try_recv('\x000000003c00');          -- dim 0
SELECT pg_temp.try_recv('\x3e8100003c00');          -- dim 16001
SELECT pg_temp.try_recv('\x000100ff3c00');          -- unused != 0
SELECT pg_temp.try_recv('\x000200003c00');          -- payload too short
SELECT pg_temp.try_recv('\x000100003c004000');      -- payload too long
SELECT pg_temp.try_recv('\x00');                    -- truncated header
SELECT pg_temp.try_recv('\x000100007e00');          -- NaN
SELECT pg_temp.try_recv('\x000100007c00');          -- +Inf
SELECT pg_temp.try_recv('\x00010000fc00');          -- -Inf
CREATE TABLE hb2 (h halfvec(3));
COPY (SELECT '[1,2]'::halfvec) TO '/tmp/vecdb_half_typmod.bin' (FORMAT binary);
COPY hb2 FROM '/tmp/vecdb_half_typmod.bin' (FORMAT binary);

-- Distances.
SELECT round(l2_distance(a, b)::numeric, 4) AS l2, round((a <-> b)::numeric, 4) AS l2_op,
       inner_product(a, b) AS ip, a <#> b AS neg_ip,
       round(cosine_distance(a, b)::numeric, 4) AS cos, round((a <=> b)::numeric, 4) AS cos_op,
       l1_distance(a, b) AS l1, a <+> b AS l1_op,
       halfvec_l2_squared_distance(a, b) AS l2sq, halfvec_negative_inner_product(a, b) AS nip,
       round(halfvec_spherical_distance('[1,0]', '[0,1]')::numeric, 4) AS spherical
FROM (VALUES ('[1,2,3]'::halfvec, '[4,5,6]'::halfvec)) t(a, b);
SELECT '[0,0]'::halfvec <=> '[1,1]' AS zero_cosine_is_nan;
SELECT pg_typeof('[1]'::halfvec <-> '[2]');
SELECT oprname, oprcom::regoperator FROM pg_operator
WHERE oprleft = 'halfvec'::regtype AND oprright = 'halfvec'::regtype AND oprname IN ('<->', '<#>', '<=>', '<+>')
ORDER BY oprname;
SELECT '[1,2]'::halfvec <-> '[1]';
SELECT '[1,2]'::halfvec <#> '[1]';
SELECT '[1,2]'::halfvec <=> '[1]';
SELECT '[1,2]'::halfvec <+> '[1]';
\set VERBOSITY default
SELECT l1_distance('[1,2]'::halfvec, '[1]');
\set VERBOSITY sqlstate

-- Functions.
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_norm('[60000,60000]'::halfvec),
       l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3,4,5]'::halfvec, 4, 10),
       subvector('[1,2,3,4,5]'::halfvec, 0, 2);
SELECT subvector('[1,2,3]'::halfvec, 4, 1);
SELECT subvector('[1,2,3]'::halfvec, 1, 0);

-- Arithmetic: exact, then one rounding; overflow and underflow are 22003.
SELECT '[1,2,3]'::halfvec + '[4,5,6]', '[1,2,3]'::halfvec - '[4,5,6]', '[1,2,3]'::halfvec * '[4,5,6]';
SELECT '[2048]'::halfvec + '[1]' AS rounds_to_even, '[0.1]'::halfvec * '[3]';
SELECT '[60000]'::halfvec + '[10000]';
SELECT '[-60000]'::halfvec - '[10000]';
SELECT '[300]'::halfvec * '[300]';
SELECT '[0.0001]'::halfvec * '[0.0001]';
SELECT '[1]'::halfvec + '[1,2]';
\set VERBOSITY default
SELECT '[60000]'::halfvec * '[2]';
\set VERBOSITY sqlstate
SELECT '[1,2]'::halfvec || '[3]';
SELECT ('[' || array_to_string(array_fill(1, ARRAY[8000]), ',') || ']')::halfvec
    || ('[' || array_to_string(array_fill(2, ARRAY[8001]), ',') || ']')::halfvec;

-- Comparison, ordering, DISTINCT, unique index, hashing.
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec < '[1,2,0]', '[-0]'::halfvec = '[0]',
       '[1,2]'::halfvec <> '[1,2]', '[2]'::halfvec >= '[1,9]', halfvec_cmp('[1]', '[1,0]'),
       halfvec_hash('[-0]') = halfvec_hash('[0]') AS same_hash;
CREATE TABLE hcmp (id serial, h halfvec);
INSERT INTO hcmp (h) VALUES ('[3]'), ('[1,2]'), ('[1]'), ('[-1,5]'), ('[1,2]'), ('[0.1]'), ('[0.1001]');
SELECT h FROM hcmp ORDER BY h, id;
SELECT DISTINCT h FROM hcmp ORDER BY h;
SET enable_sort = off;
SELECT h, count(*) FROM hcmp GROUP BY h ORDER BY 2 DESC, 1 LIMIT 2;
RESET enable_sort;
CREATE UNIQUE INDEX ON hcmp (h);
DELETE FROM hcmp WHERE id IN (5, 7);
CREATE UNIQUE INDEX hcmp_unique ON hcmp (h);
INSERT INTO hcmp (h) VALUES ('[3]');
CREATE INDEX ON hcmp USING hash (h);
DROP TABLE ht, hb, hb2, hcmp;

SELECT binary_quantize('[1,-1,0,2,3,-4,5,6,7]'::halfvec);
